"""Exports, `kflow export csv|xlsx TABLE` and the service's `/export/TABLE.csv|.xlsx`: every CSV
read back with the csv module and every XLSX with openpyxl says, row for row and cell for cell,
what the matching `--json` says."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from dashboard_store import NOW, Board, make_board
from support import at
from test_cli import Kflow
from test_pages import client_for, signed_in

import cli
from konkurrence_flow import exports
from konkurrence_flow.app import App
from konkurrence_flow.store import Store

TZ = ZoneInfo("Europe/Copenhagen")
FORMULA = '=HYPERLINK("http://example.com","klik")'
NOTE = "-- see the minutes of the forum"

HEADERS = {
    "tenders": [
        "id", "title", "definition", "definition_version", "programme", "state", "state_label",
        "final", "entered_at", "due", "overdue", "days_overdue", "municipalities", "leader", "area",
        "procedure", "regime", "facts", "triggers", "signoffs", "signoffs_pending", "version",
        "timer_at", "timer_trigger", "warnings", "legal_notes",
    ],
    "overdue": ["tender", "title", "state", "state_label", "due", "days_overdue",
                "municipalities", "leader"],
    "history": ["tender", "seq", "kind", "trigger", "source", "dest", "actor", "occurred_at",
                "recorded_at", "note", "data", "hash"],
    "effects.tenders": ["tender", "title", "area", "state", "municipalities", "contract_value",
                        "baseline_cost", "saving", "saving_percent", "bidders", "in_house_bid",
                        "in_house_won", "quality_note"],
    "effects.areas": ["area", "tenders", "contract_value", "compared_tenders", "baseline_cost",
                      "compared_contract_value", "saving", "saving_percent"],
    "effects.municipalities": ["code", "name", "tenders", "contract_value", "compared_tenders",
                               "baseline_cost", "compared_contract_value", "saving",
                               "saving_percent", "iku_year", "iku_before", "iku_after", "iku_gap"],
}  # fmt: skip
"""The documented column names (README, *Exports*), sheet by sheet."""
DATES = {"due"}
INSTANTS = {"entered_at", "timer_at", "occurred_at", "recorded_at"}
AMOUNTS = {"contract_value", "baseline_cost", "saving", "compared_contract_value"}


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Board:
    """The pilot at NOW; Aarhus's rehabilitation tender has its contract (an amount with øre, a
    note that looks like a formula), and Aarhus's activation tender has left scoping."""
    made = make_board(tmp_path_factory.mktemp("exports"))
    store = made.store()
    anna = store.person("anna")
    store.set_facts("AAR-SUND-01", {"contract_value": 912345.5, "baseline_cost": 1_000_000,
                                    "bidders": 3, "quality_note": FORMULA}, anna, at(NOW))  # fmt: skip
    store.advance("AAR-BESK-01", "approve_scope", anna, at(NOW), note=NOTE)
    store.engine.dispose()
    return made


@pytest.fixture(scope="module")
def kflow(board: Board) -> Kflow:
    k = Kflow(Path(board.url.removeprefix("sqlite:///")))
    k.env["KFLOW_NOW"] = NOW
    return k


@pytest.fixture
def store(board: Board) -> Store:
    return board.store()


def json_sheets(kflow: Kflow, table: str, *options: str) -> dict[str, list[dict[str, Any]]]:
    """What the matching `--json` commands say, as the export's sheets."""
    if table == "tenders":
        return {"tenders": json.loads(kflow.ok("tender", "list", "--json", *options))}
    if table == "overdue":
        return {"overdue": json.loads(kflow.ok("overdue", "--json", *options))}
    if table == "effects":
        report = json.loads(kflow.ok("effects", "--json"))
        return {name: report[name] for name in ("tenders", "areas", "municipalities")}
    tenders = json.loads(kflow.ok("tender", "list", "--json", *options))
    return {"history": [{"tender": t["id"], **e} for t in tenders
                        for e in json.loads(kflow.ok("tender", "history", t["id"], "--json"))]}  # fmt: skip


def headers_of(table: str, sheet: str) -> list[str]:
    return HEADERS[sheet if sheet == table else f"{table}.{sheet}"]


def guard(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def wall(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(TZ).replace(tzinfo=None)


def assert_csv_cell(cell: str, value: Any, column: str, excel: bool) -> None:
    """A CSV cell says what the JSON value says (flattened as the README documents)."""
    if isinstance(value, dict):
        assert json.loads(cell) == value, column
        return
    if value is None:
        expected = ""
    elif isinstance(value, bool):
        expected = "true" if value else "false"
    elif isinstance(value, float):
        expected = repr(value).replace(".", ",") if excel else repr(value)
    elif isinstance(value, int):
        expected = str(value)
    elif isinstance(value, list):
        expected = guard("; ".join(value))
    elif excel and column in INSTANTS:
        expected = wall(value).isoformat(sep=" ")
    else:
        expected = guard(value)
    assert cell == expected, column


def assert_xlsx_cell(cell: Any, value: Any, column: str) -> None:
    """An XLSX cell holds the JSON value typed: dates and instants as datetimes, numbers as
    numbers, booleans as booleans."""
    if isinstance(value, dict):
        assert json.loads(cell.value) == value, column
    elif column in DATES and value is not None:
        assert cell.value == datetime.combine(date.fromisoformat(value), time()), column
        assert cell.number_format == "yyyy-mm-dd"
    elif column in INSTANTS and value is not None:
        assert cell.value == wall(value), column
        assert cell.number_format == "yyyy-mm-dd hh:mm"
    elif isinstance(value, list):
        assert cell.value == ("; ".join(value) or None), column  # an empty text: no cell
    elif isinstance(value, str):
        assert cell.value == (value or None) and cell.data_type == "s", column
        assert cell.quotePrefix == value.startswith("="), column  # what openpyxl would run
    else:
        assert cell.value == value and type(cell.value) is type(value), column
    if column in AMOUNTS and value is not None:
        assert cell.number_format == '#,##0 "kr."'


def read_csv(data: bytes, excel: bool = False) -> list[list[str]]:
    text = data.decode("utf-8-sig" if excel else "utf-8")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";" if excel else ","))


def compare_csv(data: bytes, table: str, sheet: str, expected: list[dict[str, Any]],
                excel: bool = False) -> None:  # fmt: skip
    header, *rows = read_csv(data, excel)
    assert header == headers_of(table, sheet)
    assert len(rows) == len(expected) > 0
    for row, value in zip(rows, expected, strict=True):
        for column, cell in zip(header, row, strict=True):
            assert_csv_cell(cell, value.get(column), column, excel)


def compare_xlsx(data: bytes, table: str, expected: dict[str, list[dict[str, Any]]]) -> None:
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == list(expected)
    for name, rows in expected.items():
        ws = book[name]
        header = [c.value for c in ws[1]]
        assert header == headers_of(table, name)
        assert ws.max_row == len(rows) + 1 and rows
        for cells, value in zip(ws.iter_rows(min_row=2), rows, strict=True):
            for column, cell in zip(header, cells, strict=True):
                assert_xlsx_cell(cell, value.get(column), column)


# -- the command line ---------------------------------------------------------------------------


def test_the_command_line_offers_exactly_the_tables_there_are() -> None:
    assert cli._TABLES == exports.TABLES


@pytest.mark.parametrize("table", exports.TABLES)
@pytest.mark.parametrize("excel", [False, True])
def test_each_csv_sheet_has_the_rows_of_the_json(kflow: Kflow, table: str, excel: bool) -> None:
    """Plain (RFC 4180) and `--excel` CSV, every sheet, every row, every cell."""
    for sheet, expected in json_sheets(kflow, table).items():
        args = ["export", "csv", table, "--sheet", sheet] + (["--excel"] if excel else [])
        result = kflow(*args)
        assert result.exit_code == 0, result.stderr
        compare_csv(result.stdout_bytes, table, sheet, expected, excel)


@pytest.mark.parametrize("table", exports.TABLES)
def test_each_xlsx_has_a_sheet_per_part_with_the_rows_of_the_json(
    kflow: Kflow, table: str, tmp_path: Path
) -> None:
    """`-o FILE` writes the workbook (and says so on stderr); its cells are typed."""
    path = tmp_path / f"{table}.xlsx"
    result = kflow("export", "xlsx", table, "-o", str(path))
    assert result.exit_code == 0 and result.stdout == ""
    said = {"effects": "tenders: 1 row; areas: 1 row; municipalities: 3 rows"}.get(table, table)
    assert result.stderr.startswith(f"wrote {path} ({said}")
    compare_xlsx(path.read_bytes(), table, json_sheets(kflow, table))


@pytest.mark.parametrize("table", ["tenders", "overdue", "history"])
def test_municipality_keeps_only_its_tenders(kflow: Kflow, table: str) -> None:
    """--municipality takes a code or a name, as `tender list` and `overdue` do."""
    ((sheet, expected),) = json_sheets(kflow, table, "--municipality", "Aarhus").items()
    everything = json_sheets(kflow, table)[sheet]
    assert 0 < len(expected) < len(everything)
    result = kflow("export", "csv", table, "--municipality", "751")
    compare_csv(result.stdout_bytes, table, sheet, expected)


def test_the_csv_is_rfc_4180_and_the_excel_csv_is_for_danish_excel(kflow: Kflow) -> None:
    """CRLF line ends, ',' and '.' in plain UTF-8; with --excel a byte order mark, ';', a decimal
    comma and instants in Copenhagen wall time."""
    plain = kflow("export", "csv", "effects").stdout_bytes
    assert plain.startswith(b"tender,title,") and plain.count(b"\r\n") == 2
    assert b",912345.5,1000000,87654.5,8.8," in plain
    excel = kflow("export", "csv", "effects", "--excel").stdout_bytes
    assert excel.startswith(b"\xef\xbb\xbftender;title;")
    assert ";912345,5;1000000;87654,5;8,8;" in excel.decode("utf-8-sig")
    history = kflow("export", "csv", "history", "--excel").stdout.removeprefix("\ufeff")
    assert ";2007-10-05 00:00:00;" in history and "+02:00" not in history


def test_the_xlsx_has_typed_cells_a_frozen_header_filters_and_widths(kflow: Kflow) -> None:
    result = kflow("export", "xlsx", "effects")
    book = openpyxl.load_workbook(io.BytesIO(result.stdout_bytes))
    ws = book["tenders"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:M2"
    assert ws["A1"].font.bold
    amount = ws["F2"]
    assert ws["F1"].value == "contract_value" and amount.value == 912345.5
    assert amount.number_format == '#,##0 "kr."' and ws["F1"].comment.text == "DKK"
    assert ws.column_dimensions["F"].width >= len("912,346 kr.")
    assert ws.column_dimensions["B"].width > len("title") + 3  # the title is longer
    tenders = openpyxl.load_workbook(io.BytesIO(kflow("export", "xlsx", "tenders").stdout_bytes))
    sheet = tenders["tenders"]
    due, entered = sheet["J2"], sheet["I2"]
    assert sheet["J1"].value == "due" and isinstance(due.value, datetime)
    assert sheet["I1"].comment.text == "Europe/Copenhagen wall time"
    assert isinstance(entered.value, datetime) and entered.number_format == "yyyy-mm-dd hh:mm"


def test_a_text_that_looks_like_a_formula_stays_text(kflow: Kflow) -> None:
    """In CSV it starts with "'"; an XLSX cell holds it as written, as text (quotePrefix): a
    spreadsheet shows it and never runs it."""
    rows = list(csv.DictReader(io.StringIO(kflow("export", "csv", "effects").stdout)))
    assert rows[0]["quality_note"] == "'" + FORMULA
    book = openpyxl.load_workbook(io.BytesIO(kflow("export", "xlsx", "effects").stdout_bytes))
    cell = book["tenders"]["M2"]
    assert cell.value == FORMULA and cell.data_type == "s" and cell.quotePrefix
    history = list(csv.DictReader(io.StringIO(kflow("export", "csv", "history").stdout)))
    assert "'" + NOTE in [r["note"] for r in history]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("export", "csv", "effects", "--municipality", "751"),
         "the effects table covers the whole network and takes no municipality"),
        (("export", "xlsx", "effects", "--municipality", "751"),
         "tenders, overdue and history take one"),
        (("export", "csv", "effects", "--sheet", "people"),
         "unknown sheet 'people'; this table's sheets are tenders, areas, municipalities"),
        (("export", "csv", "tenders", "--sheet", "areas"),
         "unknown sheet 'areas'; this table's sheets are tenders"),
        (("export", "csv", "tenders", "--municipality", "Arhus"), "did you mean 751 (Aarhus)?"),
        (("export", "csv", "tenders", "-o", "/nonexistent/folder/t.csv"),
         "cannot write /nonexistent/folder/t.csv: No such file or directory"),
    ],
)  # fmt: skip
def test_refusals_exit_1_with_one_sentence(
    kflow: Kflow, args: tuple[str, ...], message: str
) -> None:
    result = kflow(*args)
    assert result.exit_code == 1 and result.stdout == ""
    assert message in result.stderr and "Traceback" not in result.stderr


def test_an_unknown_table_is_a_usage_error_naming_the_tables(kflow: Kflow) -> None:
    result = kflow("export", "xlsx", "people")
    assert result.exit_code == 2
    assert "'people' is not one of 'tenders', 'overdue', 'effects', 'history'" in result.stderr


def test_an_xlsx_is_not_written_to_a_terminal(
    kflow: Kflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_stdout_is_terminal", lambda: True)
    result = kflow("export", "xlsx", "tenders")
    assert result.exit_code == 2 and result.stdout == ""
    assert "an .xlsx file is binary and would garble the terminal: give -o FILE" in result.stderr


# -- the service --------------------------------------------------------------------------------


def test_a_signed_in_person_downloads_the_same_tables(store: Store, board: Board) -> None:
    """The XLSX and the CSV, as attachments, with the pages' security headers."""
    client = signed_in(store, board, "anna")
    app = App(store, at(NOW), store.person("anna"))
    answer = client.get("/export/tenders.xlsx")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == exports.XLSX_TYPE
    assert answer.headers["content-disposition"] == 'attachment; filename="tenders.xlsx"'
    assert answer.headers["x-content-type-options"] == "nosniff"
    compare_xlsx(answer.content, "tenders", {"tenders": app.tenders()})
    areas = client.get("/export/effects.csv?sheet=areas&excel=yes")
    assert areas.headers["content-type"] == "text/csv; charset=utf-8"
    assert areas.headers["content-disposition"] == 'attachment; filename="effects-areas.csv"'
    compare_csv(areas.content, "effects", "areas", app.effects()["areas"], excel=True)
    aarhus = client.get("/export/history.csv?municipality=Aarhus")
    expected = [{"tender": t["id"], **e} for t in app.tenders("751") for e in app.history(t["id"])]
    compare_csv(aarhus.content, "history", "history", expected)


def test_a_script_downloads_with_its_api_token(store: Store, board: Board) -> None:
    client = client_for(store)
    answer = client.get("/export/overdue.csv",
                        headers={"Authorization": f"Bearer {board.tokens['ole']}"})  # fmt: skip
    assert answer.status_code == 200
    expected = App(store, at(NOW), store.person("ole")).overdue()
    compare_csv(answer.content, "overdue", "overdue", expected)


def test_without_a_session_or_a_valid_token_nothing_is_downloaded(store: Store) -> None:
    """No session: to the sign-in page, as every page; a wrong token: 401 and why."""
    client = client_for(store)
    answer = client.get("/export/tenders.xlsx")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=%2Fexport%2Ftenders.xlsx"
    for header in ("Bearer kf_nope", "Basic a2Zsb3c6eA=="):
        refused = client.get("/export/tenders.csv", headers={"Authorization": header})
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert "no valid token" in refused.text and "tender" not in refused.headers["content-type"]


@pytest.mark.parametrize("name", ["people.csv", "tenders.pdf", "tenders"])
def test_an_unknown_export_is_404_naming_those_there_are(
    store: Store, board: Board, name: str
) -> None:
    answer = signed_in(store, board, "anna").get(f"/export/{name}")
    assert answer.status_code == 404
    assert f"there is no export &#39;{name}&#39;" in answer.text
    assert (
        "/export/TABLE.csv and /export/TABLE.xlsx, TABLE one of tenders, overdue, " in answer.text
    )


def test_the_service_refuses_what_the_command_line_refuses(store: Store, board: Board) -> None:
    client = signed_in(store, board, "anna")
    answer = client.get("/export/effects.xlsx?municipality=751")
    assert answer.status_code == 400 and "takes no municipality" in answer.text
    answer = client.get("/export/effects.csv?sheet=people")
    assert answer.status_code == 400 and "this table&#39;s sheets are tenders, areas" in answer.text


def test_the_effects_page_links_both_downloads(store: Store, board: Board) -> None:
    page = signed_in(store, board, "anna").get("/effects").text
    assert 'href="/export/effects.xlsx"' in page and 'href="/effects.csv"' in page

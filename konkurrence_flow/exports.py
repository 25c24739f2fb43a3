"""Exports: the tables of the `--json` shapes, flattened for spreadsheets (CSV and XLSX).

A table is one or more sheets; a sheet is a fixed tuple of columns, named as the JSON keys are
(a history row starts with its `tender`), over the JSON rows as `App` gives them. The command line
(`kflow export csv|xlsx TABLE`) and the dashboard (`/export/TABLE.csv|.xlsx`) both write them here.

Flattening, the same in both formats: a list becomes one text, its items joined with "; "; a
dict (`facts`, `signoffs`, `data`) becomes its JSON text; a number stays a number; null is an
empty cell. In an XLSX file a date is a date, an instant a date and time in Copenhagen wall time
(naive: a spreadsheet has no time zones), an amount a number in DKK shown with thousands
separators and "kr.". A text a spreadsheet would run as a formula (=, +, -, @, tab, CR) starts
with "'" in a CSV file; in an XLSX file it is written as it is, in a cell marked as text.

Light on purpose: openpyxl is imported only to write an XLSX file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from .errors import InvalidInput, NotFound
from .jsonsafe import finite

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

TABLES = ("tenders", "overdue", "effects", "history")
FORMATS = ("csv", "xlsx")
LIST_SEPARATOR = "; "
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TZ = ZoneInfo("Europe/Copenhagen")

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_FORMATS = {
    "amount": '#,##0 "kr."',
    "percent": '0.0" %"',
    "date": "yyyy-mm-dd",
    "instant": "yyyy-mm-dd hh:mm",
}
_NOTES = {
    "instant": "Europe/Copenhagen wall time",
    "amount": "DKK",
    "percent": "percent",
}
MAX_WIDTH = 60


class Source(Protocol):
    """What an export reads: `App`, or `client.RemoteApp` with KFLOW_URL (the same methods)."""

    def tenders(
        self, municipality: str | None = None, state: str | None = None, overdue: bool = False
    ) -> list[dict[str, Any]]: ...

    def overdue(self, municipality: str | None = None) -> list[dict[str, Any]]: ...

    def effects(self) -> dict[str, Any]: ...

    def history(self, tender_id: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Column:
    """A column: its name (the JSON key) and what its values are (text, date, instant, amount,
    percent; anything but text only shapes an XLSX cell)."""

    name: str
    kind: str = "text"


@dataclass(frozen=True)
class Sheet:
    """One sheet of a table: its name, its columns and the JSON rows under them."""

    name: str
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]


def _columns(spec: str) -> tuple[Column, ...]:
    """Columns from `"name name:kind …"`."""
    return tuple(Column(*word.split(":")) for word in spec.split())


TENDER_COLUMNS = _columns(
    "id title definition definition_version programme state state_label final entered_at:instant "
    "due:date overdue days_overdue municipalities leader area procedure regime facts triggers "
    "signoffs signoffs_pending version timer_at:instant timer_trigger warnings legal_notes"
)
OVERDUE_COLUMNS = _columns(
    "tender title state state_label due:date days_overdue municipalities leader"
)
HISTORY_COLUMNS = _columns(
    "tender seq kind trigger source dest actor occurred_at:instant recorded_at:instant note data "
    "hash"
)
_TOTALS = (
    "tenders contract_value:amount compared_tenders baseline_cost:amount "
    "compared_contract_value:amount saving:amount saving_percent:percent"
)
EFFECT_COLUMNS = {
    "tenders": _columns(
        "tender title area state municipalities contract_value:amount baseline_cost:amount "
        "saving:amount saving_percent:percent bidders in_house_bid in_house_won quality_note"
    ),
    "areas": _columns(f"area {_TOTALS}"),
    "municipalities": _columns(
        f"code name {_TOTALS} iku_year iku_before:percent iku_after:percent iku_gap:percent"
    ),
}


# Building the sheets


def sheets(source: Source, table: str, municipality: str | None = None) -> list[Sheet]:
    """The sheets of `table` (one of TABLES), of one municipality (code or name) where given."""
    build = _BUILDERS.get(table)
    if build is None:
        raise NotFound(f"unknown table {table[:40]!r}; the tables are {', '.join(TABLES)}")
    return build(source, municipality)


def pick(found: Sequence[Sheet], name: str | None) -> Sheet:
    """The sheet called `name` (None: the first), for a CSV file, which holds one."""
    if name is None:
        return found[0]
    for sheet in found:
        if sheet.name == name:
            return sheet
    names = ", ".join(s.name for s in found)
    raise InvalidInput(f"unknown sheet {name[:40]!r}; this table's sheets are {names}")


def _tenders(source: Source, municipality: str | None) -> list[Sheet]:
    return [_sheet("tenders", TENDER_COLUMNS, source.tenders(municipality))]


def _overdue(source: Source, municipality: str | None) -> list[Sheet]:
    return [_sheet("overdue", OVERDUE_COLUMNS, source.overdue(municipality))]


def _history(source: Source, municipality: str | None) -> list[Sheet]:
    """Every event of every tender (of the municipality), tender by tender, each in order."""
    rows = [
        {"tender": tender["id"], **event}
        for tender in source.tenders(municipality)
        for event in source.history(tender["id"])
    ]
    return [_sheet("history", HISTORY_COLUMNS, rows)]


def _effects(source: Source, municipality: str | None) -> list[Sheet]:
    """The effects report's tenders, areas and municipalities; always the whole network."""
    if municipality is not None:
        raise InvalidInput(
            "the effects table covers the whole network and takes no municipality (its "
            "municipalities sheet has a row for each); tenders, overdue and history take one"
        )
    report = source.effects()
    return [_sheet(name, columns, report[name]) for name, columns in EFFECT_COLUMNS.items()]


def _sheet(name: str, columns: tuple[Column, ...], rows: list[dict[str, Any]]) -> Sheet:
    return Sheet(name, columns, tuple(finite(row) for row in rows))


_BUILDERS: dict[str, Callable[[Source, str | None], list[Sheet]]] = {
    "tenders": _tenders,
    "overdue": _overdue,
    "effects": _effects,
    "history": _history,
}


# Cells


def guarded(text: str) -> str:
    """A text a spreadsheet would run as a formula (=, +, -, @, tab, CR) is kept as text."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def flat(value: Any, guard: bool = True) -> Any:
    """A JSON value in one cell: a list joined with "; ", a dict as its JSON text, text guarded
    (CSV; an XLSX cell is marked text instead); numbers, booleans and null as they are."""
    keep = guarded if guard else str
    if isinstance(value, list):
        return keep(LIST_SEPARATOR.join("" if v is None else str(v) for v in value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    if isinstance(value, str):
        return keep(value)
    return value


def wall_time(text: str) -> datetime:
    """An ISO instant as naive Copenhagen wall time (what a spreadsheet cell can hold)."""
    return datetime.fromisoformat(text).astimezone(TZ).replace(tzinfo=None)


# CSV


def to_csv(sheet: Sheet, *, excel: bool = False) -> bytes:
    """RFC 4180 CSV in UTF-8, a header line of column names. `excel`: what Danish Excel opens
    with a double-click: a byte order mark, ';' between fields, a decimal comma, and instants in
    Copenhagen wall time (`2007-10-05 14:30:00`)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if excel else ",", lineterminator="\r\n")
    writer.writerow([c.name for c in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_csv_cell(row.get(c.name), c.kind, excel) for c in sheet.columns])
    return out.getvalue().encode("utf-8-sig" if excel else "utf-8")


def _csv_cell(value: Any, kind: str, excel: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value).replace(".", ",") if excel else repr(value)
    if excel and kind == "instant" and isinstance(value, str):
        return str(_or_text(wall_time, value))
    return str(flat(value))


def _or_text(parse: Callable[[str], Any], text: str) -> Any:
    """`parse(text)`, or the text itself (guarded) where it is not what the column expects."""
    try:
        return parse(text)
    except ValueError:
        return guarded(text)


# XLSX


def to_xlsx(found: Sequence[Sheet]) -> bytes:
    """An XLSX workbook, a worksheet per sheet: typed cells, a bold frozen header row with an
    autofilter, and column widths that fit (up to MAX_WIDTH characters)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for sheet in found:
        _write_sheet(book.create_sheet(sheet.name), sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write_sheet(ws: Worksheet, sheet: Sheet) -> None:
    ws.append([c.name for c in sheet.columns])
    for row in sheet.rows:
        ws.append([_xlsx_cell(row.get(c.name), c.kind) for c in sheet.columns])
        for cell in ws[ws.max_row]:
            if cell.data_type == "f":  # a text that reads like a formula: text, shown as written
                cell.data_type, cell.quotePrefix = "s", True
    _header(ws, sheet.columns)
    for index, column in enumerate(sheet.columns, start=1):
        _format_column(ws, index, column)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def _xlsx_cell(value: Any, kind: str) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if kind == "date" and isinstance(value, str):
        return _or_text(date.fromisoformat, value)
    if kind == "instant" and isinstance(value, str):
        return _or_text(wall_time, value)
    shown = flat(value, guard=False)  # the cell is made text instead (`_write_sheet`)
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", shown) if isinstance(shown, str) else shown


def _header(ws: Worksheet, columns: tuple[Column, ...]) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    for cell, column in zip(ws[1], columns, strict=True):
        cell.font = Font(bold=True)
        if column.kind in _NOTES:
            cell.comment = Comment(_NOTES[column.kind], "konkurrence-flow")


def _format_column(ws: Worksheet, index: int, column: Column) -> None:
    from openpyxl.utils import get_column_letter

    widest = len(column.name) + 3  # room for the autofilter's button
    for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
        if column.kind in _NUMBER_FORMATS and isinstance(cell.value, int | float | date):
            cell.number_format = _NUMBER_FORMATS[column.kind]
        widest = max(widest, _shown_width(cell.value, column.kind))
    ws.column_dimensions[get_column_letter(index)].width = min(widest + 1, MAX_WIDTH)


def _shown_width(value: Any, kind: str) -> int:
    """About how many characters the cell shows."""
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if kind == "amount" and isinstance(value, int | float):
        return len(f"{value:,.0f} kr.")
    return max((len(line) for line in str("" if value is None else value).splitlines()), default=0)

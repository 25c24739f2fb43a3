"""The store the dashboard tests look at: the pilot programme on 2007-10-05, when the scoping
steps (due at the end of Q3 2007) are five days overdue, and Odense's messages failed (ole has no
email address), so the secretariat has something to re-send. With `materials`, two tenders have
documents (`attach_samples`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from servers import SmtpServer
from support import DEFINITIONS, PILOT_TEXT, at

from konkurrence_flow import materials, samples, tokens
from konkurrence_flow.definitions import load_definition
from konkurrence_flow.notify import dispatch
from konkurrence_flow.programme import parse_programme
from konkurrence_flow.scheduler import tick
from konkurrence_flow.store import Store

NOW = "2007-10-05"
PEOPLE = ("anna", "ole", "kl-sek")


@dataclass(frozen=True)
class Board:
    """The store's URL and an API token per person."""

    url: str
    tokens: dict[str, str]

    def store(self) -> Store:
        return Store(self.url)

    def copy(self, folder: Path) -> Store:
        """A store of its own, copied from this one into `folder` (for a test that writes)."""
        copy = folder / "board.db"
        copy.write_bytes(Path(self.url.removeprefix("sqlite:///")).read_bytes())
        return Store(f"sqlite:///{copy}")


def make_board(folder: Path, *, materials: bool = False) -> Board:
    """The pilot at NOW, ticked (overdue flags, reminders) and dispatched once (ole's fail);
    with `materials`, the documents of `attach_samples` too."""
    url = f"sqlite:///{folder / 'board.db'}"
    store = Store(url)
    store.init("kl-sek")
    for name in ("individual-tender", "joint-tender"):
        store.load_definition(load_definition(DEFINITIONS / f"{name}.yaml"), at("2007-04-01"))
    text = PILOT_TEXT.replace("email: ole.hansen@odense.example.dk", 'email: ""')
    store.load_programme(parse_programme(text, "pilot.yaml"), at("2007-06-01"))
    tick(store, at(NOW))
    server = SmtpServer().start()
    try:
        from konkurrence_flow.channels import SmtpChannel

        dispatch(store, [SmtpChannel(server.url, "kflow@example.dk")], at(NOW))
    finally:
        server.stop()
    assert store.notifications("failed"), "ole's messages should have failed"
    if materials:
        attach_samples(store, folder)
    made = {p: tokens.create(store, p)[1] for p in PEOPLE}
    store.engine.dispose()
    return Board(url, made)


GENOPTRAENING = [
    "Leverandøren tilbyder genoptræning af borgere udskrevet fra sygehus efter sundhedsloven.",
    "Træningen begynder senest {days} dage efter udskrivning, i borgerens hjem eller på et "
    "træningscenter.",
    "Leverandøren dokumenterer effekten med funktionsevnemålinger ved start og afslutning.",
]
MENTOR = [
    "Hver ung ledig får et mentorforløb på op til seks måneder med en fast mentor.",
    "Udkast: beløbsrammen drøftes med Odense Kommunes jobcenter.",
]


def attach_samples(store: Store, folder: Path) -> None:
    """Aarhus's AAR-SUND-01 gets a requirement specification (a PDF) in two versions, anna
    attaching; Odense's ODE-BESK-01 a draft (a DOCX), ole attaching. Neither tender is published:
    Odense's draft is for ole and the secretariat, never for anna."""
    made = folder / "samples"
    made.mkdir(exist_ok=True)
    anna, ole = store.person("anna"), store.person("ole")
    title = "Kravspecifikation: Genoptræning"
    for days in ("syv", "fem"):
        path = made / f"kravspecifikation-genoptraening-{days}.pdf"
        path.write_bytes(samples.pdf(title, [p.format(days=days) for p in GENOPTRAENING]))
        upload = materials.Upload(path, "kravspecifikation-genoptraening.pdf")
        materials.attach(store, "AAR-SUND-01", [upload], anna, at(NOW), kind="kravspecifikation",
                         title=title)  # fmt: skip
    path = samples.docx(made / "mentorordning.docx", "Udkast: Mentorordning", MENTOR)
    materials.attach(store, "ODE-BESK-01", [materials.Upload(path, "mentorordning.docx")], ole,
                     at(NOW), kind="kravspecifikation", title="Udkast: Mentorordning")  # fmt: skip

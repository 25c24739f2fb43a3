"""The dashboard's words, in Danish (the default) and English. States and steps keep the labels
their definitions give them; these are the page's own words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

LANGUAGES = ("da", "en")

_DA = {
    "app": ("Konkurrence-flow", "Konkurrence-flow"),
    "overview": ("Overblik", "Overview"),
    "gantt": ("Gantt", "Gantt"),
    "overdue": ("Forsinkelser", "Overdue"),
    "notifications": ("Notifikationer", "Notifications"),
    "effects": ("Effekter", "Effects"),
    "signin": ("Log ind", "Sign in"),
    "signout": ("Log ud", "Sign out"),
    "signed_in_as": ("Logget ind som", "Signed in as"),
    "token": ("Adgangsnøgle", "Access token"),
    "token_help": (
        "Indsæt din personlige nøgle (kf_…) fra sekretariatet, eller brug dit engangslink.",
        "Paste your personal token (kf_…) from the secretariat, or use your one-time link.",
    ),
    "main_nav": ("Hovedmenu", "Main menu"),
    "skip": ("Spring til indhold", "Skip to content"),
    "language": ("Sprog", "Language"),
    "other_language": ("English", "Dansk"),
    "today": ("I dag", "Today"),
    "timeline": ("Tidslinje", "Timeline"),
    "milestones": ("Milepæle", "Milestones"),
    "programmes": ("Programmer", "Programmes"),
    "programme": ("Program", "Programme"),
    "milestone": ("Milepæl", "Milestone"),
    "date": ("Dato", "Date"),
    "planned_date": ("planlagt dato", "planned date"),
    "by_municipality": ("Udbud pr. kommune og fase", "Tenders by municipality and phase"),
    "municipality": ("Kommune", "Municipality"),
    "all": ("Alle", "All"),
    "total": ("I alt", "Total"),
    "overdue_steps": ("Forsinkede trin", "Overdue steps"),
    "iku": ("Estimeret IKU mod målet på 25 %", "Estimated IKU against the 25 % target"),
    "iku_before": ("IKU før", "IKU before"),
    "iku_after": ("IKU efter", "IKU after"),
    "target": ("Mål", "Target"),
    "network": ("Netværket", "The network"),
    "tender": ("Udbud", "Tender"),
    "tenders": ("Udbud", "Tenders"),
    "title": ("Titel", "Title"),
    "state": ("Fase", "Phase"),
    "due": ("Frist", "Due"),
    "days_overdue": ("Dage forsinket", "Days overdue"),
    "leader": ("Projektleder", "Project leader"),
    "nothing_overdue": ("Intet er forsinket.", "Nothing is overdue."),
    "area": ("Område", "Area"),
    "definition": ("Proces", "Process"),
    "filter": ("Filtrér", "Filter"),
    "plan": ("Plan", "Plan"),
    "actual": ("Faktisk", "Actual"),
    "late": ("Forsinket", "Overdue"),
    "ahead": ("Plan fremover", "Plan ahead"),
    "earliest": ("Tidligst mulige afslutning", "Earliest possible completion"),
    "gantt_desc": (
        "Hver række er et udbud: tynd grå bjælke er den planlagte periode for hver fase, tyk blå "
        "er den faktiske, rød er dage efter fristen; stiplet er planen fremover, og ruden er den "
        "tidligst mulige afslutning.",
        "Each row is a tender: the thin grey bar is each phase's planned span, the thick blue bar "
        "its actual span, red the days past the due date; dashed is the plan ahead, and the "
        "diamond the earliest possible completion.",
    ),
    "as_table": ("Vis som tabel", "Show as a table"),
    "entered": ("Startet", "Entered"),
    "left": ("Afsluttet", "Left"),
    "showing": ("Viser", "Showing"),
    "of": ("af", "of"),
    "previous": ("Forrige", "Previous"),
    "past_the_end": ("Der er ikke så mange.", "There are not that many."),
    "first_page": ("Til første side", "To the first page"),
    "next": ("Næste", "Next"),
    "timer": ("Tidsstyret skift", "Timer"),
    "facts": ("Fakta", "Facts"),
    "signoffs": ("Godkendelser", "Sign-offs"),
    "pending": ("mangler", "pending"),
    "history": ("Historik", "History"),
    "when": ("Tidspunkt", "When"),
    "event": ("Hændelse", "Event"),
    "actor": ("Aktør", "Actor"),
    "note": ("Note", "Note"),
    "actions": ("Handlinger", "Actions"),
    "no_actions": (
        "Du kan ikke skifte fase på dette udbud nu.",
        "You cannot move this tender on now.",
    ),
    "fire": ("Udfør", "Fire"),
    "facts_help": (
        "Én pr. linje: navn=værdi (fx contract_value=1200000)",
        "One per line: name=value (e.g. contract_value=1200000)",
    ),
    "at": ("Gældende fra (valgfrit)", "Effective (optional)"),
    "at_help": ("Et tidligere tidspunkt, fx 2008-03-20", "An earlier time, e.g. 2008-03-20"),
    "needs_note": ("kræver en note", "needs a note"),
    "needs_facts": ("kræver fakta", "needs facts"),
    "refused": ("Afvist", "Refused"),
    "refused_changed": (
        "En anden ændrede udbuddet imens. Prøv igen.",
        "Someone else changed the tender meanwhile. Try again.",
    ),
    "refused_not_now": ("Handlingen kan ikke udføres.", "This cannot be done."),
    "refused_input": ("Noget af det angivne kan ikke bruges.", "Something given cannot be used."),
    "refused_other": ("Det blev afvist.", "It was refused."),
    "in_english": ("Begrundelse (på engelsk, som i kflow)", "Why (as kflow says it)"),
    "done_now": ("Udført", "Done"),
    "now_in": ("Udbuddet er nu i fasen", "The tender is now in"),
    "warnings": ("Advarsler", "Warnings"),
    "legal_notes": ("Lovgrundlag", "Legal basis"),
    "status": ("Status", "Status"),
    "recipient": ("Modtager", "Recipient"),
    "subject": ("Emne", "Subject"),
    "attempts": ("Forsøg", "Attempts"),
    "last_error": ("Seneste fejl", "Last error"),
    "retry": ("Send igen", "Retry"),
    "queued_again": ("sat i kø igen", "queued again"),
    "kind": ("Type", "Kind"),
    "created": ("Oprettet", "Created"),
    "failed": ("Fejlede", "Failed"),
    "withdrawn": ("Trukket tilbage", "Withdrawn"),
    "queued": ("I kø", "Queued"),
    "sent": ("Sendt", "Sent"),
    "no_notifications": ("Ingen meddelelser.", "No messages."),
    "savings": ("Besparelser", "Savings"),
    "nothing_awarded": (
        "Intet udbud har en kontraktsum endnu.",
        "No tender has a contract value yet.",
    ),
    "by_area": ("Pr. område", "By area"),
    "by_tender": ("Pr. udbud", "By tender"),
    "contract_value": ("Kontraktsum (kr./år)", "Contract value (DKK/year)"),
    "baseline_cost": ("Udgift før (kr./år)", "Cost before (DKK/year)"),
    "saving": ("Besparelse (kr./år)", "Saving (DKK/year)"),
    "saving_percent": ("Besparelse %", "Saving %"),
    "bidders": ("Tilbudsgivere", "Bidders"),
    "download_csv": ("Hent som CSV", "Download as CSV"),
    "download_xlsx": ("Hent som Excel-ark", "Download as an Excel workbook"),
    "savings_chart": ("Besparelse i procent pr. område", "Saving in percent by area"),
    "error": ("Fejl", "Error"),
    "forbidden": ("Ingen adgang", "Forbidden"),
    "not_found": ("Findes ikke", "Not found"),
    "back": ("Tilbage", "Back"),
    "print": ("Udskriv", "Print"),
    "materials": ("Materialebank", "Materials bank"),
    "materials_sees_all": (
        "Søg i tekst og titler på alle dokumenter, der er knyttet til netværkets udbud.",
        "Search the text and titles of every document attached to the network's tenders.",
    ),
    "materials_sees": (
        "Søg i tekst og titler på dokumenterne fra offentliggjorte udbud og fra din egen kommunes "
        "udbud (et udbuds udkast ser kun dets deltagere og sekretariatet).",
        "Search the text and titles of the documents of published tenders and of your own "
        "municipality's tenders (a tender's drafts are for its participants and the secretariat).",
    ),
    "search_words": ("Søgeord", "Search words"),
    "search_help": (
        "Alle ordene skal stå i dokumentet; et ord finder også længere former "
        "(»genoptræn« finder »genoptræning«).",
        "Every word must be in the document; a word finds its longer forms too "
        "(“genoptræn” finds “genoptræning”).",
    ),
    "search": ("Søg", "Search"),
    "hits": ("Fundne dokumenter", "Documents found"),
    "latest_documents": ("Senest tilføjede dokumenter", "Documents attached last"),
    "no_hits": (
        "Ingen dokumenter, du kan se, indeholder ordene.",
        "No document you may see holds the words.",
    ),
    "no_documents": ("Ingen dokumenter, du kan se, endnu.", "No documents you may see yet."),
    "documents": ("Dokumenter", "Documents"),
    "documents_hidden": (
        "Udbuddet er ikke offentliggjort endnu: dets dokumenter er kun for deltagerne og "
        "sekretariatet.",
        "The tender is not published yet: its documents are for its participants and the "
        "secretariat only.",
    ),
    "no_documents_yet": ("Ingen dokumenter endnu.", "No documents yet."),
    "version": ("Version", "Version"),
    "file": ("Fil", "File"),
    "format": ("Format", "Format"),
    "size": ("Størrelse", "Size"),
    "year": ("År", "Year"),
    "attached": ("Tilføjet", "Attached"),
    "draft_withheld": (
        "et udkast, kun for udbuddets deltagere og sekretariatet",
        "a draft, for the tender's participants and the secretariat only",
    ),
    "attached_by": ("Af", "By"),
    "attach_documents": ("Tilføj dokumenter", "Attach documents"),
    "files": ("Filer", "Files"),
    "attach_limits": (
        "PDF, DOCX, XLSX, ODT eller ren tekst (UTF-8), højst {size} pr. dokument og {files} "
        "filer ad gangen. Filen skal være, hvad dens navn siger.",
        "PDF, DOCX, XLSX, ODT or plain text (UTF-8), at most {size} a document and {files} "
        "files at once. A file must be what its name says.",
    ),
    "title_optional": ("Titel (valgfri)", "Title (optional)"),
    "attach_title_help": (
        "Kun med én fil. Uden titel bliver filens navn titlen; en titel, der findes, får en ny "
        "version.",
        "With one file only. Without a title the file's name is its title; a title that exists "
        "gets a new version.",
    ),
    "attach_button": ("Tilføj", "Attach"),
    "attached_now": ("Tilføjet", "Attached"),
    "document_one": ("dokument", "document"),
    "document_many": ("dokumenter", "documents"),
    "attached_where": (
        "De står under Dokumenter og i historikken.",
        "They are under Documents and in the history.",
    ),
    "download": ("Hent", "Download"),
    "kind_udbudsbekendtgoerelse": ("Udbudsbekendtgørelse", "Contract notice"),
    "kind_kravspecifikation": ("Kravspecifikation", "Requirement specification"),
    "kind_kontrakt": ("Kontrakt", "Contract"),
    "kind_evaluering": ("Evaluering", "Evaluation"),
    "kind_effektmaaling": ("Effektmåling", "Measurement of effects"),
    "kind_andet": ("Andet", "Other"),
    "invented": (
        "Personer, adresser og beløb i programfilerne er opdigtede.",
        "People, addresses and figures in the programme files are invented.",
    ),
}
Translate = Callable[[str], str]


@dataclass(frozen=True)
class Refusal:
    """A refusal on a page: what kind of no it is, in the page's words (`reason`, a key of the
    words above), and the sentence `kflow` prints for it (English, as the CLI and API say it)."""

    reason: str
    text: str


def refusal(exc: Exception) -> Refusal:
    """The page's refusal for an error the package raised on purpose."""
    from ..errors import ConcurrentChange, InvalidInput, NotAllowed, PeriodError

    reason = next((key for kind, key in ((ConcurrentChange, "refused_changed"),
                                         (NotAllowed, "refused_not_now"),
                                         ((InvalidInput, PeriodError), "refused_input"))
                   if isinstance(exc, kind)), "refused_other")  # fmt: skip
    return Refusal(reason, str(exc) or type(exc).__name__)


def translator(lang: str) -> Translate:
    """The page's words in `lang` (da or en); a key without words shows itself."""
    english = lang == "en"

    def t(key: str) -> str:
        words = _DA.get(key)
        if words is None:
            return key
        return words[1] if english else words[0]

    return t

"""The texts of notifications: Danish by default, English on request. Pure: no I/O.

A subject says what and when; the plain-text body names the tender, the step, the due date and the
command that moves the tender on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

LANGUAGES = ("da", "en")

_SUBJECTS = {
    ("reminder", "da"): "Påmindelse: {tender} «{label}» skal være klar senest {due}",
    ("reminder", "en"): "Reminder: {tender} '{label}' is due on {due}",
    ("overdue", "da"): "Overskredet: {tender} «{label}» skulle være klar {due}",
    ("overdue", "en"): "Overdue: {tender} '{label}' was due on {due}",
    ("escalation", "da"): "Eskalering: {tender} «{label}» er {days} dage over fristen {due}",
    ("escalation", "en"): "Escalation: {tender} '{label}' is {days} days past its due date {due}",
    ("signoff", "da"): "Godkendelse: {tender} «{label}» venter på jeres godkendelse",
    ("signoff", "en"): "Sign-off: {tender} '{label}' is waiting for your sign-off",
}

_LINES = {
    "da": {
        "tender": "Udbud", "step": "Trin", "due": "Frist", "late": "Dage over fristen",
        "move": "Kommandoen der flytter udbuddet videre", "municipalities": "Kommuner",
    },
    "en": {
        "tender": "Tender", "step": "Step", "due": "Due", "late": "Days overdue",
        "move": "The command that moves the tender on", "municipalities": "Municipalities",
    },
}  # fmt: skip


@dataclass(frozen=True)
class About:
    """What a notification is about: one tender's current step."""

    tender: str
    title: str
    state: str
    label: str
    due: date | None
    municipalities: tuple[str, ...]
    triggers: tuple[str, ...]


def language(value: str | None) -> str:
    """A supported language code, Danish unless English is asked for."""
    return "en" if (value or "").lower().startswith("en") else "da"


def subject(kind: str, about: About, lang: str, days: int = 0) -> str:
    """The subject line of a reminder, overdue notice or escalation."""
    template = _SUBJECTS[(kind, language(lang))]
    return template.format(tender=about.tender, label=about.label, due=about.due, days=days)


def body(kind: str, about: About, lang: str, days: int = 0) -> str:
    """The plain-text body: tender, step, due date and the command that moves it on."""
    words = _LINES[language(lang)]
    lines = [
        subject(kind, about, lang, days),
        "",
        f"{words['tender']}: {about.tender} – {about.title}",
        f"{words['step']}: {about.label} ({about.state})",
    ]
    if about.due is not None:
        lines.append(f"{words['due']}: {about.due.isoformat()}")
    if about.municipalities:
        lines.append(f"{words['municipalities']}: {', '.join(about.municipalities)}")
    if days:
        lines.append(f"{words['late']}: {days}")
    if about.triggers:
        lines += ["", f"{words['move']}:", f"  kflow advance {about.tender} {about.triggers[0]}"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Late:
    """One overdue step in the secretariat's digest."""

    tender: str
    title: str
    state: str
    due: date
    days: int
    municipalities: tuple[str, ...]


_DIGEST = {
    "da": ("Oversigt {day}: {n} forsinkede trin i netværket", "Forsinket pr. {day}, efter kommune:",
           "dage over fristen", "frist", "Netværket (sekretariatet)"),
    "en": ("Digest {day}: {n} overdue steps across the network", "Overdue as of {day}, by municipality:",
           "days overdue", "due", "The network (secretariat)"),
}  # fmt: skip


def digest(rows: list[Late], day: date, names: dict[str, str], lang: str) -> tuple[str, str]:
    """The secretariat's digest: subject and body, grouped by municipality, most overdue first."""
    title, heading, late, due, network = _DIGEST[language(lang)]
    lines = [heading.format(day=day.isoformat()), ""]
    groups: dict[str, list[Late]] = {}
    for row in rows:
        for code in row.municipalities or ("",):
            groups.setdefault(code, []).append(row)
    for code in sorted(groups, key=lambda c: (c == "", names.get(c, c))):
        lines.append(f"{names.get(code, code)} ({code})" if code else network)
        for r in sorted(groups[code], key=lambda r: (-r.days, r.tender)):
            lines.append(
                f"  {r.tender:<13} {r.state:<16} {due} {r.due.isoformat()}  {r.days:>3} {late}"
                f"  – {r.title}"
            )
        lines.append("")
    return title.format(day=day.isoformat(), n=len(rows)), "\n".join(lines)

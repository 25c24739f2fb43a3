"""The texts of notifications: Danish by default, English on request. Pure: no I/O.

A subject says what and when; the plain-text body names the tender, the step, the due date and the
command that moves the tender on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

LANGUAGES = ("da", "en")

_SUBJECTS = {
    ("reminder", "da"): "Påmindelse: {tender} «{label}» skal være klar senest {due}",
    ("reminder", "en"): "Reminder: {tender} '{label}' is due on {due}",
    ("overdue", "da"): "Overskredet: {tender} «{label}» skulle være klar {due}",
    ("overdue", "en"): "Overdue: {tender} '{label}' was due on {due}",
    ("escalation", "da"): "Eskalering: {tender} «{label}» er {late} over fristen {due}",
    ("escalation", "en"): "Escalation: {tender} '{label}' is {late} past its due date {due}",
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


_DAYS = {"da": ("dag", "dage"), "en": ("day", "days")}


def language(value: str | None) -> str:
    """A supported language code, Danish unless English is asked for."""
    return "en" if (value or "").lower().startswith("en") else "da"


def counted(n: int, forms: tuple[str, str], width: int = 0) -> str:
    """`n` (right-aligned in `width`) with the singular or plural of its noun: "1 dag", "2 dage"."""
    return f"{n:>{width}} {forms[0] if n == 1 else forms[1]}"


def subject(kind: str, about: About, lang: str, days: int = 0) -> str:
    """The subject line of a reminder, overdue notice or escalation."""
    lang = language(lang)
    late = counted(days, _DAYS[lang])
    return _SUBJECTS[(kind, lang)].format(
        tender=about.tender, label=about.label, due=about.due, late=late
    )


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
    "da": ("Oversigt {day}: {steps} i netværket", ("forsinket trin", "forsinkede trin"),
           "Forsinket pr. {day}, efter kommune:", ("dag over fristen", "dage over fristen"), "frist",
           "Netværket (sekretariatet)"),
    "en": ("Digest {day}: {steps} across the network", ("overdue step", "overdue steps"),
           "Overdue as of {day}, by municipality:", ("day overdue", "days overdue"), "due",
           "The network (secretariat)"),
}  # fmt: skip
_INFEASIBLE = {
    "da": (", {n} kan ikke nås", "Kan ikke længere nås til fristen (nyt siden sidste oversigt):",
           "tidligst"),
    "en": (", {n} infeasible", "Can no longer be met by the due date (new since the last digest):",
           "earliest"),
}  # fmt: skip


@dataclass(frozen=True)
class Infeasible:
    """A step `kflow plan` finds cannot be completed by its due date, in the digest."""

    tender: str
    title: str
    state: str
    due: date
    earliest: date


def digest(
    rows: list[Late],
    day: date,
    names: dict[str, str],
    lang: str,
    infeasible: Sequence[Infeasible] = (),
) -> tuple[str, str]:
    """The secretariat's digest: subject and body, grouped by municipality, most overdue first,
    then a line for each step newly found infeasible."""
    title, steps, heading, late, due, network = _DIGEST[language(lang)]
    lines = [heading.format(day=day.isoformat()), ""] if rows else []
    groups: dict[str, list[Late]] = {}
    for row in rows:
        for code in row.municipalities or ("",):
            groups.setdefault(code, []).append(row)
    for code in sorted(groups, key=lambda c: (c == "", names.get(c, c))):
        lines.append(f"{names.get(code, code)} ({code})" if code else network)
        for r in sorted(groups[code], key=lambda r: (-r.days, natural(r.tender))):
            lines.append(
                f"  {r.tender:<13} {r.state:<16} {due} {r.due.isoformat()}  "
                f"{counted(r.days, late, 3)}  – {r.title}"
            )
        lines.append("")
    subject = title.format(day=day.isoformat(), steps=counted(len(rows), steps))
    if infeasible:
        more, heading_new, earliest = _INFEASIBLE[language(lang)]
        subject += more.format(n=len(infeasible))
        lines += [heading_new, ""]
        for i in sorted(infeasible, key=lambda i: (natural(i.tender), i.due)):
            lines.append(
                f"  {i.tender:<13} {i.state:<16} {due} {i.due.isoformat()}  "
                f"{earliest} {i.earliest.isoformat()}  – {i.title}"
            )
        lines.append("")
    return subject, "\n".join(lines)


def natural(text: str) -> tuple[str | int, ...]:
    """A sort key that orders the numbers in ids by value: X-8 before X-10, X-10 before X-10a."""
    parts = re.split(r"(\d+)", text)  # text, number, text, …: the same kind at the same place
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


_BUNDLE = {
    "da": ("{notices} fra konkurrence-flow", ("meddelelse", "meddelelser"), "Du har {notices}:"),
    "en": ("{notices} from konkurrence-flow", ("notice", "notices"), "You have {notices}:"),
}


def bundle(subjects: Sequence[str], bodies: Sequence[str], lang: str) -> tuple[str, str]:
    """One mail for several notices to one person: a numbered list of them, then each in full."""
    title, noun, heading = _BUNDLE[language(lang)]
    notices = counted(len(subjects), noun)
    lines = [heading.format(notices=notices), ""]
    lines += [f"  {i}. {line}" for i, line in enumerate(subjects, 1)]
    for i, text in enumerate(bodies, 1):
        lines += ["", f"—— {i}/{len(bodies)} ——", "", text.rstrip("\n")]
    return title.format(notices=notices), "\n".join(lines) + "\n"


_ATOM = re.compile(r"[A-Za-z0-9_-]")
MAX_ID = 120
"""The longest left part of a Message-ID built from a key; a longer one is a digest."""


def message_id(keys: Sequence[str], domain: str = "konkurrence-flow") -> str:
    """A stable, valid `<left@domain>` for a mail with these dedupe keys (RFC 5322 msg-id).

    One key is kept readable: letters, digits, '-' and '_' stay, every other character becomes
    `=XX` per UTF-8 byte ('=' is allowed in an atom, '@', ':' and '.' are not safe there). Several
    keys, or one too long, give a SHA-256 digest of the sorted keys instead.
    """
    left = _encoded(keys[0]) if len(keys) == 1 else ""
    if not left or len(left) > MAX_ID:
        joined = "\n".join(sorted(keys)).encode("utf-8")
        left = "kflow-" + hashlib.sha256(joined).hexdigest()[:40]
    return f"<{left}@{domain}>"


def _encoded(key: str) -> str:
    return "".join(
        c if _ATOM.fullmatch(c) else "".join(f"={b:02X}" for b in c.encode("utf-8")) for c in key
    )

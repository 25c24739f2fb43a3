"""The texts of notifications: grammar in both languages, the digest's order, the mail's ids."""

from __future__ import annotations

import re
from datetime import date

import pytest

from konkurrence_flow import messages
from konkurrence_flow.messages import About, Late

DAY = date(2007, 10, 14)
NAMES = {"751": "Aarhus", "461": "Odense"}
ABOUT = About("AAR-SUND-01", "Sundhed", "scoping", "Behovsafdækning", date(2007, 9, 30), ("751",),
              ("approve_scope",))  # fmt: skip
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
MSG_ID = re.compile(rf"^<{ATEXT}(\.{ATEXT})*@{ATEXT}(\.{ATEXT})*>$")


def late(tender: str, days: int = 3) -> Late:
    return Late(tender, f"Udbud {tender}", "scoping", date(2007, 9, 30), days, ("751",))


@pytest.mark.parametrize(
    ("n", "lang", "expected"),
    [
        (1, "da", "Oversigt 2007-10-14: 1 forsinket trin i netværket"),
        (2, "da", "Oversigt 2007-10-14: 2 forsinkede trin i netværket"),
        (1, "en", "Digest 2007-10-14: 1 overdue step across the network"),
        (2, "en", "Digest 2007-10-14: 2 overdue steps across the network"),
    ],
)
def test_the_digest_subject_agrees_with_its_number(n: int, lang: str, expected: str) -> None:
    """One late step is singular ("1 forsinket trin"), more are plural ("2 forsinkede trin")."""
    rows = [late(f"X-{i}") for i in range(n)]
    assert messages.digest(rows, DAY, NAMES, lang)[0] == expected


def test_one_day_is_singular_in_the_digest_and_the_escalation() -> None:
    """One day is "1 dag over fristen" and "1 day overdue"; two are "2 dage", "2 days"."""
    _, body = messages.digest([late("X-1", days=1), late("X-2", days=2)], DAY, NAMES, "da")
    assert "  1 dag over fristen" in body and "  2 dage over fristen" in body
    _, body = messages.digest([late("X-1", days=1), late("X-2", days=2)], DAY, NAMES, "en")
    assert "  1 day overdue" in body and "  2 days overdue" in body
    assert "er 1 dag over fristen" in messages.subject("escalation", ABOUT, "da", days=1)
    assert "is 1 day past" in messages.subject("escalation", ABOUT, "en", days=1)
    assert "er 14 dage over fristen" in messages.subject("escalation", ABOUT, "da", days=14)


def test_the_digest_sorts_tender_ids_naturally() -> None:
    """Equally late: X-8 before X-10 (by number, not by character), X-10 before X-10a."""
    rows = [late("X-10a"), late("X-10"), late("X-8"), late("W-99")]
    _, body = messages.digest(rows, DAY, NAMES, "da")
    positions = [body.index(f"  {tender} ") for tender in ("W-99", "X-8", "X-10", "X-10a")]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    "key",
    [
        "reminder:ODE-BESK-01:1:P14D@2007-09-30:ole",
        "digest:forum 2007/08:2007-10-14:kl.sek",
        "overdue:X..1:2:first-day@2007-09-30:søren <s@x>",
        "signoff:" + "A" * 400 + ":1:approve:ole",
    ],
)
def test_a_message_id_is_valid_for_any_key(key: str) -> None:
    """`<…@…>` of atoms only (one '@', no empty or trailing dots), stable, distinct per key."""
    message_id = messages.message_id([key])
    assert MSG_ID.match(message_id) and len(message_id) < 200
    assert messages.message_id([key]) == message_id
    assert messages.message_id([key + "x"]) != message_id


def test_several_notices_to_one_person_read_as_one_text_in_their_language() -> None:
    """A numbered list of the subjects, then each notice in full; "1 meddelelse" is singular."""
    subject, body = messages.bundle(["Påmindelse: A", "Overskredet: B"], ["A\n", "B\n"], "da")
    assert subject == "2 meddelelser fra konkurrence-flow"
    assert body.startswith("Du har 2 meddelelser:\n\n  1. Påmindelse: A\n  2. Overskredet: B\n")
    assert body.index("—— 1/2 ——\n\nA\n") < body.index("—— 2/2 ——\n\nB\n")
    assert messages.bundle(["Reminder: A"], ["A\n"], "en")[0] == "1 notice from konkurrence-flow"

"""The shipped 2007–2008 programme: its timeline, joint tenders and sign-offs, effects."""

from __future__ import annotations

import pytest
from support import DEFINITIONS, ROOT, at

from konkurrence_flow.definitions import validate_paths
from konkurrence_flow.errors import NotAllowed
from konkurrence_flow.programme import load_programme
from konkurrence_flow.reports import effects, overdue, tender_json
from konkurrence_flow.store import Store

FORUM = load_programme(ROOT / "workflows" / "forum-2007-2008.yaml")


@pytest.fixture
def forum() -> Store:
    """An in-memory store with the shipped definitions and programme, loaded 2007-06-01."""
    store = Store("sqlite://")
    store.init("kl-sek")
    definitions, problems = validate_paths([DEFINITIONS])
    assert problems == []
    for definition in definitions:
        store.load_definition(definition, at("2007-04-01"))
    store.load_programme(FORUM, at("2007-06-01"))
    return store


def test_the_programme_carries_the_seeds_dates() -> None:
    """Interest by 2007-05-25, forum 1 on 2007-06-22, quarter ends; undated forums are planned."""
    m = FORUM.milestones
    assert (m["interest-deadline"].date.isoformat(), m["forum-1"].date.isoformat()) == (
        "2007-05-25", "2007-06-22",
    )  # fmt: skip
    assert not m["forum-1"].planned and m["forum-2"].planned and m["forum-6"].planned
    assert [m[n].date.isoformat() for n in ("areas-decided", "strategy-adopted", "tenders-launched",
                                            "tenders-concluded", "results-collected")] == [
        "2007-09-30", "2007-12-31", "2008-03-31", "2008-06-30", "2008-09-30",
    ]  # fmt: skip


def test_with_nobody_acting_every_scoping_and_mapping_step_is_overdue_on_1_october(
    forum: Store,
) -> None:
    """On 2007-09-30 no tender or strategy track is overdue; on 2007-10-01 all of them are."""
    tracks = {t.id for t in forum.tenders() if t.state in ("scoping", "mapping")}
    tenders = {t for t in tracks if not t.startswith("STRAT-")}
    assert len(tenders) == 10 and len(tracks - tenders) == 8
    assert {r["tender"] for r in overdue(forum, at("2007-09-30T23:59"))} & tracks == set()
    late = {r["tender"]: r for r in overdue(forum, at("2007-10-01"))}
    assert tracks <= set(late)
    assert {late[t]["days_overdue"] for t in tracks} == {1}


def test_a_joint_tender_is_published_only_after_every_participant_signed(forum: Store) -> None:
    """FAE-SUND-01 (147, 157, 265): sign-offs one by one, listed on the tender, then publish."""
    people = {p.id: p for p in forum.people()}
    forum.advance("FAE-SUND-01", "approve_scope", people["mette"], at("2007-09-24"))
    forum.advance("FAE-SUND-01", "approve_materials", people["mette"], at("2008-01-21"))
    with pytest.raises(NotAllowed, match=r"'publish' is not allowed there \(allowed: "
                       r"approve_materials, cancel\)"):  # fmt: skip
        forum.advance("FAE-SUND-01", "publish", people["mette"], at("2008-01-22"))
    with pytest.raises(NotAllowed, match=r"anna is project leader for municipality 751; "
                       r"tender FAE-SUND-01 belongs to 147, 157, 265"):  # fmt: skip
        forum.advance("FAE-SUND-01", "approve_materials", people["anna"], at("2008-01-22"))
    forum.advance("FAE-SUND-01", "approve_materials", people["peter"], at("2008-01-23"))
    shown = tender_json(
        forum.tender("FAE-SUND-01"), forum.definition("joint-tender"), at("2008-01-24")
    )
    assert shown["state"] == "materials" and shown["signoffs"] == {
        "approve_materials": ["147", "157"]
    }
    forum.advance("FAE-SUND-01", "approve_materials", people["hanne"], at("2008-01-25"))
    assert forum.tender("FAE-SUND-01").state == "approved"
    forum.advance("FAE-SUND-01", "publish", people["mette"], at("2008-01-29"))
    assert forum.tender("FAE-SUND-01").timer_at == at("2008-03-26")  # Good Friday + Easter Monday
    signoffs = [e.data for e in forum.history("FAE-SUND-01") if e.trigger == "approve_materials"]
    assert [d["signoff"] for d in signoffs] == ["147", "157", "265"]
    assert [d["pending"] for d in signoffs] == [["157", "265"], ["265"], []]


def test_effects_report_savings_and_estimated_iku(forum: Store) -> None:
    """Savings per tender/area/municipality; a joint tender's value is shared among its members."""
    people = {p.id: p for p in forum.people()}
    facts = {"winner": "Falck", "contract_value": 4_100_000, "baseline_cost": 4_800_000}
    forum.set_facts("AAR-SUND-01", facts, people["anna"], at("2008-04-01"))
    joint = {"winner": "Coloplast", "contract_value": 5_400_000, "baseline_cost": 6_300_000}
    forum.set_facts("FAE-SUND-01", joint, people["mette"], at("2008-04-01"))
    forum.advance("VEJ-SUND-01", "cancel", people["karen"], at("2008-04-01"), note="Ingen bud",
                  facts={"contract_value": 1})  # fmt: skip
    report = effects(forum)
    rows = {r["tender"]: r for r in report["tenders"]}
    assert set(rows) == {"AAR-SUND-01", "FAE-SUND-01"}  # the cancelled tender does not count
    assert (rows["AAR-SUND-01"]["saving"], rows["AAR-SUND-01"]["saving_percent"]) == (700_000, 14.6)
    (health,) = report["areas"]
    assert (health["area"], health["saving"], health["saving_percent"]) == (
        "sundhed",
        1_600_000,
        14.4,
    )  # of 11.1 M
    by_code = {m["code"]: m for m in report["municipalities"]}
    assert by_code["147"]["contract_value"] == 1_800_000  # a third of the joint tender
    assert by_code["751"]["iku_before"] == 20.19  # 1,050,000,000 / 5,200,000,000
    assert by_code["751"]["iku_after"] == round(100 * 1_054_100_000 / 5_200_000_000, 2)
    assert by_code["751"]["iku_gap"] == round(25 - 100 * 1_054_100_000 / 5_200_000_000, 2)
    assert report["network"]["saving"] == 1_600_000 and report["target_percent"] == 25.0


def test_a_sign_off_asks_the_other_participants_for_theirs_once(forum: Store) -> None:
    """The first sign-off queues a request to each pending leader; later ones add nothing new."""
    people = {p.id: p for p in forum.people()}
    forum.advance("FAE-BESK-01", "approve_scope", people["anna"], at("2007-09-24"))
    forum.advance("FAE-BESK-01", "approve_materials", people["ole"], at("2008-02-07"))
    asked = [n for n in forum.notifications() if n.kind == "signoff"]
    assert sorted(n.recipient for n in asked) == ["anna", "soeren"]
    mail = next(n for n in asked if n.recipient == "soeren")
    assert mail.subject == (
        "Godkendelse: FAE-BESK-01 «Udarbejdelse af fælles udbudsmateriale» venter på jeres godkendelse"
    )
    assert "kflow advance FAE-BESK-01 approve_materials" in mail.body
    forum.advance("FAE-BESK-01", "approve_materials", people["anna"], at("2008-02-08"))
    assert len([n for n in forum.notifications() if n.kind == "signoff"]) == 2

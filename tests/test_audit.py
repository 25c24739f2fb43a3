"""The tamper-evident history: hash chains per tender, the store-wide digest, `kflow audit`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from support import at, pilot_store

from konkurrence_flow import chain
from konkurrence_flow.audit import checkpoints, take_head, verify
from konkurrence_flow.chain import GENESIS, Content, Link, Recorded
from konkurrence_flow.errors import InvalidInput, NotFound
from konkurrence_flow.scheduler import tick
from konkurrence_flow.store import Store

TENDER = "AAR-SUND-01"


@pytest.fixture
def busy(tmp_path) -> Store:  # type: ignore[no-untyped-def]
    """The pilot programme a year on: timers fired, steps flagged, acts by people."""
    store = pilot_store(f"sqlite:///{tmp_path / 'audit.db'}")
    tick(store, at("2007-10-01"))
    sek = store.person("kl-sek")
    store.advance(TENDER, "approve_scope", sek, at("2007-10-02"), note="Besluttet i byrådet")
    store.set_facts(
        TENDER, {"baseline_cost": 4_500_000, "winner": "Ærø Pleje"}, sek, at("2007-10-03")
    )
    tick(store, at("2008-06-01"))
    return store


def sql(store: Store, statement: str, **params: object) -> None:
    """Change rows behind the store's back, as someone with the database file would."""
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def first_break(store: Store) -> chain.Break:
    report = verify(store)
    assert not report.ok and len(report.breaks) == 1, report.breaks
    return report.breaks[0]


def test_an_untouched_store_verifies(busy: Store) -> None:
    """Every event written by the store chains onto the one before it."""
    report = verify(busy)
    assert report.ok and report.breaks == []
    assert report.tenders == busy.count_tenders() == 4
    assert report.events == sum(len(busy.history(t.id)) for t in busy.tenders()) > 8


def test_each_event_chains_onto_the_previous_one(busy: Store) -> None:
    """The hash of event n is over its content and the hash of event n-1; the first uses GENESIS."""
    events = busy.history(TENDER)
    with busy.engine.connect() as conn:
        prevs = conn.execute(
            text("SELECT prev_hash FROM event WHERE tender_id = :t ORDER BY seq"), {"t": TENDER}
        ).scalars().all()  # fmt: skip
    assert prevs == [GENESIS] + [e.hash for e in events[:-1]]
    assert busy.tender(TENDER).head == events[-1].hash


def test_an_edited_note_is_reported_as_changed(busy: Store) -> None:
    sql(busy, "UPDATE event SET note = 'Ikke besluttet' WHERE tender_id = :t AND seq = 2", t=TENDER)
    found = first_break(busy)
    assert (found.tender, found.seq, found.what) == (TENDER, 2, "changed")
    assert "no longer matches its hash" in str(found)


def test_an_edited_occurred_at_is_reported_as_changed(busy: Store) -> None:
    sql(busy, "UPDATE event SET occurred_at = '2007-09-01 00:00:00.000000' "
              "WHERE tender_id = :t AND seq = 3", t=TENDER)  # fmt: skip
    found = first_break(busy)
    assert (found.tender, found.seq, found.what) == (TENDER, 3, "changed")


def test_edited_facts_in_an_event_are_reported_as_changed(busy: Store) -> None:
    seq = next(e.seq for e in busy.history(TENDER) if "set" in e.data)
    sql(busy, "UPDATE event SET data = :d WHERE tender_id = :t AND seq = :s",
        d=json.dumps({"set": {"baseline_cost": 1}}), t=TENDER, s=seq)  # fmt: skip
    assert (first_break(busy).seq, first_break(busy).what) == (seq, "changed")


def test_a_deleted_event_is_reported_as_removed(busy: Store) -> None:
    sql(busy, "DELETE FROM event WHERE tender_id = :t AND seq = 2", t=TENDER)
    found = first_break(busy)
    assert (found.tender, found.seq, found.what) == (TENDER, 2, "removed")
    assert "event 2 is missing" in found.detail


def test_a_deleted_last_event_is_reported_as_removed(busy: Store) -> None:
    last = busy.tender(TENDER).seq
    sql(busy, "DELETE FROM event WHERE tender_id = :t AND seq = :s", t=TENDER, s=last)
    found = first_break(busy)
    assert (found.seq, found.what) == (last, "removed")


def test_a_deleted_last_event_with_the_tender_row_set_back_is_still_removed(busy: Store) -> None:
    last = busy.tender(TENDER).seq
    sql(busy, "DELETE FROM event WHERE tender_id = :t AND seq = :s", t=TENDER, s=last)
    sql(busy, "UPDATE tender SET seq = :s WHERE id = :t", t=TENDER, s=last - 1)
    found = first_break(busy)
    assert (found.seq, found.what) == (last, "removed")


def test_a_deleted_event_with_the_rest_renumbered_is_reported_as_removed(busy: Store) -> None:
    last = busy.tender(TENDER).seq
    sql(busy, "DELETE FROM event WHERE tender_id = :t AND seq = 2", t=TENDER)
    for seq in range(3, last + 1):
        sql(busy, "UPDATE event SET seq = :n WHERE tender_id = :t AND seq = :s",
            t=TENDER, s=seq, n=seq - 1)  # fmt: skip
    sql(busy, "UPDATE tender SET seq = :s WHERE id = :t", t=TENDER, s=last - 1)
    found = first_break(busy)
    assert (found.seq, found.what) == (2, "removed")


def test_swapped_seqs_are_reported_as_reordered(busy: Store) -> None:
    sql(busy, "UPDATE event SET seq = -1 WHERE tender_id = :t AND seq = 2", t=TENDER)
    sql(busy, "UPDATE event SET seq = 2 WHERE tender_id = :t AND seq = 3", t=TENDER)
    sql(busy, "UPDATE event SET seq = 3 WHERE tender_id = :t AND seq = -1", t=TENDER)
    found = first_break(busy)
    assert (found.tender, found.seq, found.what) == (TENDER, 2, "reordered")


def test_an_inserted_event_is_reported_as_added(busy: Store) -> None:
    seq = busy.tender(TENDER).seq + 1
    sql(busy, "INSERT INTO event (tender_id, seq, kind, actor, occurred_at, recorded_at, data, "
              "prev_hash, hash) VALUES (:t, :s, 'human', 'anna', '2008-06-01 00:00:00.000000', "
              "'2008-06-01 00:00:00.000000', '{}', :h, :h)", t=TENDER, s=seq, h="1" * 64)  # fmt: skip
    found = first_break(busy)
    assert (found.seq, found.what) == (seq, "added")


def test_a_writer_that_does_not_hash_cannot_add_an_event(busy: Store) -> None:
    """Say a kflow v0.1.0 still runs against the upgraded store: its events have no hash."""
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="NOT NULL"):
        sql(busy, "INSERT INTO event (tender_id, seq, kind, actor, occurred_at, recorded_at, data) "
                  "VALUES (:t, 99, 'human', 'anna', '2008-06-01 00:00:00.000000', "
                  "'2008-06-01 00:00:00.000000', '{}')", t=TENDER)  # fmt: skip
    assert verify(busy).ok


def test_a_mangled_row_is_reported_not_a_crash(busy: Store) -> None:
    """Rows no event can hold (broken JSON, a time that is no time) are changed events."""
    sql(busy, "UPDATE event SET data = '{bad' WHERE tender_id = :t AND seq = 2", t=TENDER)
    sql(busy, "UPDATE event SET occurred_at = 'yesterday' WHERE tender_id = 'AAR-BESK-01' "
              "AND seq = 1")  # fmt: skip
    sql(busy, "UPDATE event SET actor = X'616e6e61' WHERE tender_id = 'ODE-BESK-01' AND seq = 1")
    report = verify(busy)
    assert [(b.tender, b.seq, b.what) for b in report.breaks] == [
        ("AAR-BESK-01", 1, "changed"), (TENDER, 2, "changed"), ("ODE-BESK-01", 1, "changed"),
    ]  # fmt: skip
    assert all("cannot be read" in b.detail for b in report.breaks)


def test_a_tender_row_set_to_another_state_is_reported(busy: Store) -> None:
    sql(busy, "UPDATE tender SET state = 'done' WHERE id = :t", t=TENDER)
    found = first_break(busy)
    assert found.what == "changed" and "the tender is in 'done', but its last event" in found.detail


def test_an_edited_fact_in_the_tender_row_is_reported_at_the_event_that_set_it(
    busy: Store,
) -> None:
    """Reports read the tender row's facts (the effects, IKU): a fact edited there, with the
    events left alone, is named with the event that recorded its true value."""
    sql(busy, "UPDATE tender SET facts = json_set(facts, '$.baseline_cost', 9000000) WHERE id = :t",
        t=TENDER)  # fmt: skip
    found = first_break(busy)
    set_at = next(e.seq for e in busy.history(TENDER) if "set" in e.data and e.actor == "kl-sek")
    assert (found.tender, found.seq, found.what) == (TENDER, set_at, "changed")
    assert found.detail == (f"the tender row says fact baseline_cost is 9000000, but event "
                            f"{set_at} recorded 4500000")  # fmt: skip


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("UPDATE tender SET facts = json_remove(facts, '$.winner')", "fact winner is '(none)'"),
        ("UPDATE tender SET facts = json_set(facts, '$.bidders', 3)", "a fact no event recorded"),
        ("UPDATE tender SET title = 'Andet'", "title is 'Andet'"),
        ("UPDATE tender SET leader = 'ole'", "leader is 'ole'"),
        ("UPDATE tender SET regime = 'dk-national'", "regime is 'dk-national'"),
        ("UPDATE tender_municipality SET municipality = '461'", "municipalities is ['461']"),
    ],
)
def test_a_tender_row_edited_behind_the_store_is_reported(
    busy: Store, change: str, said: str
) -> None:
    """The creation event records the tender as created (title, municipalities, leader, regime,
    ...); a row that no longer says what its events recorded is reported, the history intact."""
    sql(busy, f"{change} WHERE {'tender_id' if 'municipality' in change else 'id'} = :t", t=TENDER)
    found = first_break(busy)
    assert found.tender == TENDER and said in found.detail, found


def test_a_tender_created_before_its_creation_was_recorded_is_still_checked_on_later_facts(
    busy: Store,
) -> None:
    """Tenders created by an older kflow have a creation event without the tender in it: their
    first facts cannot be checked, the facts events recorded later still are."""
    created = busy.history(TENDER)[0].data
    assert created["tender"]["municipalities"] == ["751"]
    rewrite(busy, TENDER, created={k: v for k, v in created.items() if k != "tender"})
    assert verify(busy).ok
    sql(busy, "UPDATE tender SET title = 'Andet', facts = json_set(facts, '$.bidders', 3) "
        "WHERE id = :t", t=TENDER)  # fmt: skip
    assert verify(busy).ok  # nothing recorded to hold them against
    sql(busy, "UPDATE tender SET facts = json_set(facts, '$.winner', 'X') WHERE id = :t", t=TENDER)
    assert "fact winner is 'X'" in first_break(busy).detail


def test_a_deleted_tender_row_is_reported_as_removed(busy: Store) -> None:
    with busy.engine.connect() as conn:  # one connection: the pragma is the connection's own
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for table, column in (("tender_municipality", "tender_id"), ("step", "tender_id"),
                              ("tender", "id")):  # fmt: skip
            conn.execute(text(f"DELETE FROM {table} WHERE {column} = :t"), {"t": TENDER})
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    found = first_break(busy)
    assert (found.tender, found.what, found.detail) == (TENDER, "removed", "the tender row is gone")


def test_a_whole_history_deleted_is_reported(busy: Store) -> None:
    sql(busy, "DELETE FROM event WHERE tender_id = :t", t=TENDER)
    found = first_break(busy)
    assert (found.tender, found.seq, found.what) == (TENDER, 1, "removed")


def rewrite(
    store: Store, tender_id: str, note: str | None = None, created: dict[str, Any] | None = None
) -> None:
    """A careful forger: change the second event's note (or the creation event's data), then
    recompute every hash after it and the tender's head."""
    events = store.history(tender_id)
    prev = GENESIS
    for event in events:
        text_ = note if event.seq == 2 and note is not None else event.note
        data = created if event.seq == 1 and created is not None else dict(event.data)
        content = Content(
            tender_id, event.seq, event.kind, event.trigger, event.source, event.dest,
            event.actor, event.occurred_at, event.recorded_at, text_, data,
        )  # fmt: skip
        digest = chain.event_hash(prev, content)
        sql(store, "UPDATE event SET note = :n, data = :d, prev_hash = :p, hash = :h "
                   "WHERE tender_id = :t AND seq = :s",
            n=text_, d=json.dumps(data), p=prev, h=digest, t=tender_id, s=event.seq)  # fmt: skip
        prev = digest
    sql(store, "UPDATE tender SET chain_head = :h WHERE id = :t", h=prev, t=tender_id)


def test_a_rewritten_chain_passes_alone_but_not_against_the_digest(busy: Store) -> None:
    """Recomputing every hash fools the chains; the digest kept outside the store catches it."""
    digest = take_head(busy, at("2008-06-01")).digest
    assert verify(busy, head=digest).ok
    rewrite(busy, TENDER, "Ikke besluttet")
    assert verify(busy).ok  # the chains hold: only the digest can tell
    report = verify(busy, head=digest)
    assert not report.ok and report.breaks == []
    assert report.head is not None and report.head.intact
    assert report.head.changed == [
        f"tender {TENDER}: event {busy.tender(TENDER).seq} is not the one the digest covers: "
        "rewritten"
    ]


def test_a_digest_still_holds_after_new_history_is_recorded(busy: Store) -> None:
    """Acts after a checkpoint extend the chains; the older digest still proves its part."""
    digest = take_head(busy, at("2008-06-01")).digest
    tick(busy, at("2008-12-01"))
    busy.set_facts(TENDER, {"note_count": 2}, busy.person("kl-sek"), at("2008-12-02"))
    assert take_head(busy, at("2008-12-02")).digest != digest
    assert verify(busy, head=digest).ok
    assert next(c.digest for c in checkpoints(busy)) == digest


def test_taking_the_same_digest_twice_records_one_checkpoint(busy: Store) -> None:
    first = take_head(busy, at("2008-06-01"))
    again = take_head(busy, at("2008-06-02"))
    assert again == first and len(checkpoints(busy)) == 1
    assert (first.tenders, first.events) == (4, verify(busy).events)


def test_an_unknown_digest_is_not_proof(busy: Store) -> None:
    report = verify(busy, head="ab" * 32)
    assert not report.ok and report.head is not None and report.head.checkpoint is None


def test_an_edited_checkpoint_is_not_proof(busy: Store) -> None:
    """Someone shortens the checkpoint's heads to match a shortened history: the digest differs."""
    digest = take_head(busy, at("2008-06-01")).digest
    sql(busy, "UPDATE audit_checkpoint SET heads = '{}'")
    report = verify(busy, head=digest)
    assert not report.ok and report.head is not None and not report.head.intact


def test_no_digest_vouches_for_a_broken_history(busy: Store) -> None:
    from konkurrence_flow.errors import NotAllowed

    sql(busy, "UPDATE event SET note = 'x' WHERE tender_id = :t AND seq = 2", t=TENDER)
    with pytest.raises(NotAllowed, match="the history of 1 tenders is already broken"):
        take_head(busy, at("2008-06-01"))
    assert checkpoints(busy) == []


def test_a_removed_checkpoint_is_not_proof(busy: Store) -> None:
    digest = take_head(busy, at("2008-06-01")).digest
    sql(busy, "DELETE FROM audit_checkpoint")
    assert not verify(busy, head=digest).ok


def test_a_checkpoint_with_edited_seqs_does_not_prove_a_shortened_history(busy: Store) -> None:
    digest = take_head(busy, at("2008-06-01")).digest
    last = busy.tender(TENDER).seq
    sql(busy, "DELETE FROM event WHERE tender_id = :t AND seq = :s", t=TENDER, s=last)
    sql(busy, "UPDATE tender SET seq = :s WHERE id = :t", t=TENDER, s=last - 1)
    assert not verify(busy, head=digest).ok


def test_only_the_named_tenders_are_verified(busy: Store) -> None:
    sql(busy, "UPDATE event SET note = 'x' WHERE tender_id = 'AAR-BESK-01' AND seq = 1")
    assert verify(busy, [TENDER]).ok and verify(busy, [TENDER]).tenders == 1
    assert not verify(busy, ["AAR-BESK-01"]).ok


def test_an_unknown_tender_is_refused_with_a_hint(busy: Store) -> None:
    with pytest.raises(NotFound, match="unknown tender 'AAR-SUND-1'; did you mean AAR-SUND-01"):
        verify(busy, ["AAR-SUND-1"])
    with pytest.raises(InvalidInput, match="--head checks the whole store"):
        verify(busy, [TENDER], head="ab" * 32)


def test_chains_hold_on_both_stores(any_store: Store) -> None:
    """The contract on SQLite and PostgreSQL: what one writes, the same code verifies."""
    from support import ANNA

    from konkurrence_flow.store import NewTender

    created = any_store.create_tender(
        NewTender("individual-tender", "Madservice æøå", ("751",), id="AAR-MAD-01"),
        ANNA, at("2007-07-01"),
    )  # fmt: skip
    any_store.set_facts(created.id, {"baseline_cost": 1.5, "winner": "Ja"}, ANNA, at("2007-07-02"))
    any_store.advance(created.id, "approve_scope", ANNA, at("2007-09-20"), note="Besluttet")
    digest = take_head(any_store, at("2007-09-21")).digest
    assert verify(any_store, head=digest).ok
    sql(any_store, "UPDATE event SET actor = 'ole' WHERE tender_id = 'AAR-MAD-01' AND seq = 3")
    assert [(b.seq, b.what) for b in verify(any_store).breaks] == [(3, "changed")]


# -- the pure chain, under every kind of tampering ------------------------------------------------

BASE = at("2007-07-01")


def links(n: int) -> list[Link]:
    """A valid chain of n events of one tender."""
    made, prev = [], GENESIS
    for seq in range(1, n + 1):
        content = Content("T-1", seq, "human", f"go_{seq}", "a", "b", "anna",
                          BASE + timedelta(days=seq), BASE + timedelta(days=seq, hours=1),
                          f"note {seq}", {"n": seq, "text": "ærø"})  # fmt: skip
        digest = chain.event_hash(prev, content)
        made.append(Link(seq, content, prev, digest))
        prev = digest
    return made


def renumbered(items: list[Link], start: int) -> list[Link]:
    return [
        replace(x, seq=i, content=replace(x.content, seq=i)) for i, x in enumerate(items, start)
    ]


def recorded(items: list[Link], seq: int | None = None) -> Recorded:
    """What a tender row of the untouched chain says."""
    return Recorded(len(items) if seq is None else seq, items[-1].hash, "b")


Tamper = Callable[[list[Link], int], list[Link]]
TAMPERING: dict[str, tuple[Tamper, str]] = {
    "note": (
        lambda c, i: [*c[:i], replace(c[i], content=replace(c[i].content, note="x")), *c[i + 1 :]],
        "changed",
    ),
    "delete": (lambda c, i: c[:i] + c[i + 1 :], "removed"),
    "delete-renumber": (lambda c, i: c[:i] + renumbered(c[i + 1 :], i + 1), "removed"),
}


@given(n=st.integers(2, 30), data=st.data(), kind=st.sampled_from(sorted(TAMPERING)))
def test_any_single_tampering_is_found_at_its_event(n: int, data: st.DataObject, kind: str) -> None:
    """Whatever event is edited or removed, verify names it and what was done."""
    valid = links(n)
    assert chain.verify("T-1", valid, recorded(valid)) is None
    i = data.draw(st.integers(0, n - 1))
    tamper, what = TAMPERING[kind]
    found = chain.verify("T-1", tamper(valid, i), recorded(valid))
    assert found is not None and (found.seq, found.what) == (i + 1, what)


@given(n=st.integers(2, 30), data=st.data())
def test_any_forged_insertion_is_found_as_added(n: int, data: st.DataObject) -> None:
    """A forger who hashes an inserted event properly still breaks the events after it."""
    valid = links(n)
    i = data.draw(st.integers(1, n - 1))
    forged = Content("T-1", i + 1, "human", "forged", "a", "b", "anna", BASE, BASE, None, {})
    inserted = Link(
        i + 1, forged, valid[i - 1].hash, chain.event_hash(valid[i - 1].hash or "", forged)
    )
    tampered = [*valid[:i], inserted, *renumbered(valid[i:], i + 2)]
    found = chain.verify("T-1", tampered, recorded(valid, n + 1))
    assert found is not None and (found.seq, found.what) == (i + 1, "added")


@given(n=st.integers(3, 30), data=st.data())
def test_any_swap_is_found_as_reordered(n: int, data: st.DataObject) -> None:
    valid = links(n)
    i = data.draw(st.integers(0, n - 2))
    j = data.draw(st.integers(i + 1, n - 1))
    swapped = list(valid)
    swapped[i], swapped[j] = valid[j], valid[i]
    found = chain.verify("T-1", renumbered(swapped, 1), recorded(valid))
    assert found is not None and (found.seq, found.what) == (i + 1, "reordered")


def test_text_that_is_not_valid_unicode_still_hashes() -> None:
    """A lone surrogate (bytes that were not UTF-8 on a command line) cannot stop the chain."""
    content = replace(links(1)[0].content, note="Falck\udcff")
    assert len(chain.event_hash(GENESIS, content)) == 64


def test_a_database_collation_that_sorts_ids_otherwise_reports_no_false_break(
    postgres_url: str,
) -> None:
    """PostgreSQL with an ICU collation sorts 'aar-02' before 'AAR-BESK-01' (Python after):
    verify still pairs each tender with its own municipalities."""
    from sqlalchemy import create_engine
    from support import pilot_store

    from konkurrence_flow.store import NewTender

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS kflow_icu"))
        conn.execute(text("CREATE DATABASE kflow_icu TEMPLATE template0 LOCALE_PROVIDER icu "
                          "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"))  # fmt: skip
    try:
        store = pilot_store(postgres_url.rsplit("/", 1)[0] + "/kflow_icu")
        store.create_tender(NewTender("individual-tender", "T", ("751",), id="aar-02"),
                            store.person("kl-sek"), at("2007-07-01"))  # fmt: skip
        with store.engine.connect() as conn:  # the premise: the database sorts otherwise
            ids = conn.execute(text("SELECT id FROM tender ORDER BY id")).scalars().all()
        assert ids != sorted(ids)
        report = verify(store)
        assert report.ok and report.tenders == 5, report.breaks
        sql(store, "UPDATE tender_municipality SET municipality = '461' WHERE tender_id = 'aar-02'")
        assert "municipalities is ['461']" in first_break(store).detail
        store.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS kflow_icu WITH (FORCE)"))
        admin.dispose()


def test_first_facts_named_like_the_tenders_attributes_are_facts(busy: Store) -> None:
    """A programme's tender may carry a fact named `procedure`: at creation it is a fact, not a
    correction of the tender's own procedure (which `tender set` makes later)."""
    from support import ANNA

    from konkurrence_flow.store import NewTender

    spec = NewTender("individual-tender", "T", ("751",), id="AAR-FACT-01",
                     facts={"procedure": "open", "regime": "eu-2004-18"})  # fmt: skip
    busy.create_tender(spec, ANNA, at("2008-06-02"))
    assert busy.tender("AAR-FACT-01").procedure is None
    assert verify(busy).ok
    sql(busy, "UPDATE tender SET facts = json_set(facts, '$.procedure', 'restricted') "
        "WHERE id = 'AAR-FACT-01'")  # fmt: skip
    assert "fact procedure is 'restricted'" in first_break(busy).detail

"""Hypothesis stateful test: any sequence of triggers, actors and times keeps every tender sound."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from support import ANNA, DEFINITIONS, OLE, SEK, at

from konkurrence_flow.audit import verify
from konkurrence_flow.definitions import load_definition
from konkurrence_flow.errors import RunError
from konkurrence_flow.model import SYSTEM
from konkurrence_flow.store import NewTender, Store

DEFINITION = load_definition(DEFINITIONS / "individual-tender.yaml")
ACTORS = (ANNA, OLE, SEK, SYSTEM)
FACTS = st.dictionaries(
    st.sampled_from(["winner", "contract_value", "baseline_cost", "bidders"]),
    st.one_of(st.integers(0, 10**7), st.sampled_from(["Falck A/S", "Kommunen"])),
    max_size=2,
)


class TenderLife(RuleBasedStateMachine):
    """Tenders in an in-memory store, pushed around by anyone at any (forward-moving) time."""

    tenders = Bundle("tenders")

    def __init__(self) -> None:
        super().__init__()
        self.store = Store("sqlite://")
        self.store.init("kl-sek-os")
        for person in (ANNA, OLE, SEK):
            self.store.add_person(person)
        self.store.load_definition(DEFINITION, at("2007-04-01"))
        self.now = at("2007-07-01")
        self.count = 0

    @rule(target=tenders, municipalities=st.sampled_from([("751",), ("461",), ("751", "461")]))
    def create(self, municipalities: tuple[str, ...]) -> str:
        self.count += 1
        spec = NewTender("individual-tender", "T", municipalities, id=f"T-{self.count}")
        return self.store.create_tender(spec, SEK, self.now).id

    @rule(hours=st.integers(0, 24 * 60))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule(
        tender=tenders,
        trigger=st.sampled_from(DEFINITION.triggers()),
        actor=st.sampled_from(ACTORS),
        note=st.sampled_from([None, "", "Begrundelse"]),
        facts=FACTS,
        back=st.integers(0, 48),
    )
    def fire(
        self,
        tender: str,
        trigger: str,
        actor,
        note,
        facts,
        back: int,  # type: ignore[no-untyped-def]
    ) -> None:
        before = (self.store.tender(tender), self.store.history(tender), self.store.steps(tender))
        when = self.now - timedelta(hours=back)
        try:
            self.store.advance(tender, trigger, actor, self.now, at=when, note=note, facts=facts)
        except RunError:
            after = (
                self.store.tender(tender),
                self.store.history(tender),
                self.store.steps(tender),
            )
            assert after == before, "a refused act left a trace"

    @invariant()
    def every_tender_is_sound(self) -> None:
        for tender in self.store.tenders():
            assert tender.state in DEFINITION.states
            history = self.store.history(tender.id)
            assert [e.seq for e in history] == list(range(1, len(history) + 1))
            assert tender.seq == len(history)
            assert history[-1].dest == tender.state
            times = [e.occurred_at for e in history]
            assert times == sorted(times)
            steps = self.store.steps(tender.id)
            assert [s.left_at is None for s in steps].count(True) == 1
            assert steps[-1].state == tender.state and steps[-1].left_at is None
            assert len(steps) == tender.visit
        assert verify(self.store).ok, "every event written chains onto the one before it"


TenderLife.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_tender_life = TenderLife.TestCase

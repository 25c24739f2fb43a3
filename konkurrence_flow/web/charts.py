"""The dashboard's charts as geometry: where each bar, line and label goes. The templates draw it
as SVG on the server, so no chart library is loaded and a printed page shows what the screen
does. Pure: dates and figures in, positions out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..calendar import quarter_end, quarter_label, quarter_of, quarter_start
from ..dashboard import GanttRow

LABELS = 250.0
"""Width of the Gantt's label column, in SVG units."""
PLOT = 900.0
"""Width of the time axis, in SVG units."""
ROW = 30.0
TOP = 44.0


@dataclass(frozen=True)
class Scale:
    """Days to x: `start` at `x0`, `end` (inclusive) at `x0 + width`."""

    start: date
    end: date
    x0: float = LABELS
    width: float = PLOT

    def x(self, day: date) -> float:
        days = max(1, (self.end - self.start).days + 1)
        clamped = min(max(day, self.start), self.end + timedelta(days=1))
        return round(self.x0 + self.width * (clamped - self.start).days / days, 1)

    def quarters(self) -> list[Tick]:
        """A tick at each quarter's first day, labelled "Q3 2007", with the quarter's width."""
        ticks = []
        year, q = quarter_of(self.start)
        while quarter_start(year, q) <= self.end:
            first, last = quarter_start(year, q), quarter_end(year, q)
            left, right = self.x(first), self.x(last + timedelta(days=1))
            ticks.append(Tick(left, right - left, quarter_label(year, q)))
            year, q = (year + 1, 1) if q == 4 else (year, q + 1)
        return ticks


@dataclass(frozen=True)
class Tick:
    x: float
    width: float
    label: str


@dataclass(frozen=True)
class Bar:
    """A bar: `kind` is planned, actual, late or ahead (the CSS class); `title` its tooltip."""

    x: float
    y: float
    width: float
    height: float
    kind: str
    title: str


@dataclass(frozen=True)
class Marker:
    """A vertical line (a milestone, today) or a point (the earliest completion) at x."""

    x: float
    kind: str
    label: str
    y: float = 0.0


@dataclass(frozen=True)
class Lane:
    """A row's label: the tender's id (a link), its title, and its y."""

    y: float
    id: str
    text: str
    late: bool


@dataclass(frozen=True)
class Gantt:
    """The whole Gantt chart."""

    scale: Scale
    height: float
    ticks: list[Tick]
    lanes: list[Lane]
    bars: list[Bar]
    markers: list[Marker]
    today: float | None

    @property
    def width(self) -> float:
        return self.scale.x0 + self.scale.width + 10


def span_of(rows: list[GanttRow], today: date, start: date | None, end: date | None) -> Scale:
    """The axis: the programme's span (if any), widened to every date shown, by whole quarters."""
    days = [today] + [d for d in (start, end) if d]
    for row in rows:
        for visit in row.visits:
            days += [d for d in (visit.entered, visit.left, visit.due) if d]
        days += [d for s in row.ahead for d in (s.due, s.earliest) if d]
    first, last = min(days), max(days)
    if start and end and (last - first).days > 3660:  # a stray date must not crush the chart
        first, last = min(start, today), max(end, today)
    year, q = quarter_of(first)
    ly, lq = quarter_of(last)
    return Scale(quarter_start(year, q), quarter_end(ly, lq))


def gantt(
    rows: list[GanttRow], today: date, scale: Scale, milestones: list[tuple[date, str]]
) -> Gantt:
    """Plan against actual, one row per tender: the planned span of each phase (from the previous
    due date to its own), the actual span (entered to left, or to today), the days past the due
    date in red, the plan's steps ahead and its earliest completion."""
    bars: list[Bar] = []
    points: list[Marker] = []
    lanes = []
    for i, row in enumerate(rows):
        y = TOP + i * ROW
        lanes.append(Lane(y, row.id, row.title, row.days_overdue > 0))
        bars += _visited(row, y, today, scale)
        bars += _ahead(row, y, scale)
        if row.earliest_done and not row.final:
            points.append(Marker(scale.x(row.earliest_done), "earliest",
                                 f"{row.id}: {row.earliest_done}", y + ROW / 2))  # fmt: skip
    lines = [Marker(scale.x(day), "milestone", label) for day, label in milestones
             if scale.start <= day <= scale.end]  # fmt: skip
    inside = scale.start <= today <= scale.end
    return Gantt(scale, TOP + len(rows) * ROW + 8, scale.quarters(), lanes, bars,
                 lines + points, scale.x(today) if inside else None)  # fmt: skip


def _visited(row: GanttRow, y: float, today: date, scale: Scale) -> list[Bar]:
    bars = []
    planned_from: date | None = None
    for n, visit in enumerate(row.visits):
        if visit.final:  # done or cancelled: the bars before it end where it begins
            continue
        end = visit.left or today
        start = planned_from or visit.entered
        if visit.due and visit.due >= start:
            bars.append(_bar(scale, start, visit.due, y + 3, 6, "planned",
                             f"{row.id} {visit.label}: plan {start} – {visit.due}"))  # fmt: skip
        shade = "actual" if n % 2 == 0 else "actual alt"
        bars.append(_bar(scale, visit.entered, end, y + 11, 12, shade,
                         f"{row.id} {visit.label}: {visit.entered} – {visit.left or '…'}"))  # fmt: skip
        if visit.due and end > visit.due:
            late = (end - visit.due).days
            bars.append(_bar(scale, visit.due + timedelta(days=1), end, y + 11, 12, "late",
                             f"{row.id} {visit.label}: {late} days past {visit.due}"))  # fmt: skip
        planned_from = visit.due or planned_from
    return bars


def _ahead(row: GanttRow, y: float, scale: Scale) -> list[Bar]:
    bars = []
    previous = row.visits[-1].due if row.visits else None
    for step in row.ahead[1:]:
        label = row.labels.get(step.step, step.step)
        if previous and step.due and step.due >= previous:
            bars.append(_bar(scale, previous, step.due, y + 3, 6, "ahead",
                             f"{row.id} {label}: plan {previous} – {step.due}"))  # fmt: skip
        previous = step.due or previous
    return bars


def _bar(scale: Scale, first: date, last: date, y: float, h: float, kind: str, title: str) -> Bar:
    left, right = scale.x(first), scale.x(last + timedelta(days=1))
    return Bar(left, y, max(right - left, 1.5), h, kind, title)


# The overview's timeline and the IKU bars


@dataclass(frozen=True)
class Timeline:
    """The programme by quarter, its milestones as numbered markers, and today."""

    scale: Scale
    ticks: list[Tick]
    milestones: list[Marker]
    today: float | None


def timeline(start: date, end: date, milestones: list[tuple[date, str]], today: date) -> Timeline:
    """The programme's quarters, widened to today's quarter when today is within a year of it."""
    if start - timedelta(days=366) <= today < start:
        start = quarter_start(*quarter_of(today))
    if end < today <= end + timedelta(days=366):
        end = quarter_end(*quarter_of(today))
    scale = Scale(start, end, x0=10.0, width=1080.0)
    marks = [Marker(scale.x(day), "milestone", label, 0.0) for day, label in milestones]
    inside = start <= today <= end
    return Timeline(scale, scale.quarters(), marks, scale.x(today) if inside else None)


@dataclass(frozen=True)
class IkuBar:
    """A municipality's IKU before the programme and after its awarded tenders, in percent."""

    y: float
    label: str
    before: float
    after: float
    x_before: float
    x_after: float


@dataclass(frozen=True)
class IkuChart:
    bars: list[IkuBar]
    target_x: float
    height: float
    axis: list[tuple[float, str]]


IKU_X0, IKU_WIDTH, IKU_ROW = 200.0, 560.0, 26.0


def iku_chart(rows: list[tuple[str, float, float]], target: float) -> IkuChart:
    """Horizontal bars (label, before %, after %) against the target's vertical line."""
    top = max([target * 1.2, *[after for _l, _b, after in rows]])
    scale = IKU_WIDTH / top if top > 0 else 1.0
    bars = [
        IkuBar(30 + i * IKU_ROW, label, before, after, round(IKU_X0 + before * scale, 1),
               round(IKU_X0 + after * scale, 1))
        for i, (label, before, after) in enumerate(rows)
    ]  # fmt: skip
    step = 5 if top <= 40 else 10
    axis = [(round(IKU_X0 + v * scale, 1), f"{v} %") for v in range(0, int(top) + 1, step)]
    return IkuChart(bars, round(IKU_X0 + target * scale, 1), 40 + len(rows) * IKU_ROW, axis)

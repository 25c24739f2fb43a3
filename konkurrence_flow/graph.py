"""Diagrams of a definition, drawn by `transitions`' diagram support (mermaid or DOT text)."""

from __future__ import annotations

from .definitions import Definition

FORMATS = ("mermaid", "dot")


class _Model:
    """The model a diagram machine draws."""


def graph(definition: Definition, fmt: str = "mermaid") -> str:
    """The definition's state graph as mermaid (`stateDiagram-v2`) or Graphviz DOT text."""
    from transitions.extensions import GraphMachine

    if fmt not in FORMATS:
        raise ValueError(f"unknown graph format '{fmt}'; allowed: {', '.join(FORMATS)}")
    model = _Model()
    GraphMachine(
        model=model,
        states=[{"name": s.name, "final": s.final} for s in definition.states.values()],
        transitions=[
            {
                "trigger": t.trigger,
                "source": list(t.sources),
                "dest": t.dest,
                "conditions": [_condition(name, values) for name, values in t.when],
            }
            for t in definition.transitions
        ],
        initial=definition.initial,
        auto_transitions=False,
        title=definition.title,
        show_conditions=True,  # a `when:` is drawn as the edge's [condition]; it is never run
        graph_engine="mermaid" if fmt == "mermaid" else "graphviz",
    )
    drawing = model.get_graph()  # type: ignore[attr-defined]
    return str(drawing.draw(None)) if fmt == "mermaid" else str(drawing.source)


def _condition(name: str, values: tuple[str, ...]) -> str:
    """A `when:` condition as the diagram labels it: `procedure: open|accelerated-open`."""
    return f"{name}: {'|'.join(values)}"

"""The differential journey map of one cohort comparison (Graphviz, quoted DOT)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._dot import attrs
from ._mapdraw import Drawing

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["differential_drawing"]

_A, _B, _NS = "#1c7ed6", "#e8590c", "#ced4da"


def differential_drawing(
    transitions: pd.DataFrame,
    activities: pd.DataFrame,
    a: str,
    b: str,
    alpha: float,
    order: list[str] | None = None,
) -> Drawing:
    """Edges coloured by the group that takes them more (blue: ``a``, orange: ``b``),
    width by |Cohen's h|; steps without a significant difference are thin and grey.
    Nodes show the two groups' shares of accounts reaching the activity."""
    b_name = "the rest" if b == "(rest)" else b
    share = {r["feature"]: (r["share_a"], r["share_b"]) for r in activities.to_dict("records")}
    present = set(transitions["source"]) | set(transitions["target"]) | set(share)
    rank = {n: i for i, n in enumerate(order or [])}
    names = sorted(present, key=lambda n: (rank.get(n, len(rank)), n))
    ids = {n: f"n{i}" for i, n in enumerate(names)}
    title = (
        f"{a} vs {b_name}: blue steps are taken more by {a}, orange by {b_name}; "
        f"width = |Cohen's h|; grey = not significant (q ≥ {alpha})"
    )
    lines = [
        "digraph differential {",
        "  graph "
        + attrs(
            rankdir="LR",
            fontname="Helvetica",
            fontsize="12",
            label=title,
            labelloc="t",
            labeljust="l",
            nodesep="0.3",
            ranksep="0.55",
        )
        + ";",
        "  node "
        + attrs(
            shape="box",
            style="rounded,filled",
            fillcolor="#f8f9fa",
            color="#adb5bd",
            fontname="Helvetica",
            fontsize="10",
        )
        + ";",
        "  edge " + attrs(fontname="Helvetica", fontsize="8", arrowsize="0.6") + ";",
    ]
    for n in names:
        sa, sb = share.get(n, (0.0, 0.0))
        lines.append(
            f"  {ids[n]} "
            + attrs(
                label=f"{n}\n{sa:.0%} vs {sb:.0%}",
                tooltip=f"{n}: reached by {sa:.1%} of {a}, {sb:.1%} of {b_name}",
            )
            + ";"
        )
    for r in transitions.to_dict("records"):
        src, tgt = r["source"], r["target"]
        sig = r["q"] < alpha
        colour = (_A if r["difference"] > 0 else _B) if sig else _NS
        width = 0.6 + 6 * min(abs(r["cohens_h"]), 1.0) if sig else 0.6
        tip = (
            f"{r['feature']}: {r['share_a']:.1%} of {a} vs {r['share_b']:.1%} of {b_name}; "
            f"h = {r['cohens_h']:+.2f}, q = {r['q']:.3g}"
        )
        label = f"{r['share_a']:.0%} / {r['share_b']:.0%}" if sig else None
        if not sig and max(r["share_a"], r["share_b"]) < 0.02:
            continue  # rare steps without a difference only clutter the map
        backwards = rank.get(tgt, 0) <= rank.get(src, 0) if rank else False
        lines.append(
            f"  {ids[src]} -> {ids[tgt]} "
            + attrs(
                color=colour,
                fontcolor=colour,
                penwidth=f"{width:.2f}",
                label=label,
                tooltip=tip,
                style=None if sig else "dashed",
                constraint="false" if backwards else None,
            )
            + ";"
        )
    lines.append("}")
    return Drawing("\n".join(lines))

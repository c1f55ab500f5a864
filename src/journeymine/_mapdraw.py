"""Drawing journey maps with Graphviz: DOT text, shared layouts and the drawing object.

A map is drawn left to right. Node fill darkens with the share of accounts that reach the
activity; edge width grows with the square root of the step's count. Back-steps (to an
earlier stage) are orange and self-loops grey; both are drawn with ``constraint=false`` so
that the layout follows the forward direction of the journeys. Labels show frequencies,
times or both; hovering shows every figure of a node or edge.

Several maps can share node positions (:func:`shared_positions` lays out the union of
their graphs once with ``dot``; each map is then drawn with ``neato -n2``, which keeps the
nodes where they are and routes only the edges), so cohorts can be compared side by side.
All text from user data goes through :func:`journeymine._dot.quote`.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._dot import Raw, attrs, render
from ._format import count as fmt_count
from ._format import duration
from ._params import check_choice

if TYPE_CHECKING:
    from ._journeymap import JourneyMap

__all__ = ["Drawing", "LabelMode", "TimeStat", "map_dot", "scalable", "shared_positions"]

LabelMode = Literal["frequency", "time", "both"]
TimeStat = Literal["median", "mean", "p90", "min", "max"]

#: Sequential blues for node fill, light to dark (ColorBrewer Blues, 6 classes).
_BLUES = ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
_EDGE = "#495057"
_BACK = "#d9480f"
_LOOP = "#868e96"
_NODE_W, _NODE_H = 1.9, 0.62  # inches, fixed so that shared layouts fit every cohort


def _node_id(i: int) -> str:
    return f"n{i}"


def _fill(share: float) -> tuple[str, str]:
    i = min(int(share * len(_BLUES)), len(_BLUES) - 1)
    return _BLUES[i], ("#ffffff" if i >= 4 else "#212529")


def map_dot(
    jmap: JourneyMap,
    *,
    labels: LabelMode = "frequency",
    time: TimeStat = "median",
    positions: Mapping[str, tuple[float, float]] | None = None,
    all_activities: Sequence[str] | None = None,
    title: bool = True,
) -> str:
    """DOT text of ``jmap``. With ``positions`` (points, from :func:`shared_positions`),
    nodes are pinned there; ``all_activities`` adds faded nodes for activities of other
    cohorts so that every panel shows every station."""
    check_choice("labels", "JourneyMap.draw", labels, ("frequency", "time", "both"))
    check_choice("time", "JourneyMap.draw", time, ("median", "mean", "p90", "min", "max"))
    nodes = jmap.nodes
    order = list(nodes["activity"])
    extra = [a for a in (all_activities or ()) if a not in set(order)]
    ids = {a: _node_id(i) for i, a in enumerate(order + extra)}
    lines = [
        "digraph journey {",
        *_defaults(jmap, pinned=bool(positions), title=title),
        *_terminals(positions),
        *_activity_nodes(_records(nodes), ids, labels, positions),
        *_absent_nodes(extra, ids, positions),
    ]
    edges = _records(jmap.edges)
    starts, ends = _records(jmap.start_activities), _records(jmap.end_activities)
    top = max([1, *(int(e["count"]) for e in (*edges, *starts, *ends))])
    lines += _terminal_edges(starts, ends, ids, labels, top)
    lines += _step_edges(edges, ids, labels, time, top)
    lines.append("}")
    return "\n".join(lines)


def _pos(positions: Mapping[str, tuple[float, float]] | None, name: str) -> Raw | None:
    """A node's pinned position (``pos="x,y!"``), when there are positions."""
    if positions is None or name not in positions:
        return None
    x, y = positions[name]
    return Raw(f'"{x:.1f},{y:.1f}!"')


def _width(n: float, top: int) -> str:
    """Edge width: grows with the square root of the count, ``top`` the largest count."""
    return f"{0.6 + 5.4 * math.sqrt(n / top):.2f}"


def _defaults(jmap: JourneyMap, *, pinned: bool, title: bool) -> list[str]:
    """The graph, node and edge attributes; the graph's title label when ``title``."""
    graph = dict(
        rankdir="LR",
        bgcolor="white",
        fontname="Helvetica",
        fontsize="12",
        nodesep="0.25",
        ranksep="0.5",
        outputorder="edgesfirst",
        splines="true" if pinned else "spline",
    )
    if title:
        head = f"  graph {attrs(**graph, label=jmap._title(), labelloc='t', labeljust='l')};"
    else:
        head = f"  graph {attrs(**graph)};"
    node_style = attrs(
        shape="box",
        style="rounded,filled",
        fontname="Helvetica",
        fontsize="11",
        width=str(_NODE_W),
        height=str(_NODE_H),
        fixedsize="true",
        penwidth="0.8",
        color="#adb5bd",
    )
    return [
        head,
        f"  node {node_style};",
        f"  edge {attrs(fontname='Helvetica', fontsize='9', arrowsize='0.6')};",
    ]


def _terminals(positions: Mapping[str, tuple[float, float]] | None) -> list[str]:
    """The start and end dots every journey leaves from and arrives at."""
    out = []
    for node, shape, size, colour, tooltip in (
        ("start", "circle", "0.22", "#2b8a3e", "journeys start"),
        ("end", "doublecircle", "0.2", "#343a40", "journeys end"),
    ):
        style = attrs(
            label="",
            fixedsize="true",
            style="filled",
            shape=shape,
            width=size,
            height=size,
            fillcolor=colour,
            color=colour,
            tooltip=tooltip,
            pos=_pos(positions, f"({node})"),
        )
        out.append(f"  {node} {style};")
    return out


def _activity_nodes(
    nodes: list[dict[str, Any]],
    ids: Mapping[str, str],
    labels: LabelMode,
    positions: Mapping[str, tuple[float, float]] | None,
) -> list[str]:
    """One box per activity, filled by the share of accounts that reach it."""
    lines = []
    for n in nodes:
        fill, font = _fill(float(n["share"]))
        second = f"{fmt_count(n['events'])} events" if labels == "time" else f"{n['cases']:,} accounts"
        tip = (
            f"{n['activity']}\nstage: {n['stage']}\n{n['events']:,} events, {n['cases']:,} accounts "
            f"({n['share']:.0%})\nrepeated in {n['rework_cases']:,} accounts"
        )
        lines.append(
            f"  {ids[n['activity']]} "
            + attrs(
                label=f"{_clip(n['activity'])}\n{second}",
                fillcolor=fill,
                fontcolor=font,
                tooltip=tip,
                pos=_pos(positions, n["activity"]),
            )
            + ";"
        )
    return lines


def _absent_nodes(
    extra: list[str], ids: Mapping[str, str], positions: Mapping[str, tuple[float, float]] | None
) -> list[str]:
    """Faded placeholders for the activities of other cohorts."""
    return [
        f"  {ids[a]} "
        + attrs(
            label=_clip(a),
            style="rounded,dashed",
            fillcolor="#ffffff",
            fontcolor="#ced4da",
            color="#dee2e6",
            tooltip=f"{a}: not in this cohort",
            pos=_pos(positions, a),
        )
        + ";"
        for a in extra
    ]


def _terminal_edges(
    starts: list[dict[str, Any]],
    ends: list[dict[str, Any]],
    ids: Mapping[str, str],
    labels: LabelMode,
    top: int,
) -> list[str]:
    """Edges from the start dot to the first activities and from the last ones to the end dot."""
    lines = []
    for side, rows, colour in (("start", starts, "#2b8a3e"), ("end", ends, "#343a40")):
        for r in rows:
            a, c = r["activity"], int(r["count"])
            pair = f"start -> {ids[a]}" if side == "start" else f"{ids[a]} -> end"
            tip = f"{c:,} journeys {'start' if side == 'start' else 'end'} with {a}"
            lines.append(
                f"  {pair} "
                + attrs(
                    penwidth=_width(c, top),
                    color=colour + "80",
                    fontcolor=colour,
                    label=fmt_count(c) if labels != "time" else None,
                    tooltip=tip,
                )
                + ";"
            )
    return lines


def _step_edges(
    edges: list[dict[str, Any]], ids: Mapping[str, str], labels: LabelMode, time: TimeStat, top: int
) -> list[str]:
    """One edge per step between activities; back-steps orange and dashed, self-loops grey."""
    lines = []
    for e in edges:
        parts = []
        if labels in ("frequency", "both"):
            parts.append(fmt_count(e["count"]))
        if labels in ("time", "both"):
            parts.append(duration(e[time]))
        back, loop = bool(e["backstep"]), bool(e["self_loop"])
        colour = _BACK if back else (_LOOP if loop else _EDGE)
        kind = " (back-step)" if back else (" (self-loop)" if loop else "")
        tip = (
            f"{e['source']} → {e['target']}{kind}\n{e['count']:,} times, {e['cases']:,} accounts\n"
            f"median {duration(e['median'])}, mean {duration(e['mean'])}, p90 {duration(e['p90'])}"
        )
        style = attrs(
            label=" · ".join(parts),
            penwidth=_width(e["count"], top),
            color=colour,
            fontcolor=colour,
            style="dashed" if back else None,
            constraint="false" if (back or loop) else None,
            tooltip=tip,
        )
        lines.append(f"  {ids[e['source']]} -> {ids[e['target']]} {style};")
    return lines


def _records(frame: Any) -> list[dict[str, Any]]:
    """Rows of a pandas frame as dicts (``row.count`` on a named tuple is tuple.count)."""
    return frame.to_dict("records")  # type: ignore[no-any-return]


def _clip(text: Any, limit: int = 26) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def shared_positions(union: JourneyMap) -> dict[str, tuple[float, float]]:
    """Lay out ``union`` (the union of several maps' nodes and edges) once with ``dot``;
    return its node positions (points), which every one of those maps can then reuse."""
    source = map_dot(union, title=False)
    laid = json.loads(render(source, fmt="json"))
    names = ["(start)", "(end)", *union.nodes["activity"]]
    ids = {"start": "(start)", "end": "(end)"}
    ids.update({_node_id(i): a for i, a in enumerate(union.nodes["activity"])})
    out: dict[str, tuple[float, float]] = {}
    for obj in laid.get("objects", []):
        name = ids.get(obj.get("name", ""))
        if name is not None and "pos" in obj:
            x, y = (float(v) for v in obj["pos"].split(","))
            out[name] = (x, y)
    missing = [n for n in names if n not in out]
    if missing:  # pragma: no cover - dot places every node
        raise RuntimeError(f"journeymine internal error: no layout position for {missing[:5]}")
    return out


def scalable(svg: str) -> str:
    """Graphviz's SVG with its fixed size (points) replaced by ``width="100%"`` and a
    ``max-width`` of that size in CSS pixels (1 pt = 4/3 px), so that a wide map shrinks to
    fit its container (a report section, a notebook cell) instead of being cut off, and a
    small one is not blown up. The ``viewBox`` keeps the proportions."""
    m = re.match(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if m is None or "viewBox" not in svg[: svg.find(">")]:
        return svg
    width = float(m.group(1)) * 4 / 3
    return f'<svg width="100%" style="max-width: {width:.0f}px; height: auto"' + svg[m.end():]


class Drawing:
    """A drawn journey map: SVG in a notebook, ``save`` to SVG, PNG, PDF or DOT."""

    def __init__(self, source: str, *, fixed: bool = False) -> None:
        self._source = source
        self._fixed = fixed
        self._svg: str | None = None

    @property
    def source(self) -> str:
        """The Graphviz DOT text."""
        return self._source

    @property
    def svg(self) -> str:
        """The SVG text (rendered once), scaled to its container: ``width="100%"`` with a
        ``max-width`` of its natural size, and the ``viewBox`` Graphviz writes."""
        if self._svg is None:
            raw = render(self._source, fmt="svg", fixed=self._fixed).decode("utf-8")
            start = raw.find("<svg")
            self._svg = scalable(raw[start:] if start >= 0 else raw)
        return self._svg

    def save(
        self, path: str | os.PathLike[str], *, _inputs: Sequence[str] = (), _owner: str = "Drawing.save"
    ) -> Path:
        """Write the drawing; the format follows the suffix (.svg, .png, .pdf, .dot),
        atomically (a failure leaves no half-written file)."""
        from ._output import write_file

        p = Path(path)
        fmt = p.suffix.lower().lstrip(".")
        check_choice("suffix", _owner, fmt, ("svg", "png", "pdf", "dot", "gv"))
        data = (self._source if fmt in ("dot", "gv") else self.svg if fmt == "svg"
                else render(self._source, fmt=fmt, fixed=self._fixed))
        return write_file(p, data, owner=_owner, inputs=_inputs)

    def _repr_svg_(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        return f"<Drawing: {self._source.count(' -> ')} edges; .svg, .save(path)>"

"""The paths into and out of an event: what comes before and after it, as a Sankey.

Rules
-----
**The anchor.** ``around`` is an activity, or several treated as one (labelled
``"Demo | Free trial"``): every event of any of them is an event of the anchor, also at
the other positions, and two of them in a row are a repeat of the anchor.

**Repeats.** With ``collapse_repeats=True`` (the default, as path explorers do) a run of
consecutive events of one activity counts as one step: ``Visit, Visit, Demo`` is
``Visit → Demo``. Positions are counted over the collapsed journey.

**Which occurrence.** An account whose journey has the anchor several times contributes
its ``occurrence="first"`` (default) or ``"last"`` one, and the unit of every count is the
account. With ``"every"`` each occurrence counts, and the unit is the occurrence (the
columns are then named ``occurrences`` instead of ``accounts``). Accounts that never have
the anchor are counted in ``summary`` (``without_anchor``), not drawn.

**Positions.** ``-before .. -1``, ``0`` (the anchor), ``+1 .. +after``: the events that
many steps before and after the anchor in the account's journey. A journey that begins
fewer than ``before`` steps before the anchor has the node ``"(start of journey)"`` at
every position before its first event, and one that ends fewer than ``after`` steps later
has ``"(end of journey)"`` at every position after its last: so every position's counts
add up to the anchor's count. "(end of journey)" means *no later event in the log*: the
journey may go on after the log ends.

**Grouping.** At each position the ``top`` most frequent activities (by their count at
that position over the whole log; ties by name) are shown, and only those whose share of
the anchor count is at least ``min_share``; the others are grouped into one node
``"other (n activities)"`` with their true count. A link's count is the number of units
whose path goes from its source node to its target node at consecutive positions, after
grouping: the links between grouped nodes are summed, never dropped. So, per cohort and
position, the nodes' counts add up to the anchor count, and the counts of the links into
(and out of) a node add up to its count.

**Cohorts.** With ``by=``, each unit belongs to its account's cohort. The nodes shown and
their order at each position are computed on the whole log, so every cohort's panel has
the same layout and the panels compare; a cohort without accounts (an empty period) keeps
its row in ``summary`` and an empty panel.

**Paths.** ``paths`` lists each cohort's ``top_paths`` most frequent full paths (the
activities at ``-before .. +after``, not grouped), with an ``other paths`` row holding the
remainder, so its counts add up to the anchor count too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from ._cohorts import ALL, resolve
from ._display import Displayed, escape, note, section, table
from ._encoding import encode, require_events
from ._engine import require_embedded
from ._log import JourneyLog
from ._params import check_choice, check_int, close_matches, invalid
from ._typing import CohortBy, PathLike

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["END", "START", "JourneyPaths", "paths"]

#: the node of the positions before a journey's first event
START = "(start of journey)"
#: the node of the positions after a journey's last event (no later event in the log)
END = "(end of journey)"
OTHER_PATHS = "other paths"
Occurrence = Literal["first", "last", "every"]
_OWNER = "paths"
_ARROW = " → "


def _position_name(p: int, anchor: str) -> str:
    return anchor if p == 0 else f"{p:+d}"


@dataclass(frozen=True, eq=False, repr=False)
class JourneyPaths(Displayed):
    """The result of :func:`paths`: the paths into and out of an anchor event.

    Attributes
    ----------
    anchor : str
        The anchor's label (its activities joined by ``" | "``).
    around : tuple of str
        The anchor's activities.
    before, after : int
        How many steps before and after the anchor.
    occurrence : str
        ``"first"``, ``"last"`` or ``"every"`` occurrence of the anchor per account.
    unit : str
        What is counted: ``"accounts"``, or ``"occurrences"`` with ``occurrence="every"``.
    collapse_repeats : bool
        Whether consecutive repeats of an activity were collapsed into one step.
    top : int
        Activities shown per position (the rest are grouped as "other").
    min_share : float or None
        The smallest share of the anchor count an activity needs to be shown.
    by : str, tuple of str or None
        What formed the cohorts (None: the whole log, cohort ``"(all)"``).
    cohorts : tuple of str
        The cohort names, in panel order.
    layout : tuple of tuple
        Per position (``-before .. +after``), the shown nodes in drawing order, each
        ``(node, kind)`` with kind ``"activity"``, ``"anchor"``, ``"other"``,
        ``"start"`` or ``"end"``; the same for every cohort.
    nodes : pandas.DataFrame
        One row per (cohort, position, node) with a count: ``cohort``, ``position``,
        ``node``, ``kind``, the count (column named for :attr:`unit`) and ``share`` of the
        cohort's anchor count; for a grouped node, ``grouped`` lists its activities.
    links : pandas.DataFrame
        One row per (cohort, step, source, target): ``cohort``, ``from_position``,
        ``from``, ``to_position``, ``to``, the count and ``share`` (see :func:`paths`).
    paths : pandas.DataFrame
        Per cohort, the most frequent full paths: ``cohort``, ``rank``, ``before``
        (``"A → B"``, oldest first), ``anchor``, ``after``, the count and ``share``;
        the last row, ``"other paths"``, holds the rest (``rank`` 0).

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    >>> p = jm.paths(log, "Demo", before=1, after=1)
    >>> p
    <JourneyPaths around 'Demo': 1 before, 1 after, 101 accounts (first), 99 accounts without it, 1 cohort>
    >>> p.paths[["before", "anchor", "after", "accounts", "share"]].head(3).round(2)
               before anchor           after  accounts  share
    0  Discovery call   Demo   Proposal sent        22   0.22
    1    Demo request   Demo   Proposal sent        15   0.15
    2  Discovery call   Demo  Discovery call        11   0.11
    """

    anchor: str
    around: tuple[str, ...]
    before: int
    after: int
    occurrence: str
    unit: str
    collapse_repeats: bool
    top: int
    min_share: float | None
    by: str | tuple[str, ...] | None
    cohorts: tuple[str, ...]
    layout: tuple[tuple[tuple[str, str], ...], ...]
    _nodes: pd.DataFrame
    _links: pd.DataFrame
    _paths: pd.DataFrame
    _summary: pd.DataFrame

    # -- tables ----------------------------------------------------------------------------
    @property
    def summary(self) -> pd.DataFrame:
        """One row per cohort: ``accounts``, ``with_anchor`` and ``without_anchor``
        (accounts with and without the anchor), ``anchors`` (the anchor count: accounts,
        or occurrences with ``occurrence="every"``), ``distinct_before`` and
        ``distinct_after`` (distinct paths on each side, not grouped), ``covered`` (share
        of the anchors whose path crosses no "other" node) and ``unit``."""
        return self._summary.copy()

    @property
    def nodes(self) -> pd.DataFrame:
        """The node counts per cohort and position (see the class docstring)."""
        return self._nodes.copy()

    @property
    def links(self) -> pd.DataFrame:
        """The link counts per cohort and step (see the class docstring)."""
        return self._links.copy()

    @property
    def paths(self) -> pd.DataFrame:
        """The most frequent full paths per cohort, and the rest (see the class docstring)."""
        return self._paths.copy()

    @property
    def positions(self) -> tuple[int, ...]:
        """The positions drawn, ``-before .. +after``."""
        return tuple(range(-self.before, self.after + 1))

    def to_dataframe(self, kind: Literal["links", "nodes", "paths", "summary"] = "links") -> pd.DataFrame:
        """A copy of one table: the tidy ``links`` table (default), ``nodes``, ``paths``
        or ``summary``."""
        check_choice("kind", "JourneyPaths.to_dataframe", kind, ("links", "nodes", "paths", "summary"))
        return {"links": self._links, "nodes": self._nodes, "paths": self._paths, "summary": self._summary}[
            kind
        ].copy()

    def to_dict(self) -> dict[str, Any]:
        """The options, the layout and every table as JSON-safe records (no SVG)."""
        from ._jsonsafe import jsonable, records

        return {
            "anchor": self.anchor,
            "around": list(self.around),
            "before": self.before,
            "after": self.after,
            "occurrence": self.occurrence,
            "unit": self.unit,
            "collapse_repeats": self.collapse_repeats,
            "top": self.top,
            "min_share": self.min_share,
            "by": jsonable(self.by),
            "cohorts": list(self.cohorts),
            "layout": {
                str(p): [list(n) for n in col] for p, col in zip(self.positions, self.layout, strict=True)
            },
            "summary": records(self._summary),
            "nodes": records(self._nodes),
            "links": records(self._links),
            "paths": records(self._paths),
        }

    def __repr__(self) -> str:
        n = int(self._summary["anchors"].sum())
        without = int(self._summary["without_anchor"].sum())
        k = len(self.cohorts)
        return (
            f"<JourneyPaths around {self.anchor!r}: {self.before} before, {self.after} after, "
            f"{n:,} {self.unit} ({self.occurrence}), {without:,} accounts without it, "
            f"{k} cohort{'s' if k != 1 else ''}>"
        )

    # -- drawing ---------------------------------------------------------------------------
    @property
    def svg(self) -> str:
        """The Sankey as SVG text: one panel per cohort, stacked on one layout
        (:meth:`draw` gives one cohort's panel)."""
        return self.draw()

    def draw(self, cohort: Any = None) -> str:
        """The Sankey as SVG text: one panel per cohort stacked on one layout, or the
        panel of one ``cohort``.

        Columns are the positions (the anchor's highlighted); node heights and band widths
        are proportional to the counts, and each band has the colour of its end farther
        from the anchor (where the path comes from, before it; where it goes, after it).
        Every node and band has a tooltip with its exact count; a node too small for its
        label has none, and is listed in the tooltip under its column ("+n small").

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
        >>> p = jm.paths(log, "Demo", by="segment")
        >>> svg = p.svg
        >>> svg.startswith("<svg"), svg.count('<g class="panel"')
        (True, 3)
        >>> p.draw("SMB").count('<g class="panel"')
        1
        """
        from ._paths_draw import Panel, sankey_svg

        if cohort is None:
            names = list(self.cohorts)
        elif str(cohort) in self.cohorts:
            names = [str(cohort)]
        else:
            raise invalid("cohort", "JourneyPaths.draw", f"one of {list(self.cohorts)}", cohort)
        count = self.unit
        summary = {str(r["cohort"]): r for r in self._summary.to_dict("records")}
        panels = []
        for name in names:
            nodes = self._nodes[self._nodes["cohort"] == name]
            links = self._links[self._links["cohort"] == name]
            row = summary[name]
            panels.append(
                Panel(
                    name=name if self.by is not None else None,
                    accounts=int(row["accounts"]),
                    with_anchor=int(row["with_anchor"]),
                    anchors=int(row["anchors"]),
                    nodes={
                        (int(p), str(n)): int(c)
                        for p, n, c in zip(nodes["position"], nodes["node"], nodes[count], strict=True)
                    },
                    links=[
                        (int(p), str(a), str(b), int(c))
                        for p, a, b, c in zip(
                            links["from_position"], links["from"], links["to"], links[count], strict=True
                        )
                    ],
                )
            )
        return sankey_svg(
            positions=self.positions,
            layout=self.layout,
            panels=panels,
            anchor=self.anchor,
            unit=self.unit,
            subtitle=self._subtitle(),
            colour_order=self._colour_order(),
        )

    def _colour_order(self) -> list[str]:
        """Activities by their count over every position but the anchor, all cohorts: the
        most frequent get the palette's colours, the same in every panel."""
        acts = self._nodes[(self._nodes["kind"] == "activity") & (self._nodes["position"] != 0)]
        totals = acts.groupby("node", sort=True)[self.unit].sum()
        return [str(n) for n, _ in sorted(totals.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))]

    def _subtitle(self) -> str:
        which = {"first": "the first", "last": "the last", "every": "every"}[self.occurrence]
        unit = "account" if self.unit == "accounts" else "occurrence"
        parts = [
            f"{self.before} step{'s' if self.before != 1 else ''} before and {self.after} after "
            f"{which} {self.anchor} of each account (one path per {unit})",
            "repeats collapsed" if self.collapse_repeats else "repeats kept",
            f"top {self.top} activities per step"
            + (f" with at least {self.min_share:.1%} of the paths" if self.min_share else "")
            + ", the rest grouped as other",
            "bands coloured by their end farther from the anchor",
        ]
        return "; ".join(parts) + "."

    def _display_svg(self) -> str:
        return self.svg

    def _display_html(self, svg: str | None) -> str:
        formats = {
            "covered": "{:.0%}".format,
            "share": "{:.1%}".format,
            "accounts": "{:,}".format,
            "with_anchor": "{:,}".format,
            "without_anchor": "{:,}".format,
            "anchors": "{:,}".format,
            self.unit: "{:,}".format,
        }
        parts = [note(self._subtitle())]
        if svg:
            parts.append(f'<div class="jm-drawing">{svg}</div>')
        parts.append(table(self._summary, formats=formats))
        top = self._paths[self._paths["rank"] <= 5]
        parts.append(table(top, formats=formats, max_rows=40))
        return section("paths", f"Paths around {self.anchor}", *parts)

    def to_html(self) -> str:
        """A self-contained HTML page: the Sankey, the summary and the top paths."""
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'\">"
            f"<title>{escape('Paths around ' + self.anchor)}</title><style>body{{font-family:Helvetica,"
            "Arial,sans-serif;margin:24px;color:#212529}table{border-collapse:collapse;margin:12px 0;"
            "font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #dee2e6}</style></head>"
            f"<body>{self._repr_html_()}</body></html>\n"
        )

    def to_png(self, *, scale: float = 1.0) -> bytes:
        """The Sankey as PNG bytes (rendered by cairosvg)."""
        from ._output import svg_to_png
        from ._paths_draw import fixed_size

        return svg_to_png(fixed_size(self.svg), scale=scale)

    def save(self, path: PathLike, *, scale: float = 1.0) -> Path:
        """Write the Sankey: ``.svg``, ``.png`` (needs cairosvg) or ``.html`` (a page with
        the drawing and the tables). The file is written whole or not at all.

        Returns the path written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import journeymine as jm
        >>> p = jm.paths(jm.datasets.demo_b2b(n_accounts=200, random_state=0), "Demo")
        >>> out = p.save(pathlib.Path(tempfile.mkdtemp()) / "paths.svg")
        >>> out.read_text(encoding="utf-8").startswith("<svg")
        True
        """
        from ._output import write_atomic

        p = Path(os.fspath(path))
        fmt = p.suffix.lower()
        if fmt not in (".svg", ".html", ".png"):
            raise invalid("path", "JourneyPaths.save", "a file name ending in .svg, .html or .png", str(path))
        if fmt == ".png":
            data = self.to_png(scale=scale)
            return write_atomic(p, lambda tmp: tmp.write_bytes(data), owner="JourneyPaths.save")
        text = self.svg if fmt == ".svg" else self.to_html()
        return write_atomic(p, lambda tmp: tmp.write_text(text, encoding="utf-8"), owner="JourneyPaths.save")


# ----------------------------------------------------------------------------------------------
# the computation
# ----------------------------------------------------------------------------------------------
def paths(
    log: JourneyLog,
    around: str | Iterable[str],
    *,
    before: int = 3,
    after: int = 3,
    occurrence: Occurrence = "first",
    collapse_repeats: bool = True,
    top: int = 8,
    min_share: float | None = None,
    top_paths: int = 10,
    by: CohortBy | None = None,
) -> JourneyPaths:
    """The paths leading into and out of an event, as a Sankey and as tables.

    Parameters
    ----------
    log : JourneyLog
    around : str or collection of str
        The anchor: an activity, or several treated as one (a list keeps its order in the
        label, a set is sorted).
    before, after : int, default 3
        Steps shown before and after the anchor (>= 0, not both 0).
    occurrence : {"first", "last", "every"}, default "first"
        Which occurrence of the anchor an account contributes; with ``"every"`` each one
        counts and the unit is the occurrence.
    collapse_repeats : bool, default True
        Count a run of one activity as one step.
    top : int, default 8
        Activities shown per position; the others are grouped as "other (n activities)".
    min_share : float, optional
        Also group an activity whose share of the anchor count at a position is below this.
    top_paths : int, default 10
        Full paths listed per cohort in :attr:`JourneyPaths.paths`.
    by : str, list of str, callable or Cohorts, optional
        Cohorts: one panel each, on the layout of the whole log.

    Returns
    -------
    JourneyPaths

    Notes
    -----
    The rules (anchor, repeats, start and end nodes, grouping, cohorts) are in the module
    docstring and in ``docs/funnels.md``. Every count is exact: at every position the nodes'
    counts add up to the anchor count, and the links into a node add up to its count.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=300, random_state=0)
    >>> p = jm.paths(log, "Demo", before=2, after=2)
    >>> p
    <JourneyPaths around 'Demo': 2 before, 2 after, 148 accounts (first), 152 accounts without it, 1 cohort>
    >>> p.links.groupby("from_position")["accounts"].sum().tolist()  # every step adds up
    [148, 148, 148, 148]
    >>> top = p.paths.iloc[0]
    >>> top["before"], top["after"], int(top["accounts"])
    ('Demo request → Discovery call', 'Proposal sent → Pricing negotiation', 7)
    """
    names = _check(log, around, before, after, occurrence, collapse_repeats, top, min_share, top_paths)
    cohorts = resolve(log, by)
    enc = encode(log)
    acts = enc.activities
    anchor_label = " | ".join(names)
    n_act = len(acts)
    # codes: real activities 0..n_act-1, the anchor (merged) n_act, then the special nodes
    anchor_code, start_code, end_code, other_code = n_act, n_act + 1, n_act + 2, n_act + 3
    taken = {*acts, anchor_label}
    labels = [*acts, anchor_label, _unique(START, taken), _unique(END, taken)]

    frame = enc.frame
    code = frame.get_column("code").to_numpy()
    act = frame.get_column("act").to_numpy().astype(np.int32)
    members = np.zeros(n_act, dtype=bool)
    members[[acts.index(a) for a in names]] = True
    act = np.where(members[act], anchor_code, act).astype(np.int32)
    if collapse_repeats and act.size:
        keep = np.ones(act.size, dtype=bool)
        keep[1:] = (code[1:] != code[:-1]) | (act[1:] != act[:-1])
        code, act = code[keep], act[keep]

    case_start = np.searchsorted(code, np.arange(enc.n_cases), side="left")
    case_end = np.searchsorted(code, np.arange(enc.n_cases), side="right")
    at = _anchor_rows(code, act == anchor_code, occurrence)
    owner = code[at]

    positions = list(range(-before, after + 1))
    raw = np.empty((at.size, len(positions)), dtype=np.int32)
    lo, hi = case_start[owner], case_end[owner]
    for i, d in enumerate(positions):
        j = at + d
        inside = (j >= lo) & (j < hi)
        raw[:, i] = np.where(
            inside, act[np.clip(j, 0, max(act.size - 1, 0))], start_code if d < 0 else end_code
        )

    if cohorts is None:
        cohort_names: tuple[str, ...] = (ALL,)
        case_cohort = np.zeros(enc.n_cases, dtype=np.int64)
    else:
        cohort_names = cohorts.names
        case_cohort = cohorts.codes.to_numpy().astype(np.int64)
    unit_cohort = case_cohort[owner]

    kept, grouped_members = _grouping(raw, positions, n_act, top, min_share, labels)
    grouped = raw.copy()
    for i, _p in enumerate(positions):
        col = raw[:, i]
        grouped[:, i] = np.where(kept[i][col], col, other_code)
    other_label = {
        i: _unique(f"other ({len(m)} activit{'y' if len(m) == 1 else 'ies'})", taken)
        for i, m in grouped_members.items()
        if m
    }

    layout = _layout(raw, grouped, positions, kept, labels, other_label, anchor_code, start_code, end_code)
    unit = "accounts" if occurrence != "every" else "occurrences"

    def label_of(i: int, c: int) -> str:
        return other_label[i] if c == other_code else labels[c]

    order_of = [{label: k for k, (label, _kind) in enumerate(col)} for col in layout]
    kind_of = [dict(col) for col in layout]
    nodes = _nodes_table(
        grouped,
        unit_cohort,
        positions,
        cohort_names,
        label_of,
        order_of,
        kind_of,
        grouped_members,
        labels,
        unit,
    )
    links = _links_table(grouped, unit_cohort, positions, cohort_names, label_of, order_of, unit)
    path_table = _paths_table(
        raw, unit_cohort, positions, cohort_names, labels, top_paths, unit, start_code, end_code
    )
    summary = _summary_table(
        raw, grouped, owner, unit_cohort, case_cohort, positions, cohort_names, other_code, unit
    )
    return JourneyPaths(
        anchor=anchor_label,
        around=tuple(names),
        before=before,
        after=after,
        occurrence=occurrence,
        unit=unit,
        collapse_repeats=collapse_repeats,
        top=top,
        min_share=min_share,
        by=None if cohorts is None else cohorts.by,
        cohorts=cohort_names,
        layout=layout,
        _nodes=nodes.to_pandas(),
        _links=links.to_pandas(),
        _paths=path_table.to_pandas(),
        _summary=summary.to_pandas(),
    )


def _check(
    log: JourneyLog,
    around: Any,
    before: Any,
    after: Any,
    occurrence: Any,
    collapse_repeats: Any,
    top: Any,
    min_share: Any,
    top_paths: Any,
) -> list[str]:
    """Validate the options; return the anchor's activities (in label order)."""
    if not isinstance(log, JourneyLog):
        raise invalid("log", _OWNER, "a JourneyLog", type(log).__name__)
    require_embedded(log, _OWNER)
    require_events(log, _OWNER)
    if isinstance(around, str):
        names = [around]
    elif isinstance(around, (set, frozenset)):
        names = sorted(around, key=str)
    elif isinstance(around, Iterable) and not isinstance(around, (bytes, dict)):
        names = list(dict.fromkeys(around))
    else:
        raise invalid("around", _OWNER, "an activity name or a list of them", around)
    if not names or not all(isinstance(a, str) for a in names):
        raise invalid("around", _OWNER, "an activity name or a non-empty list of activity names", around)
    known = set(log.activities)
    for a in names:
        if a not in known:
            match = close_matches(a, log.activities)
            hint = f" (did you mean {' or '.join(repr(m) for m in match)}?)" if match else ""
            shown = sorted(log.activities)[:8]
            raise invalid("around", _OWNER, f"an activity of the log{hint}; activities include {shown}", a)
    check_int("before", _OWNER, before, minimum=0)
    check_int("after", _OWNER, after, minimum=0)
    if before == 0 and after == 0:
        raise invalid("before", _OWNER, "at least 1 when after=0 (there would be no step to show)", before)
    check_choice("occurrence", _OWNER, occurrence, ("first", "last", "every"))
    if not isinstance(collapse_repeats, (bool, np.bool_)):
        raise invalid("collapse_repeats", _OWNER, "True or False", collapse_repeats)
    check_int("top", _OWNER, top, minimum=1)
    check_int("top_paths", _OWNER, top_paths, minimum=1)
    if min_share is not None and (
        isinstance(min_share, bool)
        or not isinstance(min_share, (int, float))
        or not 0 <= float(min_share) < 1
    ):
        raise invalid("min_share", _OWNER, "a number in [0, 1) or None", min_share)
    return names


def _unique(label: str, taken: set[str]) -> str:
    """``label``, with " (node)" added until no activity of the log has that name."""
    while label in taken:
        label += " (node)"
    return label


def _anchor_rows(code: np.ndarray, is_anchor: np.ndarray, occurrence: str) -> np.ndarray:
    """Row numbers of the anchors: every anchor event, or each case's first or last."""
    rows = np.flatnonzero(is_anchor)
    if occurrence == "every" or rows.size == 0:
        return rows
    owner = code[rows]
    if occurrence == "first":
        keep = np.ones(rows.size, dtype=bool)
        keep[1:] = owner[1:] != owner[:-1]
    else:
        keep = np.ones(rows.size, dtype=bool)
        keep[:-1] = owner[:-1] != owner[1:]
    return rows[keep]


def _grouping(
    raw: np.ndarray,
    positions: list[int],
    n_act: int,
    top: int,
    min_share: float | None,
    labels: list[str],
) -> tuple[list[np.ndarray], dict[int, list[str]]]:
    """Per position, which codes are shown (a boolean per code) and the activities grouped
    as other. Activities (and the anchor, at other positions) compete for ``top`` places
    by count, ties by name; start and end are always shown."""
    n_units = raw.shape[0]
    kept: list[np.ndarray] = []
    grouped: dict[int, list[str]] = {}
    for i, p in enumerate(positions):
        counts = np.bincount(raw[:, i], minlength=n_act + 3)
        show = np.zeros(n_act + 4, dtype=bool)
        show[n_act + 1 : n_act + 3] = True  # start, end
        if p == 0:
            show[n_act] = True
            kept.append(show)
            continue
        present = [c for c in range(n_act + 1) if counts[c] > 0]
        present.sort(key=lambda c: (-int(counts[c]), labels[c]))
        chosen = [c for c in present[:top] if min_share is None or counts[c] >= min_share * n_units]
        show[chosen] = True
        grouped[i] = sorted(labels[c] for c in present if not show[c])
        kept.append(show)
    return kept, grouped


def _layout(
    raw: np.ndarray,
    grouped: np.ndarray,
    positions: list[int],
    kept: list[np.ndarray],
    labels: list[str],
    other_label: dict[int, str],
    anchor_code: int,
    start_code: int,
    end_code: int,
) -> tuple[tuple[tuple[str, str], ...], ...]:
    """Per position, the shown nodes in drawing order: by count on the whole log (ties by
    name), then "other", then the start or end of journey."""
    out: list[tuple[tuple[str, str], ...]] = []
    for i, p in enumerate(positions):
        if p == 0:
            out.append(((labels[anchor_code], "anchor"),))
            continue
        counts = np.bincount(grouped[:, i], minlength=anchor_code + 4)
        acts = [c for c in np.flatnonzero(kept[i][: anchor_code + 1]) if counts[c] > 0]
        acts.sort(key=lambda c: (-int(counts[c]), labels[c]))
        col: list[tuple[str, str]] = [(labels[c], "anchor" if c == anchor_code else "activity") for c in acts]
        if i in other_label:
            col.append((other_label[i], "other"))
        special = start_code if p < 0 else end_code
        if counts[special] > 0 or raw.shape[0] == 0:
            col.append((labels[special], "start" if p < 0 else "end"))
        out.append(tuple(col))
    return tuple(out)


def _cohort_names_expr(cohort_names: tuple[str, ...]) -> pl.Expr:
    return pl.lit(pl.Series(list(cohort_names), dtype=pl.String)).gather(pl.col("cohort"))


def _nodes_table(
    grouped: np.ndarray,
    unit_cohort: np.ndarray,
    positions: list[int],
    cohort_names: tuple[str, ...],
    label_of: Any,
    order_of: list[dict[str, int]],
    kind_of: list[dict[str, str]],
    grouped_members: dict[int, list[str]],
    labels: list[str],
    unit: str,
) -> pl.DataFrame:
    """Counts per (cohort, position, node), with the share of the cohort's anchors."""
    totals = np.bincount(unit_cohort, minlength=len(cohort_names))
    parts = []
    for i, p in enumerate(positions):
        counts = (
            pl.DataFrame({"cohort": unit_cohort, "node": grouped[:, i]})
            .group_by("cohort", "node")
            .agg(pl.len().alias("n"))
        )
        rows = []
        for c, node, n in counts.iter_rows():
            label = label_of(i, node)
            members = grouped_members.get(i, []) if kind_of[i][label] == "other" else []
            rows.append((int(c), p, label, kind_of[i][label], order_of[i][label], int(n), members))
        parts.extend(rows)
    frame = pl.DataFrame(
        parts,
        schema={
            "cohort": pl.Int64,
            "position": pl.Int64,
            "node": pl.String,
            "kind": pl.String,
            "order": pl.Int64,
            unit: pl.Int64,
            "grouped": pl.List(pl.String),
        },
        orient="row",
    )
    total = pl.lit(pl.Series(totals.astype(np.int64))).gather(pl.col("cohort"))
    return (
        frame.with_columns((pl.col(unit) / total).alias("share"))
        .sort("cohort", "position", "order")
        .with_columns(_cohort_names_expr(cohort_names).alias("cohort"))
        .select("cohort", "position", "node", "kind", unit, "share", "grouped")
    )


def _links_table(
    grouped: np.ndarray,
    unit_cohort: np.ndarray,
    positions: list[int],
    cohort_names: tuple[str, ...],
    label_of: Any,
    order_of: list[dict[str, int]],
    unit: str,
) -> pl.DataFrame:
    """Counts per (cohort, step, source node, target node) after grouping."""
    totals = np.bincount(unit_cohort, minlength=len(cohort_names))
    rows = []
    for i in range(len(positions) - 1):
        counts = (
            pl.DataFrame({"cohort": unit_cohort, "a": grouped[:, i], "b": grouped[:, i + 1]})
            .group_by("cohort", "a", "b")
            .agg(pl.len().alias("n"))
        )
        for c, a, b, n in counts.iter_rows():
            la, lb = label_of(i, a), label_of(i + 1, b)
            rows.append(
                (int(c), positions[i], la, order_of[i][la], positions[i + 1], lb, order_of[i + 1][lb], int(n))
            )
    frame = pl.DataFrame(
        rows,
        schema={
            "cohort": pl.Int64,
            "from_position": pl.Int64,
            "from": pl.String,
            "from_order": pl.Int64,
            "to_position": pl.Int64,
            "to": pl.String,
            "to_order": pl.Int64,
            unit: pl.Int64,
        },
        orient="row",
    )
    total = pl.lit(pl.Series(totals.astype(np.int64))).gather(pl.col("cohort"))
    return (
        frame.with_columns((pl.col(unit) / total).alias("share"))
        .sort("cohort", "from_position", "from_order", "to_order")
        .with_columns(_cohort_names_expr(cohort_names).alias("cohort"))
        .select("cohort", "from_position", "from", "to_position", "to", unit, "share")
    )


def _paths_table(
    raw: np.ndarray,
    unit_cohort: np.ndarray,
    positions: list[int],
    cohort_names: tuple[str, ...],
    labels: list[str],
    top_paths: int,
    unit: str,
    start_code: int,
    end_code: int,
) -> pl.DataFrame:
    """Each cohort's most frequent full paths (not grouped) and an "other paths" row."""
    cols = [f"p{i}" for i in range(len(positions))]
    data = {"cohort": unit_cohort, **{c: raw[:, i] for i, c in enumerate(cols)}}
    counts = (
        pl.DataFrame(data)
        .group_by("cohort", *cols)
        .agg(pl.len().alias("n"))
        .sort(["cohort", "n", *cols], descending=[False, True, *([False] * len(cols))])
        .with_columns(pl.int_range(1, pl.len() + 1).over("cohort").alias("rank"))
    )
    totals = np.bincount(unit_cohort, minlength=len(cohort_names))
    shown = counts.filter(pl.col("rank") <= top_paths)
    zero = positions.index(0)
    rows = []
    for r in shown.iter_rows(named=True):
        seq = [int(r[c]) for c in cols]
        before = [labels[c] for c in seq[:zero] if c != start_code]
        after = [labels[c] for c in seq[zero + 1 :] if c != end_code]
        if zero and seq[0] == start_code:
            before.insert(0, labels[start_code])
        if zero < len(seq) - 1 and seq[-1] == end_code:
            after.append(labels[end_code])
        rows.append(
            (
                int(r["cohort"]),
                int(r["rank"]),
                _ARROW.join(before),
                labels[seq[zero]],
                _ARROW.join(after),
                int(r["n"]),
            )
        )
    anchor = labels[raw[0, zero]] if raw.shape[0] else ""
    shown_per = shown.group_by("cohort").agg(pl.col("n").sum(), pl.len().alias("k"))
    distinct = counts.group_by("cohort").agg(pl.len().alias("d"))
    got = {int(c): (int(n), int(k)) for c, n, k in shown_per.iter_rows()}
    dis = {int(c): int(d) for c, d in distinct.iter_rows()}
    for c in range(len(cohort_names)):
        n_shown, k = got.get(c, (0, 0))
        rest = int(totals[c]) - n_shown
        if rest:
            more = dis[c] - k
            rows.append((c, 0, f"{OTHER_PATHS} ({more:,} distinct)", anchor, "", rest))
    frame = pl.DataFrame(
        rows,
        schema={
            "cohort": pl.Int64,
            "rank": pl.Int64,
            "before": pl.String,
            "anchor": pl.String,
            "after": pl.String,
            unit: pl.Int64,
        },
        orient="row",
    )
    total = pl.lit(pl.Series(totals.astype(np.int64))).gather(pl.col("cohort"))
    return (
        frame.with_columns(
            (pl.col(unit) / total).alias("share"),
            (pl.col("rank") == 0).alias("_last"),
        )
        .sort("cohort", "_last", "rank")
        .with_columns(_cohort_names_expr(cohort_names).alias("cohort"))
        .select("cohort", "rank", "before", "anchor", "after", unit, "share")
    )


def _summary_table(
    raw: np.ndarray,
    grouped: np.ndarray,
    owner: np.ndarray,
    unit_cohort: np.ndarray,
    case_cohort: np.ndarray,
    positions: list[int],
    cohort_names: tuple[str, ...],
    other_code: int,
    unit: str,
) -> pl.DataFrame:
    """One row per cohort (empty cohorts too): accounts with and without the anchor, the
    anchor count, distinct paths before and after, and the share drawn without "other"."""
    k = len(cohort_names)
    accounts = np.bincount(case_cohort, minlength=k)
    with_anchor = np.bincount(case_cohort[np.unique(owner)], minlength=k)
    anchors = np.bincount(unit_cohort, minlength=k)
    covered_units = np.bincount(unit_cohort[~(grouped == other_code).any(axis=1)], minlength=k)
    zero = positions.index(0)

    def distinct(block: np.ndarray) -> np.ndarray:
        if block.shape[1] == 0:
            return (anchors > 0).astype(np.int64)
        frame = pl.DataFrame({"cohort": unit_cohort, **{f"p{i}": block[:, i] for i in range(block.shape[1])}})
        d = frame.unique().group_by("cohort").agg(pl.len().alias("d"))
        out = np.zeros(k, dtype=np.int64)
        for c, n in d.iter_rows():
            out[int(c)] = int(n)
        return out

    with np.errstate(invalid="ignore", divide="ignore"):
        covered = np.where(anchors > 0, covered_units / np.maximum(anchors, 1), np.nan)
    return pl.DataFrame(
        {
            "cohort": list(cohort_names),
            "accounts": accounts.astype(np.int64),
            "with_anchor": with_anchor.astype(np.int64),
            "without_anchor": (accounts - with_anchor).astype(np.int64),
            "anchors": anchors.astype(np.int64),
            "distinct_before": distinct(raw[:, :zero]),
            "distinct_after": distinct(raw[:, zero + 1 :]),
            "covered": covered.astype(np.float64),
            "unit": [unit] * k,
        }
    )

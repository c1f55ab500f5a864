"""Process models: Petri nets discovered with pm4py's miners, per cohort, and scored.

:func:`discover_process_model` runs pm4py's inductive or heuristics miner on a log (or on
each cohort of it) and returns a :class:`ProcessModel` (or a :class:`ProcessModels`
mapping of cohort to model). A model draws itself in a notebook, exports to JSON and DOT,
and is scored against its own log or another one with :meth:`ProcessModel.fitness` and
:meth:`ProcessModel.precision`.

pm4py (AGPL-3.0, the optional extra ``journeymine[pm4py]``) is imported only inside the
functions that call it. Drawing does not go through pm4py's visualiser, which hands
activity names to Graphviz in a way that can be read as HTML-like labels: the DOT text is
written here with :func:`journeymine._dot.quote`, so every activity is shown as text.

pm4py names the nodes of a net arbitrarily (the inductive miner uses random UUIDs), so the
exported places and transitions get canonical ids computed from the net's structure
(colour refinement over labels, markings and arcs): the same log gives the same
:meth:`~ProcessModel.to_dict` and :meth:`~ProcessModel.to_dot` in every process.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

import polars as pl

from ._cohorts import ALL, Cohorts, resolve
from ._display import GraphvizDisplayed
from ._dot import attrs, quote, render
from ._engine import require_embedded
from ._log import JourneyLog
from ._params import check_choice, check_int, invalid
from ._pm4py import ACTIVITY, CASE, TIMESTAMP, require_pm4py
from ._progress import interactive, progress
from ._results import CohortResults
from ._typing import CohortBy

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ALIGNMENTS_MAX_VARIANTS",
    "Miner",
    "ProcessModel",
    "ProcessModels",
    "ScoreMethod",
    "discover_process_model",
]

#: The process discovery algorithms on offer.
Miner = Literal["inductive", "heuristics"]
#: How fitness and precision are computed: token-based replay, alignments, or chosen by size.
ScoreMethod = Literal["auto", "token", "alignments"]

#: ``method="auto"`` uses alignments when the scored log has at most this many distinct
#: variants (activity sequences), and token-based replay otherwise. Alignments cost grows
#: fast with the number of variants and the concurrency in the model: on the demo data
#: they took 0.5-3 s for 20 variants, 13-80 s for 46 and 45-230 s for 250, where token
#: replay took well under a second (5 s for precision on the largest model).
ALIGNMENTS_MAX_VARIANTS = 20

_MINERS = ("inductive", "heuristics")
_METHODS = ("auto", "token", "alignments")
_SAVE_FORMATS = ("svg", "png", "pdf", "dot", "gv")


# -- the canonical structure of a net -------------------------------------------------------
@dataclass(frozen=True)
class _Place:
    id: str
    initial: int
    final: int


@dataclass(frozen=True)
class _Transition:
    id: str
    label: str | None  # None for a silent (tau) transition


@dataclass(frozen=True)
class _Structure:
    """A Petri net with canonical ids, places and transitions in a stable order."""

    places: tuple[_Place, ...]
    transitions: tuple[_Transition, ...]
    arcs: tuple[tuple[str, str, int], ...]  # (source id, target id, weight)


def _ranks(signatures: Sequence[Any]) -> list[int]:
    """Replace each signature by its rank among the distinct sorted signatures."""
    order = {sig: i for i, sig in enumerate(sorted(set(signatures)))}
    return [order[sig] for sig in signatures]


def _canonical(net: Any, initial_marking: Any, final_marking: Any) -> _Structure:
    """Name and order the nodes of a pm4py Petri net by structure alone.

    Each node starts with a colour from its kind, label and tokens; colours are refined
    with the multisets of the colours of its predecessors and successors until the
    partition stops changing (Weisfeiler-Lehman). Places come in flow order from the
    initial marking (final places last), visible transitions by label, silent ones in
    flow order. Only nodes that no colour tells apart keep pm4py's order among themselves.
    """
    places = list(net.places)
    transitions = list(net.transitions)
    nodes: list[Any] = [*places, *transitions]
    index = {id(node): i for i, node in enumerate(nodes)}
    n_places = len(places)
    preds: list[list[tuple[int, int]]] = [[] for _ in nodes]
    succs: list[list[tuple[int, int]]] = [[] for _ in nodes]
    arcs: list[tuple[int, int, int]] = []
    for arc in net.arcs:
        s, t, w = index[id(arc.source)], index[id(arc.target)], int(arc.weight)
        succs[s].append((t, w))
        preds[t].append((s, w))
        arcs.append((s, t, w))
    initial = [int(initial_marking.get(p, 0)) for p in places]
    final = [int(final_marking.get(p, 0)) for p in places]
    start: list[tuple[int, int, str, int, int]] = [
        (0, 0, "", initial[i], final[i]) for i in range(n_places)
    ]
    start += [(1, int(t.label is None), "" if t.label is None else str(t.label), 0, 0) for t in transitions]
    colour = _ranks(start)
    for _ in range(len(nodes)):
        refined = _ranks([
            (colour[i], tuple(sorted((colour[j], w) for j, w in preds[i])),
             tuple(sorted((colour[j], w) for j, w in succs[i])))
            for i in range(len(nodes))
        ])
        if len(set(refined)) == len(set(colour)):
            break
        colour = refined
    # breadth-first distance from the initial marking, for a reading order along the flow
    far = len(nodes) + 1
    dist = [far] * len(nodes)
    queue = deque(i for i in range(n_places) if initial[i] > 0)
    for i in queue:
        dist[i] = 0
    while queue:
        i = queue.popleft()
        for j, _w in succs[i]:
            if dist[j] == far:
                dist[j] = dist[i] + 1
                queue.append(j)
    place_order = sorted(range(n_places), key=lambda i: (initial[i] == 0, final[i] > 0, dist[i], colour[i]))
    trans_order = sorted(
        range(n_places, len(nodes)),
        key=lambda i: (start[i][1], start[i][2], dist[i], colour[i]),
    )
    names: dict[int, str] = {}
    for k, i in enumerate(place_order):
        names[i] = f"p{k}"
    for k, i in enumerate(trans_order):
        names[i] = f"t{k}"
    rank = {i: k for k, i in enumerate([*place_order, *trans_order])}
    return _Structure(
        places=tuple(_Place(names[i], initial[i], final[i]) for i in place_order),
        transitions=tuple(
            _Transition(names[i], None if start[i][1] else start[i][2]) for i in trans_order
        ),
        arcs=tuple(
            (names[s], names[t], w) for s, t, w in sorted(arcs, key=lambda a: (rank[a[0]], rank[a[1]]))
        ),
    )


# -- pm4py input --------------------------------------------------------------------------
def _pm4py_frame(log: JourneyLog) -> pd.DataFrame:
    """The three columns pm4py's miners and replayers read, in its layout.

    The same values and dtypes as ``log.to_pm4py()``, without the other columns. The
    frame's ``attrs`` reach pm4py as parameters: progress bars only when a person watches.
    """
    frame = log.to_polars("events").select(
        pl.col("case").alias(CASE), pl.col("activity").alias(ACTIVITY), pl.col("timestamp").alias(TIMESTAMP)
    ).to_pandas()
    frame.attrs["show_progress_bar"] = interactive()
    return frame


@contextmanager
def _quiet_pm4py() -> Iterator[None]:
    """Silence pm4py's internal use of ``numpy.matrix`` while it runs.

    numpy flags every ``numpy.matrix`` with a PendingDeprecationWarning. Under warning
    filters that turn warnings into errors, pm4py's alignments catch the exception inside
    their soundness check and wrongly report the net as not sound; the warning says nothing
    about the caller's code either way.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="the matrix subclass", category=PendingDeprecationWarning)
        yield


def _n_variants(log: JourneyLog) -> int:
    """Number of distinct activity sequences (variants) in ``log``."""
    seqs = log.to_polars("events").group_by("case").agg(pl.col("activity")).get_column("activity")
    return int(seqs.n_unique())


def _check_noise(noise: Any, owner: str) -> float:
    ok = isinstance(noise, (int, float)) and not isinstance(noise, bool)
    if not ok or not math.isfinite(noise) or not 0.0 <= noise <= 1.0:
        raise invalid("noise", owner, "a float in [0, 1]", noise)
    return float(noise)


def _check_log(log: Any, owner: str) -> None:
    if log is not None and not isinstance(log, JourneyLog):
        raise invalid(
            "log", owner, "a JourneyLog or None (build one with jm.JourneyLog.from_frame)",
            type(log).__name__,
        )


#: the columns of :attr:`ProcessModel.summary` (and of :attr:`ProcessModels.summary`)
_SUMMARY_COLUMNS = ["cohort", "n_cases", "n_events", "n_variants", "n_transitions", "n_silent", "n_places",
                    "n_arcs"]
_ARC_COLUMNS = ["source", "source_kind", "source_label", "target", "target_kind", "target_label", "weight"]


# -- one model ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class ProcessModel(GraphvizDisplayed):
    """A Petri net discovered from a log (or one cohort of it), ready to draw and score.

    Built by :func:`discover_process_model`; not meant to be constructed directly.

    Attributes
    ----------
    miner : {"inductive", "heuristics"}
        The discovery algorithm.
    noise : float
        The noise setting it ran with (see :func:`discover_process_model`).
    cohort : str or None
        The cohort key, or None for a model of the whole log.
    n_cases, n_events, n_variants : int
        Size of the log the model was discovered from; variants are distinct activity
        sequences.
    net, initial_marking, final_marking
        The pm4py ``PetriNet`` and its ``Marking`` objects (also :meth:`to_pm4py`).
    process_tree
        The pm4py ``ProcessTree`` of an inductive model (the net is its translation);
        None for the heuristics miner.
    summary : pandas.DataFrame
        One row: the cohort (``"(all)"`` for a whole log), sizes of the log and of the net.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    >>> model = jm.discover_process_model(log, noise=0.0)
    >>> model
    <ProcessModel inductive (noise=0.0): ... transitions (... silent), ... places, 200 cases>
    >>> model.fitness(method="token")["fitness"]   # guaranteed by the inductive miner at noise 0
    1.0
    >>> sorted(model.to_dict())[:4]
    ['arcs', 'cohort', 'final_marking', 'initial_marking']
    """

    miner: Miner
    noise: float
    cohort: str | None
    n_cases: int
    n_events: int
    n_variants: int
    net: Any
    initial_marking: Any
    final_marking: Any
    process_tree: Any
    _log: JourneyLog
    _structure: _Structure
    _cache: dict[Any, Any] = field(default_factory=dict)

    # -- structure ------------------------------------------------------------------------
    @property
    def n_places(self) -> int:
        """Number of places."""
        return len(self._structure.places)

    @property
    def n_transitions(self) -> int:
        """Number of transitions, silent ones included."""
        return len(self._structure.transitions)

    @property
    def n_silent(self) -> int:
        """Number of silent (tau) transitions: skips, loop backs, splits and joins."""
        return sum(t.label is None for t in self._structure.transitions)

    @property
    def activities(self) -> tuple[str, ...]:
        """Labels of the visible transitions, sorted."""
        return tuple(sorted({t.label for t in self._structure.transitions if t.label is not None}))

    @property
    def summary(self) -> pd.DataFrame:
        """One row: sizes of the log and of the net (no scoring, so it is quick)."""
        import pandas as pd

        row = {
            "cohort": ALL if self.cohort is None else self.cohort, "n_cases": self.n_cases,
            "n_events": self.n_events, "n_variants": self.n_variants, "n_transitions": self.n_transitions,
            "n_silent": self.n_silent, "n_places": self.n_places, "n_arcs": len(self._structure.arcs),
        }
        return pd.DataFrame([row], columns=_SUMMARY_COLUMNS)

    def to_pm4py(self) -> tuple[Any, Any, Any]:
        """Return ``(net, initial_marking, final_marking)`` for pm4py's own functions."""
        return self.net, self.initial_marking, self.final_marking

    # -- scores ---------------------------------------------------------------------------
    def _target(
        self, log: JourneyLog | None, method: str, owner: str
    ) -> tuple[JourneyLog, Literal["token", "alignments"]]:
        check_choice("method", owner, method, _METHODS)
        _check_log(log, owner)
        target = self._log if log is None else log
        if method == "token":
            return target, "token"
        if method == "auto":
            n = self.n_variants if log is None else _n_variants(target)
            if n > ALIGNMENTS_MAX_VARIANTS:
                return target, "token"
        if self._alignable():
            return target, "alignments"
        if method == "auto":
            return target, "token"
        raise invalid(
            "method", owner,
            "'token' or 'auto' for this net: it has no path from its initial to its final marking, "
            "which alignments need", method,
        )

    def _alignable(self) -> bool:
        """Whether the final marking can be reached from the initial one (easy soundness).

        pm4py's alignments refuse nets without such a path; a heuristics net can lack one.
        """
        if "alignable" not in self._cache:
            require_pm4py("Alignments")  # a clear error if pm4py is missing
            from pm4py.objects.petri_net.utils.check_soundness import (
                check_easy_soundness_net_in_fin_marking,
            )

            with _quiet_pm4py():
                self._cache["alignable"] = bool(check_easy_soundness_net_in_fin_marking(*self.to_pm4py()))
        return bool(self._cache["alignable"])

    def fitness(self, log: JourneyLog | None = None, *, method: ScoreMethod = "auto") -> dict[str, Any]:
        """How much of the log's behaviour the model can replay (1.0: all of it).

        Parameters
        ----------
        log : JourneyLog, optional
            The log to score against; by default the one the model was discovered from
            (pass another, say a later period, to check the model on new journeys).
        method : {"auto", "token", "alignments"}
            ``"token"``: pm4py's token-based replay (fast, approximate where the model has
            many silent transitions); ``"alignments"``: optimal alignments (exact, can take
            minutes on logs with many variants); ``"auto"``: alignments when the log has at
            most :data:`ALIGNMENTS_MAX_VARIANTS` variants, token replay otherwise.

        Returns
        -------
        dict
            ``method`` (the one used); ``fitness``: with token replay pm4py's log fitness
            (produced, consumed, missing and remaining tokens summed over the log), with
            alignments the mean of the journeys' alignment fitness;
            ``average_trace_fitness``; ``percentage_of_fitting_traces`` (0-100).

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
        >>> fit = jm.discover_process_model(log, miner="heuristics").fitness()
        >>> fit["method"], 0.0 <= fit["fitness"] <= 1.0
        ('token', True)
        """
        target, used = self._target(log, method, "ProcessModel.fitness")
        key = ("fitness", used)
        if log is None and key in self._cache:
            return dict(self._cache[key])
        pm4py = require_pm4py("ProcessModel.fitness")
        frame = _pm4py_frame(target)
        with _quiet_pm4py():
            if used == "alignments":
                raw = pm4py.fitness_alignments(frame, *self.to_pm4py())
            else:
                raw = pm4py.fitness_token_based_replay(frame, *self.to_pm4py())
        # pm4py's headline figure for each method: the log fitness of token replay, the
        # mean trace fitness of alignments (its alignment "log_fitness" counts each silent
        # step as a tiny cost, so it reads 0.99997 when every journey fits)
        headline = raw["log_fitness"] if used == "token" else raw["average_trace_fitness"]
        out: dict[str, Any] = {
            "method": used,
            "fitness": float(headline),
            "average_trace_fitness": float(raw["average_trace_fitness"]),
            "percentage_of_fitting_traces": float(raw["percentage_of_fitting_traces"]),
        }
        if log is None:
            self._cache[key] = dict(out)
        return out

    def precision(self, log: JourneyLog | None = None, *, method: ScoreMethod = "auto") -> float:
        """How little behaviour the model allows beyond the log's (1.0: nothing more).

        ETConformance: after each prefix of each journey, the activities the model
        enables are compared with those that follow in the log. ``"token"`` replays the
        prefixes, ``"alignments"`` aligns them first (Align-ETConformance); ``log`` and
        ``method`` as in :meth:`fitness`. A flower model (anything in any order) scores
        near 0.

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
        >>> p = jm.discover_process_model(log, miner="heuristics").precision()
        >>> 0.0 < p <= 1.0
        True
        """
        target, used = self._target(log, method, "ProcessModel.precision")
        key = ("precision", used)
        if log is None and key in self._cache:
            return float(self._cache[key])
        pm4py = require_pm4py("ProcessModel.precision")
        frame = _pm4py_frame(target)
        with _quiet_pm4py():
            if used == "alignments":
                raw = pm4py.precision_alignments(frame, *self.to_pm4py())
            else:
                raw = pm4py.precision_token_based_replay(frame, *self.to_pm4py())
        value = float(raw)
        if log is None:
            self._cache[key] = value
        return value

    def scores(self, log: JourneyLog | None = None, *, method: ScoreMethod = "auto") -> dict[str, Any]:
        """Fitness and precision together: the keys of :meth:`fitness` plus ``precision``.

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
        >>> s = jm.discover_process_model(log, miner="heuristics").scores()
        >>> sorted(s)
        ['average_trace_fitness', 'fitness', 'method', 'percentage_of_fitting_traces', 'precision']
        """
        _, used = self._target(log, method, "ProcessModel.scores")
        out = self.fitness(log, method=used)
        out["precision"] = self.precision(log, method=used)
        return out

    # -- export ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-safe data: settings, sizes, places, transitions, arcs, markings.

        Places and transitions carry canonical ids (``p0`` …, ``t0`` …) in a stable order;
        a silent transition has ``label`` None. ``process_tree`` is pm4py's text form of
        the inductive miner's tree.
        """
        s = self._structure
        return {
            "miner": self.miner,
            "noise": self.noise,
            "parameters": self._parameters(),
            "cohort": self.cohort,
            "n_cases": self.n_cases,
            "n_events": self.n_events,
            "n_variants": self.n_variants,
            "n_places": len(s.places),
            "n_transitions": len(s.transitions),
            "n_silent": self.n_silent,
            "n_arcs": len(s.arcs),
            "places": [{"id": p.id, "initial": p.initial, "final": p.final} for p in s.places],
            "transitions": [
                {"id": t.id, "label": t.label, "silent": t.label is None} for t in s.transitions
            ],
            "arcs": [{"source": a, "target": b, "weight": w} for a, b, w in s.arcs],
            "initial_marking": {p.id: p.initial for p in s.places if p.initial},
            "final_marking": {p.id: p.final for p in s.places if p.final},
            "process_tree": None if self.process_tree is None else str(self.process_tree),
        }

    def to_dataframe(self) -> pd.DataFrame:
        """The arcs as a table: source and target id, kind and label, and weight.

        Examples
        --------
        >>> import journeymine as jm
        >>> m = jm.discover_process_model(jm.datasets.demo_b2b(n_accounts=200, random_state=0))
        >>> list(m.to_dataframe().columns)
        ['source', 'source_kind', 'source_label', 'target', 'target_kind', 'target_label', 'weight']
        """
        import pandas as pd

        labels = {t.id: t.label for t in self._structure.transitions}
        rows = [
            {
                "source": a,
                "source_kind": "transition" if a in labels else "place",
                "source_label": labels.get(a),
                "target": b,
                "target_kind": "transition" if b in labels else "place",
                "target_label": labels.get(b),
                "weight": w,
            }
            for a, b, w in self._structure.arcs
        ]
        return pd.DataFrame(rows, columns=_ARC_COLUMNS)

    def _parameters(self) -> dict[str, float]:
        if self.miner == "inductive":
            return {"noise_threshold": self.noise}
        return {"dependency_threshold": self.noise}

    def _title(self) -> str:
        who = "" if self.cohort is None else f"{self.cohort} · "
        return f"{who}{self.miner} miner (noise {self.noise:g}) · {self.n_cases:,} cases"

    def to_dot(self) -> str:
        """Graphviz DOT text of the net, drawn left to right.

        Places are circles (the initial marking green with its token, the final marking a
        green-red double circle), transitions boxes labelled with the activity, silent
        transitions small black boxes. Every label is a quoted DOT string, so activity
        names are shown as text whatever characters they hold.

        Examples
        --------
        >>> import journeymine as jm
        >>> m = jm.discover_process_model(jm.datasets.demo_b2b(n_accounts=200, random_state=0))
        >>> print(m.to_dot().splitlines()[0])
        digraph process_model {
        """
        s = self._structure
        lines = [
            "digraph process_model {",
            "  graph " + attrs(rankdir="LR", label=self._title(), labelloc="t", labeljust="l",
                               fontname="Helvetica", fontsize=12, nodesep=0.25, ranksep=0.35) + ";",
            "  node " + attrs(fontname="Helvetica", fontsize=11) + ";",
            "  edge " + attrs(arrowsize=0.6, color="#495057") + ";",
        ]
        for p in s.places:
            token = "●" if p.initial == 1 else (f"●{p.initial}" if p.initial else "")
            if p.initial:
                style = attrs(shape="doublecircle" if p.final else "circle", label=token,
                              style="filled", fillcolor="#d3f9d8", width=0.35, fixedsize="true",
                              tooltip="initial marking")
            elif p.final:
                style = attrs(shape="doublecircle", label="", style="filled", fillcolor="#ffe3e3",
                              width=0.3, fixedsize="true", tooltip="final marking")
            else:
                style = attrs(shape="circle", label="", width=0.3, fixedsize="true")
            lines.append(f"  {quote(p.id)} {style};")
        for t in s.transitions:
            if t.label is None:
                style = attrs(shape="box", label="", style="filled", fillcolor="#212529", width=0.12,
                              height=0.32, fixedsize="true", tooltip="silent transition (tau)")
            else:
                style = attrs(shape="box", label=t.label, style="rounded,filled", fillcolor="#e7f5ff",
                              color="#1c7ed6", tooltip=t.label)
            lines.append(f"  {quote(t.id)} {style};")
        for a, b, w in s.arcs:
            weight = " " + attrs(label=w) if w != 1 else ""
            lines.append(f"  {quote(a)} -> {quote(b)}{weight};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _svg(self) -> str:
        svg = self._cache.get("svg")
        if svg is None:
            raw = render(self.to_dot(), fmt="svg").decode("utf-8")
            start = raw.find("<svg")
            svg = raw[start:] if start >= 0 else raw
            self._cache["svg"] = svg
        return str(svg)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the drawing; the format follows the suffix (.svg, .png, .pdf, .dot or .gv).

        Returns the path written.
        """
        p = Path(path)
        fmt = p.suffix.lower().lstrip(".")
        if fmt not in _SAVE_FORMATS:
            raise invalid("path", "ProcessModel.save", "a file name ending in .svg, .png, .pdf, .dot or .gv",
                          str(path))
        from ._output import write_file

        data = (self.to_dot() if fmt in ("dot", "gv") else self._svg() if fmt == "svg"
                else render(self.to_dot(), fmt=fmt))
        return write_file(p, data, owner="ProcessModel.save")

    # -- display --------------------------------------------------------------------------
    _display_kind: ClassVar[str] = "model"

    def _drawing_svg(self) -> str:
        return self._svg()

    def __repr__(self) -> str:
        who = "" if self.cohort is None else f" {self.cohort!r}"
        return (
            f"<ProcessModel{who} {self.miner} (noise={self.noise!r}): {self.n_transitions:,} transitions "
            f"({self.n_silent:,} silent), {self.n_places:,} places, {self.n_cases:,} cases>"
        )


# -- models per cohort ----------------------------------------------------------------------
class ProcessModels(CohortResults[ProcessModel]):
    """One :class:`ProcessModel` per cohort, largest cohort first; immutable.

    Built by :func:`discover_process_model` with ``by=``. Index it by cohort key; in a
    notebook it shows every cohort's net under a heading.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per cohort: sizes of the log and of the net (no scoring, so it is quick).
    by : str or tuple of str
        How the cohorts were formed (a function shows as ``"<function name>"``).
    excluded : dict
        Cohorts left out for having fewer than ``min_cases`` cases, with their sizes.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    >>> models = jm.discover_process_model(log, by="segment")
    >>> list(models)
    ['SMB', 'Mid-market', 'Enterprise']
    >>> models["SMB"].n_cases == log.filter_cases(segment="SMB").n_cases
    True
    >>> models.summary[["cohort", "n_cases"]]
           cohort  n_cases
    0         SMB       90
    1  Mid-market       66
    2  Enterprise       44
    """

    __slots__ = ("_miner", "_noise")
    _miner: Miner
    _noise: float
    _noun = "model"
    _items_key = "models"
    _unit = "cases"

    def __init__(
        self,
        models: Mapping[str, ProcessModel],
        *,
        miner: Miner,
        noise: float,
        cohorts: Cohorts,
        excluded: Mapping[str, int],
    ) -> None:
        super().__init__(models, cohorts=cohorts, excluded=excluded)
        object.__setattr__(self, "_miner", miner)
        object.__setattr__(self, "_noise", noise)

    @property
    def miner(self) -> Miner:
        """The discovery algorithm used for every cohort."""
        return self._miner

    @property
    def noise(self) -> float:
        """The noise setting used for every cohort."""
        return self._noise

    def scores(self, *, method: ScoreMethod = "auto") -> pd.DataFrame:
        """Fitness and precision of each cohort's model on its own cohort, one row each.

        Columns: ``cohort``, ``n_cases``, ``n_variants``, ``method`` (the one used: with
        ``"auto"`` small cohorts get alignments), ``fitness``,
        ``percentage_of_fitting_traces`` and ``precision``.

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
        >>> s = jm.discover_process_model(log, by="segment", miner="heuristics").scores()
        >>> s[["cohort", "n_cases", "method"]]
               cohort  n_cases method
        0         SMB       90  token
        1  Mid-market       66  token
        2  Enterprise       44  token
        """
        import pandas as pd

        check_choice("method", "ProcessModels.scores", method, _METHODS)
        rows = []
        for key, model in progress(self._items.items(), total=len(self._items), desc="Scoring cohorts"):
            s = model.scores(method=method)
            rows.append({
                "cohort": key, "n_cases": model.n_cases, "n_variants": model.n_variants,
                "method": s["method"], "fitness": s["fitness"],
                "percentage_of_fitting_traces": s["percentage_of_fitting_traces"],
                "precision": s["precision"],
            })
        columns = ["cohort", "n_cases", "n_variants", "method", "fitness", "percentage_of_fitting_traces",
                   "precision"]
        return pd.DataFrame(rows, columns=columns)

    def to_dataframe(self) -> pd.DataFrame:
        """The arcs of every cohort's net (:meth:`ProcessModel.to_dataframe`) with a ``cohort`` column."""
        return super().to_dataframe()

    def _settings(self) -> dict[str, Any]:
        return {"miner": self._miner, "noise": self._noise}

    def _summary_columns(self) -> list[str]:
        return list(_SUMMARY_COLUMNS)

    def _empty_columns(self, *args: Any, **options: Any) -> list[str]:
        return list(_ARC_COLUMNS)

    def _draw(self, key: str) -> str:
        return self._items[key]._svg()

    def __repr__(self) -> str:
        shown = ", ".join(f"{k!r} ({m.n_cases:,})" for k, m in list(self._items.items())[:5])
        more = " …" if len(self._items) > 5 else ""
        total = sum(m.n_cases for m in self._items.values())
        return (
            f"<ProcessModels {self._miner} (noise={self._noise!r}) by {self.by!r}: "
            f"{len(self._items)} cohorts, {total:,} cases; {shown}{more}>"
        )


# -- discovery ----------------------------------------------------------------------------
def _discover(pm4py: Any, log: JourneyLog, miner: Miner, noise: float, cohort: str | None) -> ProcessModel:
    frame = _pm4py_frame(log)
    tree = None
    with _quiet_pm4py():
        if miner == "inductive":
            # pm4py.discover_petri_net_inductive is this tree, translated; keep both
            tree = pm4py.discover_process_tree_inductive(frame, noise_threshold=noise)
            net, im, fm = pm4py.convert_to_petri_net(tree)
        else:
            net, im, fm = pm4py.discover_petri_net_heuristics(frame, dependency_threshold=noise)
    return ProcessModel(
        miner=miner,
        noise=noise,
        cohort=cohort,
        n_cases=log.n_cases,
        n_events=log.n_events,
        n_variants=_n_variants(log),
        net=net,
        initial_marking=im,
        final_marking=fm,
        process_tree=tree,
        _log=log,
        _structure=_canonical(net, im, fm),
    )


@overload
def discover_process_model(
    log: JourneyLog, *, miner: Miner = ..., by: None = ..., noise: float = ..., min_cases: int = ...
) -> ProcessModel: ...


@overload
def discover_process_model(
    log: JourneyLog, *, miner: Miner = ..., by: CohortBy, noise: float = ..., min_cases: int = ...
) -> ProcessModels: ...


def discover_process_model(
    log: JourneyLog,
    *,
    miner: Miner = "inductive",
    by: CohortBy | None = None,
    noise: float = 0.2,
    min_cases: int = 1,
) -> ProcessModel | ProcessModels:
    """Discover a Petri net of the journeys with pm4py, for the whole log or per cohort.

    Parameters
    ----------
    log : JourneyLog
        The journeys.
    miner : {"inductive", "heuristics"}
        ``"inductive"`` (pm4py's Inductive Miner, IMf when ``noise > 0``): a sound,
        block-structured model that replays every journey at ``noise=0``, but on
        unstructured journeys it generalises with loops and skips that allow far more
        than was seen (low precision). ``"heuristics"`` (Heuristics Miner): a
        frequency-based dependency graph that shows the main flow and shrugs off rare
        steps, but the net may be unsound (journeys can get stuck) and fit less well.
    by : str, list of str or callable, optional
        Discover one model per cohort (see :meth:`JourneyLog.cohorts`); the result is then
        a :class:`ProcessModels`.
    noise : float in [0, 1]
        How much infrequent behaviour to leave out; higher gives simpler models. For the
        inductive miner it is pm4py's ``noise_threshold`` (0 runs plain IM, which
        guarantees perfect fitness). For the heuristics miner it is pm4py's
        ``dependency_threshold``: dependencies weaker than ``noise`` are dropped, 0 keeps
        every positive one and 0.5 is pm4py's default.
    min_cases : int
        With ``by``, cohorts with fewer cases get no model (a warning names them).

    Returns
    -------
    ProcessModel or ProcessModels
        One model, or one per cohort (largest first) when ``by`` is given.

    Raises
    ------
    InvalidParameterError
        An option has a value it does not accept.
    SchemaError
        ``by`` names something that is not a case attribute.
    MissingDependencyError
        pm4py is not installed (``pip install 'journeymine[pm4py]'``).

    Notes
    -----
    Score a model with :meth:`ProcessModel.fitness` and :meth:`ProcessModel.precision`.
    Only each cohort's events are given to pm4py, so a cohort's model knows nothing of the
    other cohorts.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=200, random_state=0)
    >>> model = jm.discover_process_model(log, miner="inductive", noise=0.2)
    >>> model.n_cases, model.miner, "Demo" in model.activities
    (200, 'inductive', True)
    >>> models = jm.discover_process_model(log, miner="heuristics", by="segment", noise=0.5)
    >>> models
    <ProcessModels heuristics (noise=0.5) by 'segment': 3 cohorts, 200 cases; 'SMB' (90), ...>
    """
    owner = "discover_process_model"
    check_choice("miner", owner, miner, _MINERS)
    value = _check_noise(noise, owner)
    check_int("min_cases", owner, min_cases, minimum=1)
    if not isinstance(log, JourneyLog):
        raise invalid("log", owner, "a JourneyLog", type(log).__name__)
    require_embedded(log, owner)
    if by is None:
        pm4py = require_pm4py(owner)
        return _discover(pm4py, log, miner, value, None)
    cohorts = resolve(log, by)  # raises SchemaError for an unknown attribute, before pm4py loads
    keys = pl.Series("cohort", cohorts.keys, dtype=pl.String)
    sizes = keys.value_counts(name="n")
    excluded = {str(k): int(n) for k, n in sizes.filter(pl.col("n") < min_cases).sort(
        ["n", keys.name], descending=[True, False]).iter_rows()}
    logs = log.cohorts(cohorts, min_cases=min_cases)  # the keys resolved above, not by again
    logs = {k: logs[k] for k in cohorts.order({k: sub.n_cases for k, sub in logs.items()})}
    if cohorts.in_time:  # empty periods are shown, with 0 accounts
        excluded = {k: excluded.get(k, 0) for k in cohorts.names if k not in logs}
    pm4py = require_pm4py(owner)
    models = {
        str(key): _discover(pm4py, sub, miner, value, str(key))
        for key, sub in progress(logs.items(), total=len(logs), desc="Discovering models")
    }
    return ProcessModels(models, miner=miner, noise=value, cohorts=cohorts, excluded=excluded)

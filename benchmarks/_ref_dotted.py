"""The dotted chart against pm4py's (the only place pm4py's dotted chart is imported).

pm4py is AGPL: it is imported lazily here, in the benchmark, never in ``src``. Its dotted
chart (``pm4py.save_vis_dotted_chart``, pm4py 2.7) writes one Graphviz node per event and
lays them out with ``neato -n1``; journeymine writes SVG itself (dots, or the density view
above ``max_accounts`` accounts). Fair-baseline notes:

* both are timed on a log already in memory in their own form (pm4py: a frame passed
  through ``format_dataframe``; journeymine: a ``JourneyLog``), so reading and pm4py's
  ``format_dataframe`` (most of its ingest time, ANCHORS.md) are left out;
* both write an SVG file of the default chart: x = time, y = case (pm4py: in order of
  occurrence; journeymine: sorted by start, the same order up to ties), colour =
  activity; PNG would add Cairo's rasterisation to both;
* pm4py draws every event whatever the size (its SVG grows with the events; Graphviz
  runs out of time on large logs): give ``timeout`` to stop it, reported as ``inf``
  (its shell and ``neato`` are stopped with it: they run in the timed process's group);
* pm4py calls ``neato`` through ``os.system`` without checking it: both sides check that
  an SVG was written (an error otherwise, never a time).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["jm_dotted", "pm4py_dotted", "pm4py_frame"]


def pm4py_frame(path_or_frame: Any) -> Any:
    """A pandas frame in pm4py's columns: from an XES file, a ``JourneyLog`` or a frame
    already in pm4py's columns."""
    import pm4py

    if isinstance(path_or_frame, (str, os.PathLike)):
        p = Path(path_or_frame)
        if p.suffix in (".gz", ".xes"):
            return pm4py.read_xes(str(p))
        raise ValueError(f"give an XES file, a JourneyLog or a frame; got {p}")
    if hasattr(path_or_frame, "to_pm4py"):
        frame = path_or_frame.to_pm4py()
    else:
        frame = path_or_frame
    return pm4py.format_dataframe(
        frame, case_id="case:concept:name", activity_key="concept:name", timestamp_key="time:timestamp"
    )


def _pm4py_run(frame: Any, out: str, queue: Any, own_group: bool = False) -> None:
    import pm4py

    if own_group:  # so that a timeout also stops the shell and neato pm4py starts
        os.setsid()
    start = time.perf_counter()
    pm4py.save_vis_dotted_chart(frame, out)
    queue.put(time.perf_counter() - start)


def _check_svg(out: str) -> None:
    # pm4py runs neato through os.system and does not look at its exit status: an empty
    # or missing file is a failure, not a time
    path = Path(out)
    size = path.stat().st_size if path.exists() else 0
    head = tail = b""
    if size:
        with open(path, "rb") as fh:
            head = fh.read(1000)
            fh.seek(max(size - 100, 0))
            tail = fh.read()
    if b"<svg" not in head or b"</svg>" not in tail:
        raise RuntimeError(f"no complete SVG written to {out} ({size} bytes)")


def pm4py_dotted(path_or_frame: Any, *, timeout: float | None = None, out: str | os.PathLike[str] | None = None) -> float:
    """Seconds pm4py takes to write its default dotted chart as SVG (``inf`` past
    ``timeout``; the frame is prepared first and not timed). ``out``: keep the SVG there
    (default: a temporary file)."""
    frame = pm4py_frame(path_or_frame)
    with tempfile.TemporaryDirectory() as folder:
        target = str(out) if out is not None else str(Path(folder) / "pm4py_dotted.svg")
        if timeout is None:
            queue: Any = mp.Queue()
            _pm4py_run(frame, target, queue)
            seconds = float(queue.get())
            _check_svg(target)
            return seconds
        ctx = mp.get_context("fork")
        queue = ctx.Queue()
        proc = ctx.Process(target=_pm4py_run, args=(frame, target, queue, True))
        proc.start()
        proc.join(timeout)
        if proc.is_alive():
            # the whole process group: pm4py's child, its shell and neato
            os.killpg(proc.pid, signal.SIGKILL)
            proc.join()
            return float("inf")
        if proc.exitcode != 0:
            raise RuntimeError(f"pm4py's dotted chart failed (exit code {proc.exitcode})")
        seconds = float(queue.get(timeout=60))
        _check_svg(target)
        return seconds


def jm_dotted(log: Any, *, out: str | os.PathLike[str] | None = None, **options: Any) -> float:
    """Seconds journeymine takes to compute and write its dotted chart as SVG (``out``:
    keep the SVG there)."""
    import journeymine as jm

    with tempfile.TemporaryDirectory() as folder:
        target = Path(out) if out is not None else Path(folder) / "jm_dotted.svg"
        start = time.perf_counter()
        jm.dotted_chart(log, **options).save(target)
        seconds = time.perf_counter() - start
        _check_svg(str(target))
        return seconds

"""Same input and random_state → same bytes: twice in one process, and in processes with
different ``PYTHONHASHSEED`` (string hashing, hence set and dict-from-set order) and a
different number of polars threads.

Every public function and estimator is run on the demo log, and on real public logs (receipt,
sepsis) where they are found; each output is serialised canonically (tables with their
columns, dtypes, index and every value at full precision; SVG, DOT and HTML as text, PDF and
PNG as bytes; ``to_dict()`` as JSON in its own key order) and reduced to a sha256 digest.
``SOURCE_DATE_EPOCH`` is set, as a reproducible build sets it, for the outputs that carry a
time. One subprocess per hash seed computes every digest and writes them as JSON, so a
failure names the outputs that differ.

Run as a script (``python tests/test_repeatability.py OUT.json [DATA_DIR]``) it writes the
digests of the process it runs in.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import journeymine as jm
from real_logs import sepsis

# one worker computes the digests once for both tests (make test runs two workers)
pytestmark = [pytest.mark.xdist_group("repeatability"), pytest.mark.slow]

OUT = jm.datasets.DEMO_OUTCOMES
WON = OUT["won"]
#: a fixed "generated on" time for the report, as a reproducible build would set it
EPOCH = "1700000000"


# -- canonical bytes -------------------------------------------------------------------------


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return canonical(obj).decode("utf-8")
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (pd.Timestamp, pd.Timedelta)):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def canonical(obj: Any) -> bytes:
    """Bytes that change when any value, its type or its order changes."""
    if isinstance(obj, bytes):
        return obj
    if isinstance(obj, str):
        return obj.encode("utf-8")
    if isinstance(obj, pd.Series):
        return canonical(obj.to_frame(name=str(obj.name)))
    if isinstance(obj, pd.DataFrame):
        buf = io.StringIO()
        buf.write(repr([(str(c), str(t)) for c, t in obj.dtypes.items()]) + "\n")
        buf.write(repr(list(obj.index.names)) + " " + str(obj.index.dtype) + "\n")
        # floats are written by repr, which round-trips float64 exactly
        obj.to_csv(buf, lineterminator="\n")
        return buf.getvalue().encode("utf-8")
    if isinstance(obj, np.ndarray):
        return repr((obj.dtype.str, obj.shape)).encode() + obj.tobytes()
    return json.dumps(obj, default=_json_default, ensure_ascii=False, allow_nan=True).encode("utf-8")


# -- what is fingerprinted -----------------------------------------------------------------


def _outputs(
    demo: jm.JourneyLog, real: tuple[jm.JourneyLog, jm.JourneyLog] | None, tmp: Path
) -> Iterator[tuple[str, Any]]:
    """(name, output) for every public function and estimator; lazily, so one output at a time."""
    yield "demo.events", demo.events
    yield "demo.cases", demo.cases

    cmp = jm.compare_cohorts(demo, by="segment", outcomes=OUT, random_state=0)
    for table in ("transitions", "activities", "durations", "outcomes", "variants", "committee", "summary"):
        yield f"compare.{table}", getattr(cmp, table)
    yield "compare.to_dict", cmp.to_dict()
    yield "compare.differential_map", cmp.differential_map(0).svg
    yield "compare.repr_html", cmp._repr_html_()
    cmp_all = jm.compare_cohorts(demo, by="market", pairs="all", n_permutations=49, random_state=1)
    yield "compare.pairs_all", cmp_all.to_dataframe()

    est = jm.JourneyClusterer(random_state=0).fit(demo)
    yield "clusterer.labels_", est.labels_
    yield "clusterer.summary", est.summary(outcomes=OUT)
    yield "clusterer.explain", est.explain()
    yield "clusterer.representatives_", est.representatives_
    yield "clusterer.predict", est.predict(demo)
    yield "clusterer.maps", est.maps().to_dataframe()
    yield "clusterer.subway", jm.subway_map(est, timing=True).svg
    yield "clusterer.repr_html", est._repr_html_()
    yield "clusterer.stability", {"stability_": est.stability_, "cluster_stability_": est.cluster_stability_}
    yield "clusterer.selection_scores_", est.selection_scores_
    for rep in ("ngram", "profile+timing"):  # profile+timing runs the "profile" code too
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The clusters depend on the start", jm.JourneymineWarning)
            other = jm.JourneyClusterer(n_clusters=3, representation=rep, random_state=0).fit(demo)  # type: ignore[arg-type]
        yield f"clusterer.{rep}.labels_", other.labels_
        yield f"clusterer.{rep}.cluster_stability_", other.cluster_stability_
        yield f"clusterer.{rep}.summary", other.summary()

    bc = jm.buying_committee(demo, outcomes=OUT, at="Proposal sent", by="segment", random_state=0)
    for table in ("accounts", "roles", "drivers", "engagement", "handover", "summary"):
        yield f"committee.{table}", getattr(bc, table)
    yield "committee.to_dict", bc.to_dict()
    yield "committee.explain", bc.explain()
    yield "committee.map", bc.committee_map_svg()
    yield "committee.repr_html", bc._repr_html_()

    model = jm.JourneyOutcomeModel(outcomes=OUT, target="won", step="60D", random_state=0)
    model.fit(demo.filter_time(end="2024-06-01", mode="contained"))
    yield "outcome_model.predict_proba", model.predict_proba(demo, at="2025-01-01")
    evaluation = model.evaluate(demo, at="2024-09-01")
    yield "outcome_model.evaluate", evaluation.to_dict()
    yield "outcome_model.reliability", evaluation.draw()
    yield "outcome_model.explain", model.explain()
    yield "outcome_model.selection", model.selection_
    yield "outcome_model.reasons", model.reasons(demo, at="2025-01-01")

    for by in ("activity", "channel"):
        att = jm.attribution(demo, conversion=WON, by=by)  # type: ignore[arg-type]
        yield f"attribution.{by}", att.to_dataframe()
        yield f"attribution.{by}.assisted", att.assisted
        yield f"attribution.{by}.to_dict", att.to_dict()
    yield "attribution.markov_order2", jm.attribution(demo, conversion=WON, models=["markov"], order=2).to_dataframe()

    whole = jm.journey_map(demo)
    assert isinstance(whole, jm.JourneyMap)
    yield "journey_map.edges", whole.edges
    yield "journey_map.to_dict", whole.to_dict()
    yield "journey_map.dot", whole.to_dot(labels="both")
    yield "journey_map.svg", whole.draw().svg
    yield "journey_map.simplified.svg", whole.simplify(activities=0.6, paths=0.3).draw(labels="both").svg
    maps = jm.journey_map(demo, by="segment")
    assert isinstance(maps, jm.JourneyMaps)
    yield "journey_maps.to_dataframe", maps.to_dataframe()
    yield "journey_maps.summary", maps.summary
    yield "journey_maps.positions", maps.positions()
    yield "journey_maps.svg", maps.draw("SMB").svg

    yield "subway.log", jm.subway_map(demo, top=6, timing=True, dropoff=True, conversion=WON).svg
    yield "subway.cohorts", jm.subway_map(maps, timing=True, dropoff=True, conversion=WON).svg
    yield "subway.channels", jm.subway_map(demo, channels=True).to_dict()

    yield "variants", jm.variants(demo, top=20, examples=3)
    yield "variants.by", jm.variants(demo, by="segment", top=5)
    yield "stage_durations", jm.stage_durations(demo, by="segment").to_dataframe()
    yield "stage_durations.per_account", jm.stage_durations(demo).per_account
    yield "kpis", jm.kpis(demo, outcomes=OUT, by="segment").to_dataframe()
    yield "kpis.to_dict", jm.kpis(demo, outcomes=OUT).to_dict()
    yield "process_model.dot", _process_model(demo)

    xes = tmp / "demo.xes"
    jm.write_xes(demo, xes)
    yield "write_xes", xes.read_bytes()
    csv = tmp / "demo.csv"
    jm.datasets.demo_b2b(n_accounts=300, random_state=1, as_frame=True).to_csv(csv, index=False)
    again = jm.read_csv(csv, case="account_id", activity="touchpoint", timestamp="timestamp",
                        channel="channel", case_attributes=["segment"])
    yield "read_csv.events", again.events
    yield "read_csv.cases", again.cases
    # files that carry a time: pinned by SOURCE_DATE_EPOCH
    pdf = whole.save(tmp / "map.pdf").read_bytes()  # type: ignore[operator]
    if b"/CreationDate (D:" in pdf:  # cairo >= 1.17 (Debian 13) compresses its metadata: not pinned
        yield "journey_map.pdf", pdf
    yield "subway.png", jm.subway_map(demo, top=3).to_png()
    yield "report", jm.report(demo, by="segment", outcomes=OUT, random_state=0)
    yield "report.views", jm.report(demo, by=jm.period("Q"), outcomes=OUT, funnel=["Demo request", "Demo", WON[0]],
                                    funnel_window="90D", paths_around="Demo", retention_period="M", random_state=0)

    steps = ["Demo request", "Demo", "Proposal sent", WON[0]]
    fun = jm.funnel(demo, steps, window="60D", by="segment", lost=OUT["lost"], at="2024-06-30")
    for kind in ("steps", "comparisons", "accounts", "curves"):
        yield f"funnel.{kind}", fun.to_dataframe(kind)  # type: ignore[arg-type]
    yield "funnel.svg", fun.svg
    yield "funnel.any", jm.funnel(demo, steps, order="any").steps
    pth = jm.paths(demo, "Proposal sent", by="segment", occurrence="every")
    for kind in ("links", "nodes", "paths", "summary"):
        yield f"paths.{kind}", pth.to_dataframe(kind)  # type: ignore[arg-type]
    yield "paths.svg", pth.svg
    ret = jm.retention(demo, period="M", by="segment")
    yield "retention", ret.to_dataframe()
    yield "retention.curves", ret.curves()
    yield "retention.svg", ret.svg
    yield "retention.lifecycle", jm.retention(demo, period="Q", kind="lifecycle").svg
    dots = jm.dotted_chart(demo, by="segment", max_accounts=300)
    yield "dotted.cells", dots.to_dataframe()
    yield "dotted.svg", dots.svg
    yield "dotted.png", dots.to_png()
    yield "period.maps", jm.journey_map(demo, by=jm.period("Q")).to_dataframe()

    if real is None:
        return
    yield from _real_outputs(real)


def _real_outputs(real: tuple[jm.JourneyLog, jm.JourneyLog]) -> Iterator[tuple[str, Any]]:
    """The receipt log (XES, with case attributes) and sepsis (a CSV, read in parallel)."""
    receipt, sep = real
    yield "sepsis.events", sep.events
    yield "sepsis.journey_map.edges", jm.journey_map(sep).edges  # type: ignore[union-attr]
    yield "sepsis.stage_durations", jm.stage_durations(sep).to_dict()
    yield "sepsis.variants", jm.variants(sep, top=20)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The clusters depend on the start", jm.JourneymineWarning)
        est = jm.JourneyClusterer(random_state=0, max_clusters=4).fit(sep)
    yield "sepsis.clusterer.labels_", est.labels_
    yield "sepsis.clusterer.stability", {"stability_": est.stability_, "cluster_stability_": est.cluster_stability_}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.JourneymineWarning)  # a one-account channel
        yield "receipt.compare", jm.compare_cohorts(receipt, by="channel", random_state=0).to_dict()
        est = jm.JourneyClusterer(random_state=0, max_clusters=4).fit(receipt)
        yield "receipt.clusterer.labels_", est.labels_
        yield "receipt.clusterer.summary", est.summary()
        yield "receipt.clusterer.explain", est.explain()
        yield "receipt.journey_map.dot", jm.journey_map(receipt).to_dot()  # type: ignore[union-attr]
        yield "receipt.variants", jm.variants(receipt, top=10)
        yield "receipt.stage_durations", jm.stage_durations(receipt).to_dataframe()
        yield "receipt.subway", jm.subway_map(receipt, top=5, timing=True).svg
        conversion = ["T15 Print document X request unlicensed"]
        yield "receipt.attribution", jm.attribution(receipt, conversion=conversion).to_dataframe()
        yield "receipt.report", jm.report(receipt, by="channel", random_state=0)


def _process_model(log: jm.JourneyLog) -> str:
    try:
        model = jm.discover_process_model(log)
    except jm.MissingDependencyError:  # pm4py is an optional extra
        return "pm4py not installed"
    assert isinstance(model, jm.ProcessModel)
    return model.to_dot()


def fingerprints(demo: jm.JourneyLog, real: tuple[jm.JourneyLog, jm.JourneyLog] | None, tmp: Path) -> dict[str, str]:
    """The sha256 of every output, by name."""
    return {name: hashlib.sha256(canonical(out)).hexdigest() for name, out in _outputs(demo, real, tmp)}


def _logs(data: Path | None) -> tuple[jm.JourneyLog, tuple[jm.JourneyLog, jm.JourneyLog] | None]:
    demo = jm.datasets.demo_b2b(n_accounts=1_000, random_state=0)
    if data is None:
        return demo, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)  # sepsis has one duplicate event
        return demo, (jm.read_xes(data / "receipt.xes.gz"), sepsis(data))


def _differ(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


# -- the tests -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir() -> Path | None:
    from journeymine._testing import shared_data_dir

    return shared_data_dir()  # the real log is a bonus here: the demo log runs everywhere


def _subprocess(seed: str, threads: str, data: Path | None, out: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONHASHSEED": seed,
        "POLARS_MAX_THREADS": threads,
        "SOURCE_DATE_EPOCH": EPOCH,
        "JOURNEYMINE_PROGRESS": "0",
        "PYTHONPATH": os.pathsep.join([str(Path(jm.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    args = [sys.executable, __file__, str(out)] + ([str(data)] if data is not None else [])
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def runs(data_dir: Path | None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The digests of two runs in this process on the same log objects (so that caches on
    the log are used), and of one subprocess per hash seed, with 1 and 3 polars threads.
    The subprocesses run while this process computes."""
    tmp = tmp_path_factory.mktemp("repeat")
    children = {
        f"PYTHONHASHSEED={seed} and {threads} polars thread(s)": (out, _subprocess(seed, threads, data_dir, out))
        for seed, threads, out in (("0", "1", tmp / "seed0.json"), ("12345", "3", tmp / "seed12345.json"))
    }
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
    try:
        demo, real = _logs(data_dir)
        out = {"first call": fingerprints(demo, real, tmp), "second call": fingerprints(demo, real, tmp)}
    except BaseException:
        for _, proc in children.values():
            proc.kill()
        raise
    finally:
        mp.undo()
    for name, (path, proc) in children.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{name}: " + err.decode("utf-8", "replace")[-3000:]
        out[name] = json.loads(path.read_text())
    return out


def test_twice_in_one_process(runs: dict[str, dict[str, str]]) -> None:
    first, second = runs["first call"], runs["second call"]
    assert len(first) > 60
    differ = _differ(first, second)
    assert not differ, f"a second call in the same process gives other bytes: {differ}"


def test_across_hash_seeds_and_threads(runs: dict[str, dict[str, str]]) -> None:
    here = runs["first call"]
    others = {name: digests for name, digests in runs.items() if name not in ("first call", "second call")}
    assert len(others) == 2
    for name, digests in others.items():
        differ = _differ(here, digests)
        assert not differ, f"this process and one with {name} give other bytes: {differ}"


def test_canonical_bytes_see_order_and_last_bit() -> None:
    df = pd.DataFrame({"a": [0.1 + 0.2, 1.0]})
    assert canonical(df) != canonical(pd.DataFrame({"a": [0.3, 1.0]}))  # the last bit
    assert canonical(df) != canonical(df.iloc[::-1])  # the order
    assert canonical(df) != canonical(df.astype("float32"))  # the dtype
    assert canonical({"a": 1, "b": 2}) != canonical({"b": 2, "a": 1})  # key order


def _main(argv: list[str]) -> None:
    out = Path(argv[0])
    data = Path(argv[1]) if len(argv) > 1 else None
    warnings.simplefilter("ignore")
    demo, real = _logs(data)
    tmp = out.with_suffix("")
    tmp.mkdir(exist_ok=True)
    digests = fingerprints(demo, real, tmp)
    out.write_text(json.dumps(digests, indent=0, sort_keys=True))


if __name__ == "__main__":
    _main(sys.argv[1:])

"""Same input and random_state → same bytes: twice in one process, and in processes with
different ``PYTHONHASHSEED`` (string hashing, hence set and dict-from-set order) and a
different number of polars threads.

Every public function and estimator is run on the demo log and on a real public log; each
output is serialised canonically (tables with their columns, dtypes, index and every value
at full precision; SVG, DOT and HTML as text; ``to_dict()`` as JSON in its own key order)
and reduced to a sha256 digest. One subprocess per hash seed computes every digest and
writes them as JSON, so a failure names the outputs that differ.

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

pytestmark = pytest.mark.slow

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


def _outputs(demo: jm.JourneyLog, real: jm.JourneyLog | None, tmp: Path) -> Iterator[tuple[str, Any]]:
    """(name, output) for every public function and estimator; lazily, so one output at a time."""
    yield "demo.events", demo.events
    yield "demo.cases", demo.cases

    cmp = jm.compare_cohorts(demo, by="segment", outcomes=OUT, random_state=0)
    for table in ("transitions", "activities", "durations", "outcomes", "variants", "summary"):
        yield f"compare.{table}", getattr(cmp, table)
    yield "compare.to_dict", cmp.to_dict()
    yield "compare.differential_map", cmp.differential_map(0).svg
    yield "compare.repr_html", cmp._repr_html_()
    cmp_all = jm.compare_cohorts(demo, by=["segment", "market"], pairs="all", n_permutations=49,
                                 random_state=1, min_cases=1)
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
    for rep in ("profile", "ngram", "profile+timing"):
        other = jm.JourneyClusterer(n_clusters=3, representation=rep, random_state=0).fit(demo)  # type: ignore[arg-type]
        yield f"clusterer.{rep}.labels_", other.labels_
        yield f"clusterer.{rep}.summary", other.summary()

    model = jm.JourneyOutcomeModel(outcomes=OUT, target="won", random_state=0)
    model.fit(demo.filter_time(end="2024-06-01", mode="contained"))
    yield "outcome_model.predict_proba", model.predict_proba(demo, at="2025-01-01")
    yield "outcome_model.evaluate", model.evaluate(demo, at="2024-09-01")
    yield "outcome_model.explain", model.explain()

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
    yield "journey_maps.summary", maps.summary()
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
    yield "report", jm.report(demo, by="segment", outcomes=OUT, random_state=0)

    if real is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.JourneymineWarning)  # a one-account channel
        yield "receipt.compare", jm.compare_cohorts(real, by="channel", random_state=0).to_dict()
        est = jm.JourneyClusterer(random_state=0, max_clusters=4).fit(real)
        yield "receipt.clusterer.labels_", est.labels_
        yield "receipt.clusterer.summary", est.summary()
        yield "receipt.clusterer.explain", est.explain()
        yield "receipt.journey_map.dot", jm.journey_map(real).to_dot()  # type: ignore[union-attr]
        yield "receipt.variants", jm.variants(real, top=10)
        yield "receipt.stage_durations", jm.stage_durations(real).to_dataframe()
        yield "receipt.subway", jm.subway_map(real, top=5, timing=True).svg
        yield "receipt.attribution", jm.attribution(real, conversion=["T15 Print document X request unlicensed"]).to_dataframe()
        yield "receipt.report", jm.report(real, by="channel", random_state=0)


def _process_model(log: jm.JourneyLog) -> str:
    try:
        model = jm.discover_process_model(log)
    except jm.MissingDependencyError:  # pm4py is an optional extra
        return "pm4py not installed"
    assert isinstance(model, jm.ProcessModel)
    return model.to_dot()


def fingerprints(demo: jm.JourneyLog, real: jm.JourneyLog | None, tmp: Path) -> dict[str, str]:
    """The sha256 of every output, by name."""
    return {name: hashlib.sha256(canonical(out)).hexdigest() for name, out in _outputs(demo, real, tmp)}


def _logs(data: Path | None) -> tuple[jm.JourneyLog, jm.JourneyLog | None]:
    demo = jm.datasets.demo_b2b(n_accounts=1_500, random_state=0)
    real = jm.read_xes(data / "receipt.xes.gz") if data is not None else None
    return demo, real


def _differ(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


# -- the tests -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir() -> Path | None:
    from journeymine._testing import shared_data_dir

    return shared_data_dir()  # the real log is a bonus here: the demo log runs everywhere


@pytest.fixture(scope="module")
def in_process(data_dir: Path | None, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], ...]:
    """Two runs in this process on the same log objects (so caches on the log are used)."""
    demo, real = _logs(data_dir)
    tmp = tmp_path_factory.mktemp("repeat")
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        return fingerprints(demo, real, tmp), fingerprints(demo, real, tmp)
    finally:
        if old is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


def _subprocess(seed: str, threads: str, data: Path | None, out: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONHASHSEED": seed,
        "POLARS_MAX_THREADS": threads,
        "SOURCE_DATE_EPOCH": EPOCH,
        "PYTHONPATH": os.pathsep.join([str(Path(jm.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    args = [sys.executable, __file__, str(out)] + ([str(data)] if data is not None else [])
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def across_processes(data_dir: Path | None, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """One subprocess per hash seed (run side by side), with 1 and 3 polars threads."""
    tmp = tmp_path_factory.mktemp("digests")
    runs = [(seed, threads, tmp / f"{seed}.json") for seed, threads in (("0", "1"), ("12345", "3"))]
    procs = [_subprocess(seed, threads, data_dir, out) for seed, threads, out in runs]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode("utf-8", "replace")[-3000:]
    return [json.loads(out.read_text()) for _, _, out in runs]


def test_twice_in_one_process(in_process: tuple[dict[str, str], ...]) -> None:
    first, second = in_process
    assert len(first) > 60
    differ = _differ(first, second)
    assert not differ, f"a second call in the same process gives other bytes: {differ}"


def test_across_hash_seeds_and_threads(
    in_process: tuple[dict[str, str], ...], across_processes: list[dict[str, str]]
) -> None:
    here = in_process[0]
    seed0, seed12345 = across_processes
    differ = _differ(seed0, seed12345)
    assert not differ, f"PYTHONHASHSEED=0 (1 thread) and 12345 (3 threads) give other bytes: {differ}"
    differ = _differ(here, seed0)
    assert not differ, f"this process and PYTHONHASHSEED=0 give other bytes: {differ}"


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

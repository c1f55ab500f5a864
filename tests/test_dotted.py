"""jm.dotted_chart: row order, colours, density and sampling, bad input, drawing, real logs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import journeymine as jm
from journeymine._cohorts import Cohorts
from journeymine._dotted import _rows_per_bin
from real_logs import LOGS

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def tiny() -> jm.JourneyLog:
    frame = pd.DataFrame(
        [
            ("B", "Visit", "2024-01-01", "Web", "SMB"), ("B", "Demo", "2024-01-10", "Call", "SMB"),
            ("A", "Visit", "2024-01-01", "Web", "Ent"), ("A", "Demo", "2024-03-01", "Web", "Ent"),
            ("A", "Won", "2024-03-02", "Call", "Ent"),
            ("C", "Visit", "2024-02-01", None, "SMB"),
        ],
        columns=["case", "activity", "ts", "channel", "segment"],
    )  # fmt: skip
    return jm.JourneyLog.from_frame(
        frame,
        case="case",
        activity="activity",
        timestamp="ts",
        channel="channel",
        case_attributes=["segment"],
    )


def _row_cases(d: jm.DottedChart) -> list[str]:
    f = d.to_dataframe()
    return list(f.sort_values("row", kind="stable").drop_duplicates("row")["case"])


def test_row_orders(tiny: jm.JourneyLog) -> None:
    assert _row_cases(jm.dotted_chart(tiny)) == ["A", "B", "C"]  # start tie A/B: by case id
    assert _row_cases(jm.dotted_chart(tiny, sort="end")) == ["B", "C", "A"]
    assert _row_cases(jm.dotted_chart(tiny, sort="duration", descending=True)) == ["A", "B", "C"]
    assert _row_cases(jm.dotted_chart(tiny, sort="events")) == ["C", "B", "A"]
    assert _row_cases(jm.dotted_chart(tiny, sort="segment")) == ["A", "B", "C"]
    d = jm.dotted_chart(tiny, by="segment")
    assert d.bands == (("Ent", 0, 1), ("SMB", 1, 2))
    assert _row_cases(d) == ["A", "B", "C"]


def test_dots_every_event(tiny: jm.JourneyLog) -> None:
    d = jm.dotted_chart(tiny)
    f = d.to_dataframe()
    assert d.mode == "dots" and f["events"].sum() == tiny.n_events
    assert str(f["x"].dtype).startswith("datetime64")
    rel = jm.dotted_chart(tiny, time="relative").to_dataframe()
    assert rel["x"].min() == 0 and rel.loc[rel["case"] == "A", "x"].max() == pytest.approx(61.0)


def test_colours(tiny: jm.JourneyLog) -> None:
    d = jm.dotted_chart(tiny, color="channel")
    assert d.legend == ("Web", "Call", "(none)")  # by events, ties by name
    assert jm.dotted_chart(tiny, color="segment").legend == ("Ent", "SMB")
    top = jm.dotted_chart(tiny, top_colors=1)
    assert top.legend == ("Visit", "other")
    assert set(top.to_dataframe()["category"]) == {"Visit", "other"}


def test_density_counts_every_event() -> None:
    log = jm.datasets.demo_b2b(n_accounts=900, random_state=0)
    d = jm.dotted_chart(log, by="segment", max_accounts=100)
    cells = d.to_dataframe()
    s = d.summary.iloc[0]
    assert d.mode == "density" and s["mode"] == "density"
    assert cells["events"].sum() == log.n_events
    assert (cells["category_events"] <= cells["events"]).all()
    per_band = cells.drop_duplicates(["cohort", "row"]).groupby("cohort")["accounts"].sum()
    counts = log.to_polars("cases").get_column("segment").value_counts()
    for seg, n in counts.iter_rows():
        assert per_band[seg] <= n
    assert f"{log.n_cases:,} accounts in {d.n_rows:,} rows of {s['accounts_per_row']:,}" in d.caption
    assert "every event counted" in d.caption
    assert d.n_rows <= 400


def _banded(sizes: list[int]) -> tuple[jm.JourneyLog, Cohorts]:
    """A log with one band per size (band i has sizes[i] accounts, two events each)."""
    cases = [f"c{i:05d}" for i in range(sum(sizes))]
    frame = pd.DataFrame(
        {
            "case": [c for c in cases for _ in range(2)],
            "activity": ["a", "b"] * len(cases),
            "ts": [
                pd.Timestamp("2024-01-01") + pd.Timedelta(days=d)
                for i in range(len(cases))
                for d in (i % 7, 9)
            ],
        }
    )
    log = jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="ts")
    codes = np.repeat(np.arange(len(sizes)), sizes)
    order = log.to_polars("cases").get_column("case")
    cohorts = Cohorts(
        codes=pl.Series("cohort", codes[[cases.index(c) for c in order]], dtype=pl.UInt32),
        names=tuple(f"b{i:03d}" for i in range(len(sizes))),
        by="made up",
        cases=order,
    )
    return log, cohorts


def test_more_bands_than_rows_draws_the_largest() -> None:
    """440 bands (the first ten of two accounts, an empty one): the 400 largest drawn, one
    row each; the 40 smaller left out, and the caption says so."""
    sizes = [2] * 10 + [1] * 430 + [0]
    log, cohorts = _banded(sizes)
    d = jm.dotted_chart(log, by=cohorts, max_accounts=100)
    s = d.summary.iloc[0]
    assert d.mode == "density" and d.n_rows == 400 and s["accounts_per_row"] == 2
    drawn = [b for b in d.bands if b[2]]
    assert len(drawn) == 400 and {b[0] for b in drawn} == {f"b{i:03d}" for i in range(400)}
    assert ("b440", 400, 0) in d.bands  # the empty band stays, as an empty band
    assert s["drawn_accounts"] == 410 and s["drawn_events"] == 820
    assert d.to_dataframe()["events"].sum() == 820 and set(d.to_dataframe()["cohort"]) == {
        b[0] for b in drawn
    }
    assert (
        "440 cohort bands are more than the 400 rows: the 400 largest are drawn, one row each; "
        "40 smaller ones (40 accounts, 80 events) are left out."
    ) in d.caption
    assert "every event of the drawn bands counted" in d.caption


def test_many_bands_fit_in_the_row_limit() -> None:
    """300 one-account bands and one of 5,000: at most 400 rows, the big band binned."""
    log, cohorts = _banded([5_000] + [1] * 300)
    d = jm.dotted_chart(log, by=cohorts)
    s = d.summary.iloc[0]
    assert d.n_rows <= 400 and s["drawn_accounts"] == 5_300 and s["drawn_events"] == log.n_events
    assert s["accounts_per_row"] == 50 and d.n_rows == 400  # the 100 rows the small bands leave
    assert [b[2] for b in d.bands] == [100] + [1] * 300
    assert "left out" not in d.caption and "every event counted" in d.caption


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 3_000), min_size=1, max_size=60).filter(lambda x: sum(x) > 0),
    limit=st.integers(1, 80),
)
def test_rows_per_bin_is_the_fewest_that_fit(sizes: list[int], limit: int) -> None:
    arr = np.array(sizes, dtype=np.int64)
    per, left = _rows_per_bin(arr, limit)
    kept = np.where(left, 0, arr)
    rows = int(((kept + per - 1) // per).sum())
    assert rows <= limit and ((kept > 0) <= ((kept + per - 1) // per > 0)).all()
    n_bands = int((arr > 0).sum())
    assert int(left.sum()) == max(n_bands - limit, 0)
    if left.any():  # every band kept is at least as large as every band left out
        assert kept[~left & (arr > 0)].min() >= arr[left].max()
    if per > 1:  # one fewer account per row would not fit
        assert int(((kept + per - 2) // (per - 1)).sum()) > limit


def test_sample(tiny: jm.JourneyLog) -> None:
    d = jm.dotted_chart(tiny, sample=2)
    assert _row_cases(d) == ["A", "C"]  # every 2nd account in sort order, from the first
    assert d.summary.loc[0, "drawn_accounts"] == 2 and d.summary.loc[0, "sample_every"] == 2
    assert "every 2nd account of each band in sort order drawn, from the first (2 of 3 accounts)" in d.caption


def test_not_a_log() -> None:
    frame = pd.DataFrame({"case": ["a"], "activity": ["x"], "ts": ["2024-01-01"]})
    with pytest.raises(
        jm.InvalidParameterError, match=r"'log' parameter of dotted_chart.*a JourneyLog.*DataFrame"
    ):
        jm.dotted_chart(frame)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"sort": "strat"}, r"'start'"),
        ({"sort": "segmnt"}, r"'segment'"),
        ({"color": "chanel"}, r"'channel'"),
        ({"color": 3}, r"'color' parameter"),
        ({"time": "calendar"}, r"'time' parameter"),
        ({"top_colors": 0}, r"'top_colors' parameter"),
        ({"top_colors": 9}, r"from 1 to 8"),
        ({"max_accounts": 0}, r"'max_accounts' parameter"),
        ({"sample": 0}, r"'sample' parameter"),
        ({"descending": "yes"}, r"'descending' parameter"),
    ],
)
def test_bad_input(tiny: jm.JourneyLog, kw: dict[str, object], match: str) -> None:
    with pytest.raises(jm.InvalidParameterError, match=match):
        jm.dotted_chart(tiny, **kw)  # type: ignore[arg-type]


def test_svg_escaped_deterministic_png(tmp_path: Path) -> None:
    frame = jm.datasets.demo_b2b(n_accounts=150, random_state=0, as_frame=True)
    frame["segment"] = frame["segment"].replace({"SMB": SCRIPT})
    frame["touchpoint"] = frame["touchpoint"].replace({"Demo": SCRIPT})
    log = jm.JourneyLog.from_frame(
        frame, case="account_id", activity="touchpoint", timestamp="timestamp", case_attributes=["segment"]
    )
    for kw in ({}, {"max_accounts": 20}):
        d = jm.dotted_chart(log, by="segment", **kw)  # type: ignore[arg-type]
        svg = d.svg
        assert SCRIPT not in svg and "&lt;script&gt;" in svg and SCRIPT not in d._repr_html_()
        assert svg == jm.dotted_chart(log, by="segment", **kw).svg  # type: ignore[arg-type]
        assert 'role="img"' in svg and "viewBox" in svg
    assert d.save(tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"
    assert d.to_png()[:4] == b"\x89PNG"


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 400), st.sampled_from("abcd")), min_size=1, max_size=80
    ),
    cap=st.integers(1, 40),
    sample=st.sampled_from([None, 1, 3]),
)
def test_every_event_counted(rows: list[tuple[int, int, str]], cap: int, sample: int | None) -> None:
    base = pd.Timestamp("2024-01-01", tz="UTC")
    frame = pd.DataFrame(
        {
            "case": [f"k{c:02d}" for c, _, _ in rows],
            "activity": [a for _, _, a in rows],
            "ts": [base + pd.Timedelta(hours=d) for _, d, _ in rows],
        }
    ).drop_duplicates()
    log = jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="ts")
    d = jm.dotted_chart(log, max_accounts=cap, sample=sample)
    s = d.summary.iloc[0]
    assert d.to_dataframe()["events"].sum() == s["drawn_events"]
    if sample in (None, 1):
        assert s["drawn_events"] == log.n_events and s["drawn_accounts"] == log.n_cases
    assert d.mode == ("dots" if s["drawn_accounts"] <= cap else "density")


def test_fines_density(shared_data: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.DataQualityWarning)
        log = LOGS["road_traffic_fines"][0](shared_data)
    d = jm.dotted_chart(log)
    svg = d.svg
    assert d.mode == "density" and d.to_dataframe()["events"].sum() == log.n_events
    assert svg.count("<rect") + svg.count("<circle") < 50_000
    assert "150,370 accounts in" in d.caption


def _decode_marks(svg: str):
    """The marks image of a dotted chart as an RGBA array (PNG decoded with zlib)."""
    import base64
    import re
    import struct
    import zlib

    import numpy as np

    data = base64.b64decode(re.search(r'href="data:image/png;base64,([^"]+)"', svg).group(1))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + 4 * w)
    assert not raw[:, 0].any()  # filter byte 0 on every line
    return raw[:, 1:].reshape(h, w, 4)


def test_marks_are_one_embedded_png_with_every_dot():
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(
        {
            "case": ["a", "a", "b"],
            "activity": ["x", "y", "x"],
            "timestamp": ["2024-01-01", "2024-06-01", "2024-12-31"],
        }
    )
    log = jm.JourneyLog.from_frame(frame, case="case", activity="activity", timestamp="timestamp")
    chart = jm.dotted_chart(log)
    svg = chart.svg
    assert svg.count("<image") == 1 and "<circle" not in svg.split('class="legend"')[1].split("</g>", 1)[1]
    img = _decode_marks(svg)
    assert img.shape[1] == 1800  # twice the 900-point plot
    painted = img[..., 3] > 0
    # three dots, in two rows: the top row has two blobs (left and middle), the bottom one at the right
    top, bottom = painted[: img.shape[0] // 2], painted[img.shape[0] // 2 :]
    assert top.any() and bottom.any()
    assert np.flatnonzero(bottom.any(axis=0)).min() > 1700
    assert np.flatnonzero(top.any(axis=0)).min() < 100


def test_density_marks_count_every_cell():
    log = jm.datasets.demo_b2b(n_accounts=3000, random_state=0)
    chart = jm.dotted_chart(log, max_accounts=500)
    assert chart.mode == "density" and len(chart.svg) < 400_000
    img = _decode_marks(chart.svg)
    assert (img[..., 3] > 0).mean() > 0.05

"""Variants (_variants): case sequences, counts, ordering, timing and filtering, on small
hand-built logs with known answers, and invariants on generated logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import journeymine as jm
from journeymine._encoding import case_variants, filter_variants
from journeymine._variants import _object_array, variants

DAY = 86400.0

# five accounts: A and C take Webinar → Demo → Signed, D takes Webinar → Demo, B and E
# take Demo → Demo (a self-loop); ties (2 and 2) are ordered by their first account (A < B)
ROWS = [
    ("A", "Webinar", "2024-01-01", "SMB"), ("A", "Demo", "2024-01-03", "SMB"), ("A", "Signed", "2024-01-11", "SMB"),
    ("B", "Demo", "2024-01-01", "Ent"), ("B", "Demo", "2024-01-02", "Ent"),
    ("C", "Webinar", "2024-02-01", "Ent"), ("C", "Demo", "2024-02-02", "Ent"), ("C", "Signed", "2024-02-05", "Ent"),
    ("D", "Webinar", "2024-03-01", "SMB"), ("D", "Demo", "2024-03-01", "SMB"),
    ("E", "Demo", "2024-01-01", "SMB"), ("E", "Demo", "2024-01-11", "SMB"),
]


def _log(rows: list[tuple[str, str, str, str]] = ROWS) -> jm.JourneyLog:
    df = pd.DataFrame(rows, columns=["case", "act", "ts", "segment"])
    return jm.JourneyLog.from_frame(df, case="case", activity="act", timestamp="ts", case_attributes=["segment"])


def test_case_variants_are_activity_codes_in_event_order_and_cached() -> None:
    log = _log()
    lists = case_variants(log)
    names = log.activities
    got = [tuple(names[i] for i in seq) for seq in lists.to_list()]
    assert got == [
        ("Webinar", "Demo", "Signed"), ("Demo", "Demo"), ("Webinar", "Demo", "Signed"), ("Webinar", "Demo"),
        ("Demo", "Demo"),
    ]
    assert case_variants(log) is lists


def test_variants_by_hand() -> None:
    v = variants(_log(), examples=5)
    assert v["variant"].tolist() == [("Webinar", "Demo", "Signed"), ("Demo", "Demo"), ("Webinar", "Demo")]
    assert v["rank"].tolist() == [1, 2, 3] and v["cases"].tolist() == [2, 2, 1]
    assert v["length"].tolist() == [3, 2, 2]
    assert v["share"].tolist() == pytest.approx([0.4, 0.4, 0.2])
    assert v["cumulative_share"].tolist() == pytest.approx([0.4, 0.8, 1.0])
    assert v["examples"].tolist() == [["A", "C"], ["B", "E"], ["D"]]
    # durations: A 10 d and C 4 d; B 1 d and E 10 d; D 0 (two events at the same time)
    assert v["median_duration"].tolist() == pytest.approx([7 * DAY, 5.5 * DAY, 0.0])
    assert v["p90_duration"].tolist() == pytest.approx([4 * DAY + 0.9 * 6 * DAY, DAY + 0.9 * 9 * DAY, 0.0])
    assert isinstance(v["variant"].iloc[0], tuple)


def test_variants_by_cohort_share_within_cohort_and_top_and_no_examples() -> None:
    v = variants(_log(), by="segment", examples=0)
    smb = v[v["cohort"] == "SMB"]
    assert smb["cases"].tolist() == [1, 1, 1] and smb["share"].tolist() == pytest.approx([1 / 3] * 3)
    ent = v[v["cohort"] == "Ent"]
    assert ent["variant"].tolist() == [("Demo", "Demo"), ("Webinar", "Demo", "Signed")]  # tie: B before C
    assert all(e == [] for e in v["examples"])
    top = variants(_log(), by="segment", top=1)
    assert top.groupby("cohort")["rank"].max().tolist() == [1, 1]


def test_variants_bad_options() -> None:
    with pytest.raises(jm.InvalidParameterError, match=r"'examples' parameter of variants must be an int >= 0\. Got -1"):
        variants(_log(), examples=-1)
    with pytest.raises(jm.InvalidParameterError, match=r"'top' parameter of variants must be an int >= 1 or None\. Got True"):
        variants(_log(), top=True)  # type: ignore[arg-type]
    with pytest.raises(jm.SchemaError, match="'market' is not a case attribute"):
        variants(_log(), by="market")


def test_filter_variants_by_hand() -> None:
    log = _log()
    kept = filter_variants(log, [("Demo", "Demo"), ["Webinar", "Demo"], ("Nope",)])
    assert sorted(kept.cases["case"]) == ["B", "D", "E"]
    dropped = filter_variants(log, [("Demo", "Demo")], exclude=True)
    assert sorted(dropped.cases["case"]) == ["A", "C", "D"]
    top = filter_variants(log, top=1)  # the tie of two goes to the variant of the first account
    assert sorted(top.cases["case"]) == ["A", "C"]
    assert filter_variants(log, []).n_cases == 0


def test_filter_variants_bad_input() -> None:
    log = _log()
    with pytest.raises(jm.InvalidParameterError, match=r"not both, not neither"):
        filter_variants(log, [("Demo", "Demo")], top=1)
    with pytest.raises(jm.InvalidParameterError, match=r"a list of variants \(each a sequence of activities\)\. Got 'Demo'"):
        filter_variants(log, "Demo")
    with pytest.raises(jm.InvalidParameterError, match=r"'top' parameter of JourneyLog\.filter_variants must be an int >= 1"):
        filter_variants(log, top=0)


def test_object_array_keeps_tuples() -> None:
    arr = _object_array([("a", "b"), ("c",)])
    assert arr.dtype == object and arr.shape == (2,) and arr[0] == ("a", "b")


@settings(max_examples=40, deadline=None)
@given(
    hs.lists(
        hs.lists(hs.sampled_from(["W", "D", "P", "S"]), min_size=1, max_size=6), min_size=1, max_size=25
    ),
    hs.integers(1, 4),
)
def test_variant_counts_partition_the_log(journeys: list[list[str]], k: int) -> None:
    rows = [
        (f"c{i:02d}", a, str(pd.Timestamp("2024-01-01") + pd.Timedelta(hours=j)), "x" if i % 2 else "y")
        for i, seq in enumerate(journeys)
        for j, a in enumerate(seq)
    ]
    log = _log(rows)
    v = variants(log)
    assert int(v["cases"].sum()) == log.n_cases
    assert int((v["length"] * v["cases"]).sum()) == log.n_events
    assert sorted(v["variant"]) == sorted(set(map(tuple, journeys)))
    assert (np.diff(v["cases"]) <= 0).all() and v["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    by = variants(log, by="segment")
    assert by.groupby("cohort")["share"].sum().to_numpy() == pytest.approx(1.0)
    top, rest = filter_variants(log, top=k), filter_variants(log, top=k, exclude=True)
    assert top.n_cases + rest.n_cases == log.n_cases
    assert top.n_cases == int(v["cases"].head(k).sum())

"""The statistics of _stats, each against an independent oracle: published worked examples,
scipy's reference functions, or a naive loop written out here; invariants with hypothesis."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy import stats

from journeymine import _stats as st

# -- the 6-MP leukaemia remission data (Freireich et al. 1963; Gehan 1965), weeks ----------
MP_TIME = np.array([6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35.0])
MP_EVENT = np.array([1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0])
PLACEBO_TIME = np.array([1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23.0])
PLACEBO_EVENT = np.ones(21)


def naive_km(time: np.ndarray, event: np.ndarray) -> tuple[list[float], list[float]]:
    """Product-limit estimator written as the textbook loop over distinct event times."""
    times, surv, s = [], [], 1.0
    for t in sorted(set(time[event.astype(bool)].tolist())):
        at_risk = int((time >= t).sum())
        deaths = int(((time == t) & event.astype(bool)).sum())
        s *= 1 - deaths / at_risk
        times.append(t)
        surv.append(s)
    return times, surv


def naive_logrank_chi2(t1: np.ndarray, e1: np.ndarray, t2: np.ndarray, e2: np.ndarray) -> float:
    """Mantel's log-rank χ² as the textbook loop (observed minus expected in group 1)."""
    t, e = np.concatenate([t1, t2]), np.concatenate([e1, e2]).astype(bool)
    g1 = np.arange(t.size) < t1.size
    o_minus_e = var = 0.0
    for u in np.unique(t[e]):
        n, n1 = (t >= u).sum(), ((t >= u) & g1).sum()
        d, d1 = ((t == u) & e).sum(), ((t == u) & e & g1).sum()
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            var += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return o_minus_e**2 / var if var > 0 else math.nan


# -- proportions -------------------------------------------------------------------------


def test_wilson_matches_newcombes_published_intervals() -> None:
    # Newcombe (1998a), table I, method 3 (score interval without continuity correction)
    lo, hi = st.wilson(np.array([81.0, 15, 0, 1]), np.array([263.0, 148, 20, 29]))
    assert np.round(lo, 4).tolist() == [0.2553, 0.0624, 0.0, 0.0061]
    assert np.round(hi, 4).tolist() == [0.3662, 0.1605, 0.1611, 0.1718]


def test_wilson_equals_scipy_binomtest_on_a_grid() -> None:
    x = np.array([0, 0, 1, 1, 3, 7, 50, 99, 100, 1], float)
    n = np.array([1, 5, 1, 2, 10, 7, 100, 100, 100, 1000], float)
    lo, hi = st.wilson(x, n)
    for i in range(x.size):
        ci = stats.binomtest(int(x[i]), int(n[i])).proportion_ci(method="wilson")
        assert (lo[i], hi[i]) == pytest.approx((ci.low, ci.high), abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(hs.integers(1, 10_000).flatmap(lambda n: hs.tuples(hs.integers(0, n), hs.just(n))))
def test_wilson_contains_the_estimate_and_stays_in_0_1(xn: tuple[int, int]) -> None:
    x, n = xn
    lo, hi = st.wilson(np.array([float(x)]), np.array([float(n)]))
    assert -1e-12 <= lo[0] <= x / n + 1e-12
    assert x / n - 1e-12 <= hi[0] <= 1 + 1e-12


def test_newcombe_matches_the_published_examples() -> None:
    # Newcombe (1998b), table II, method 10 (hybrid score), examples a, b, d-h
    a = np.array(
        [(56, 70, 48, 80), (9, 10, 3, 10), (5, 56, 0, 29), (0, 10, 0, 20), (0, 10, 0, 10), (10, 10, 0, 20),
         (10, 10, 0, 10)],
        float,
    )
    lo, hi = st.newcombe_ci(a[:, 0], a[:, 1], a[:, 2], a[:, 3])
    assert np.round(lo, 4).tolist() == [0.0524, 0.1705, -0.0381, -0.1611, -0.2775, 0.6791, 0.6075]
    assert np.round(hi, 4).tolist() == [0.3339, 0.8090, 0.1926, 0.2775, 0.2775, 1.0, 1.0]


@settings(max_examples=200, deadline=None)
@given(
    hs.integers(1, 500).flatmap(lambda n: hs.tuples(hs.integers(0, n), hs.just(n))),
    hs.integers(1, 500).flatmap(lambda n: hs.tuples(hs.integers(0, n), hs.just(n))),
)
def test_newcombe_contains_the_difference_and_is_antisymmetric(a: tuple[int, int], b: tuple[int, int]) -> None:
    x1, n1, x2, n2 = (np.array([float(v)]) for v in (*a, *b))
    lo, hi = st.newcombe_ci(x1, n1, x2, n2)
    d = a[0] / a[1] - b[0] / b[1]
    assert -1 - 1e-12 <= lo[0] <= d + 1e-12 <= hi[0] + 2e-12 <= 1 + 3e-12
    lo2, hi2 = st.newcombe_ci(x2, n2, x1, n1)  # swapping the groups mirrors the interval
    assert (lo2[0], hi2[0]) == pytest.approx((-hi[0], -lo[0]), abs=1e-12)


def test_cohens_h_by_hand() -> None:
    h = st.cohens_h(np.array([0.5, 1.0, 0.3, 0.0]), np.array([0.25, 0.0, 0.3, 1.0]))
    assert h.tolist() == pytest.approx([math.pi / 6, math.pi, 0.0, -math.pi])


def test_two_proportion_z_test_equals_chi_square_without_correction() -> None:
    x1 = np.array([40.0, 120, 500, 30])
    n1 = np.array([100.0, 400, 1000, 60])
    x2 = np.array([25.0, 100, 480, 30])
    n2 = np.array([100.0, 410, 1000, 70])
    p, test = st.two_proportion_tests(x1, n1, x2, n2)
    assert list(test) == ["z"] * 4
    for i in range(4):
        table = [[x1[i], n1[i] - x1[i]], [x2[i], n2[i] - x2[i]]]
        assert p[i] == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue, rel=1e-9)


def test_two_proportion_tests_use_fisher_for_small_expected_counts() -> None:
    x1, n1 = np.array([3.0, 0, 1, 0]), np.array([8.0, 10, 1, 5])
    x2, n2 = np.array([0.0, 0, 0, 5]), np.array([9.0, 10, 1, 5])
    p, test = st.two_proportion_tests(x1, n1, x2, n2)
    assert list(test) == ["fisher"] * 4
    for i in range(4):
        table = [[int(x1[i]), int(n1[i] - x1[i])], [int(x2[i]), int(n2[i] - x2[i])]]
        assert p[i] == pytest.approx(stats.fisher_exact(table).pvalue)
    assert p[1] == 1.0  # no successes anywhere: nothing to find


def test_two_proportion_tests_of_nothing_give_nothing() -> None:
    p, test = st.two_proportion_tests(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))
    assert p.shape == (0,) and len(test) == 0


# -- multiple testing -------------------------------------------------------------------


def test_bh_reproduces_benjamini_hochbergs_worked_example() -> None:
    # Benjamini & Hochberg (1995), section 4: 15 p-values, four discoveries at q = 0.05
    p = np.array([0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240,
                  0.4262, 0.5719, 0.6528, 0.7590, 1.0])
    q = st.bh_qvalues(p)
    assert np.flatnonzero(q <= 0.05).tolist() == [0, 1, 2, 3]
    assert q[3] == pytest.approx(0.0095 * 15 / 4)
    # q_i = min over j >= i of p_j · m / j: ranks 6 and 7 share rank 7's value
    want = [0.0201 * 15 / 5, 0.0298 * 15 / 7, 0.0298 * 15 / 7, 0.0344 * 15 / 8, 0.0459 * 15 / 9]
    assert q[4:9] == pytest.approx(want)


def test_bh_keeps_nan_and_handles_empty_and_ties() -> None:
    q = st.bh_qvalues(np.array([0.01, np.nan, 0.04, 0.03, np.nan, 0.5]))
    assert np.isnan(q[[1, 4]]).all()
    assert q[[0, 2, 3, 5]] == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    assert st.bh_qvalues(np.zeros(0)).shape == (0,)
    assert np.isnan(st.bh_qvalues(np.array([np.nan, np.nan]))).all()
    assert st.bh_qvalues(np.array([0.02, 0.02, 0.02])).tolist() == pytest.approx([0.02] * 3)


@settings(max_examples=200, deadline=None)
@given(hs.lists(hs.one_of(hs.floats(0, 1), hs.just(0.05), hs.just(1.0)), min_size=1, max_size=60))
def test_bh_qvalues_are_monotone_at_least_p_and_at_most_1(values: list[float]) -> None:
    p = np.array(values)
    q = st.bh_qvalues(p)
    assert (q >= p - 1e-15).all() and (q <= 1).all()
    order = np.argsort(p, kind="stable")
    assert (np.diff(q[order]) >= -1e-15).all()  # a smaller p never gets a larger q
    perm = np.random.default_rng(0).permutation(p.size)
    assert st.bh_qvalues(p[perm]) == pytest.approx(q[perm])  # order of input does not matter


@settings(max_examples=200, deadline=None)
@given(hs.lists(hs.one_of(hs.floats(0, 1), hs.just(0.05), hs.just(1.0), hs.just(0.0)), min_size=1, max_size=80))
def test_bh_equals_scipy_to_the_bit(values: list[float]) -> None:
    # written out by hand so that comparing cohorts need not import scipy.stats (0.7 s)
    p = np.array(values)
    assert np.array_equal(st.bh_qvalues(p), stats.false_discovery_control(p, method="bh"))


def test_jensen_shannon_and_normal_tail_equal_scipy_to_the_bit() -> None:
    from scipy.spatial import distance

    rng = np.random.default_rng(3)
    for _ in range(50):
        p = rng.integers(0, 20, (int(rng.integers(1, 40)), int(rng.integers(1, 25)))).astype(float)
        q = rng.integers(0, 20, p.shape).astype(float)
        p[0] = 0  # a row of zeros: NaN in both
        with np.errstate(divide="ignore", invalid="ignore"):
            want = distance.jensenshannon(p, q, base=2, axis=-1)
        assert np.array_equal(st.jensen_shannon(p, q), want, equal_nan=True)
    x1, x2 = rng.integers(5, 50, 500), rng.integers(5, 50, 500)
    p, _ = st.two_proportion_tests(x1, np.full(500, 60), x2, np.full(500, 70))
    pooled = (x1 + x2) / 130
    z = (x1 / 60 - x2 / 70) / np.sqrt(pooled * (1 - pooled) * (1 / 60 + 1 / 70))
    assert np.array_equal(p, np.minimum(2 * stats.norm.sf(np.abs(z)), 1.0))


def test_comparing_cohorts_does_not_import_scipy_stats() -> None:
    import subprocess
    import sys

    code = (
        "import sys, journeymine as jm\n"
        "log = jm.datasets.demo_b2b(300, random_state=0)\n"
        "jm.compare_cohorts(log, by='segment', outcomes=jm.datasets.DEMO_OUTCOMES, random_state=0)\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


# -- durations ---------------------------------------------------------------------------


def test_bootstrap_median_diff_is_seeded_and_exact_for_constant_groups() -> None:
    a, b = np.full(30, 5.0), np.full(40, 2.0)
    assert st.bootstrap_median_diff(a, b, np.random.default_rng(0)) == (3.0, 3.0, 3.0)
    x = np.random.default_rng(1).exponential(size=80)
    y = np.random.default_rng(2).exponential(size=60)
    one = st.bootstrap_median_diff(x, y, np.random.default_rng(7))
    assert one == st.bootstrap_median_diff(x, y, np.random.default_rng(7))
    assert one[0] == float(np.median(x) - np.median(y)) and one[1] < one[0] < one[2]


def test_bootstrap_median_diff_covers_the_true_difference() -> None:
    """The 95% interval covers the true difference of medians in about 95% of samples."""
    rng = np.random.default_rng(3)
    covered = 0
    for _ in range(200):
        a, b = rng.normal(1.0, 1, 60), rng.normal(0.0, 1, 50)
        _, lo, hi = st.bootstrap_median_diff(a, b, rng)
        covered += lo <= 1.0 <= hi
    assert 175 <= covered <= 199  # a percentile bootstrap runs a little narrow at n = 50


def test_bootstrap_cap_widens_the_interval_of_a_capped_group() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=5000), rng.normal(size=5000)
    _, lo_cap, hi_cap = st.bootstrap_median_diff(a, b, np.random.default_rng(0), cap=100)
    _, lo, hi = st.bootstrap_median_diff(a, b, np.random.default_rng(0), cap=5000)
    assert hi_cap - lo_cap > hi - lo  # conservative: never narrower than the uncapped one


def test_median_diff_ci_is_exact_for_constant_groups_and_matches_statpsych() -> None:
    a, b = np.full(30, 5.0), np.full(40, 2.0)
    assert st.median_diff_ci(a, b, np.random.default_rng(0)) == (3.0, 3.0, 3.0)  # coarse: bootstrap
    # statpsych's ci.median(.05, y) on its documented example: SE 4.292277
    y = np.sort([30.2, 20.4, 15.1, 10.2, 10.5, 60.8, 20.8, 25.0, 20.7, 30.9, 10.8, 5.1,
                 50.9, 40.0, 20.9, 10.8, 0, 20.5, 50.8])
    assert st.median_se(y) == pytest.approx(4.292277, abs=1e-6)
    x = np.sort(np.random.default_rng(1).exponential(size=80))
    z = np.sort(np.random.default_rng(2).exponential(size=60))
    est, lo, hi = st.median_diff_ci(x, z, np.random.default_rng(0))
    assert est == float(np.median(x) - np.median(z)) and lo < est < hi
    assert not st.coarse(x) and st.coarse(np.sort(np.floor(x)))
    assert hi - est == pytest.approx(st.Z95 * np.hypot(st.median_se(x), st.median_se(z)))


@pytest.mark.parametrize(
    ("shape", "n_a", "n_b"),
    [("lognormal", 10, 10), ("lognormal", 40, 2_000), ("days", 60, 60), ("exponential", 300, 30)],
)
def test_median_diff_ci_covers_the_true_difference(shape: str, n_a: int, n_b: int) -> None:
    """The 95% interval covers the true difference of medians in about 95% of samples:
    skewed, tied (whole days) and very unequal groups (full study: bench_compare.py)."""
    rng = np.random.default_rng(3)
    draw = {
        "lognormal": lambda n, m: rng.lognormal(np.log(m), 1.0, n),
        "days": lambda n, m: np.floor(rng.exponential(m / np.log(2), n)),
        "exponential": lambda n, m: rng.exponential(m / np.log(2), n),
    }[shape]
    # whole days: the median of floor(X) is ceil(m) - 1 for X of median m, so 3 - 2 = 1 too
    m_a, m_b = (3.3, 2.2) if shape == "days" else (3.0, 2.0)
    true = 1.0
    covered = 0
    reps = 400
    for _ in range(reps):
        a, b = np.sort(draw(n_a, m_a)), np.sort(draw(n_b, m_b))
        _, lo, hi = st.median_diff_ci(a, b, rng)
        covered += lo <= true <= hi
    assert 0.92 * reps <= covered <= reps  # 400 draws: 0.95 ± 0.011


@given(
    hs.lists(hs.integers(0, 6), min_size=9, max_size=60),
    hs.lists(hs.integers(0, 6), min_size=9, max_size=60),
)
@settings(max_examples=150, deadline=None)
def test_mann_whitney_sorted_equals_scipy(a: list[int], b: list[int]) -> None:
    """Ties everywhere: U and the p-value are scipy's, to the last bit."""
    from scipy import stats

    x, y = np.array(a, float), np.array(b, float)
    both = np.r_[x, y]
    order = np.argsort(both, kind="stable")
    in_a = np.r_[np.ones(x.size, bool), np.zeros(y.size, bool)][order]
    u1, p = st.mann_whitney_sorted(both[order], in_a)
    ref = stats.mannwhitneyu(x, y, alternative="two-sided")
    assert u1 == float(ref.statistic)
    assert (p == float(ref.pvalue)) or (np.isnan(p) and np.isnan(ref.pvalue))


def test_fisher_exact_matches_scipy_on_many_tables() -> None:
    from scipy import stats

    rng = np.random.default_rng(5)
    n1, n2 = rng.integers(1, 400, 300), rng.integers(1, 5_000, 300)
    x1, x2 = rng.binomial(n1, 0.02), rng.binomial(n2, 0.03)
    tables = [(0, 1, 0, 1), (1, 1, 0, 1), (0, 5, 5, 5), (3, 3, 0, 0), (0, 0, 0, 0)]
    x1 = np.r_[x1, [t[0] for t in tables]]
    n1 = np.r_[n1, [t[1] for t in tables]]
    x2 = np.r_[x2, [t[2] for t in tables]]
    n2 = np.r_[n2, [t[3] for t in tables]]
    p = st.fisher_exact(x1, n1, x2, n2)
    ref = [stats.fisher_exact([[a, b - a], [c, d - c]]).pvalue for a, b, c, d in zip(x1, n1, x2, n2, strict=True)]
    assert p == pytest.approx(ref, rel=1e-9, abs=1e-300)


def test_fisher_exact_chunks_give_the_same_p_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables summed in several chunks (the memory bound) give the same p-values."""
    rng = np.random.default_rng(6)
    n1, n2 = rng.integers(50, 400, 40), rng.integers(50, 400, 40)
    x1, x2 = rng.binomial(n1, 0.3), rng.binomial(n2, 0.35)
    whole = st.fisher_exact(x1, n1, x2, n2)
    monkeypatch.setattr(st, "_FISHER_CHUNK", 300)
    assert st.fisher_exact(x1, n1, x2, n2).tolist() == whole.tolist()


# -- time to event -----------------------------------------------------------------------


def test_kaplan_meier_on_the_6mp_remission_data() -> None:
    times, surv = st.km_curve(MP_TIME, MP_EVENT)
    # Kleinbaum & Klein, Survival Analysis, table 2.1 (6-MP group)
    assert times.tolist() == [6, 7, 10, 13, 16, 22, 23]
    assert np.round(surv, 3).tolist() == [0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448]
    assert st.km_median(MP_TIME, MP_EVENT) == 23.0
    assert st.km_median(PLACEBO_TIME, PLACEBO_EVENT) == 8.0
    assert st.km_quantile(MP_TIME, MP_EVENT, 0.25) == 13.0  # first S <= 0.75
    assert math.isnan(st.km_quantile(MP_TIME, MP_EVENT, 0.75))  # S never reaches 0.25


def test_kaplan_meier_edge_cases() -> None:
    empty_t, empty_s = st.km_curve(np.zeros(0), np.zeros(0))
    assert empty_t.size == 0 and empty_s.size == 0
    t, s = st.km_curve(np.arange(1.0, 6), np.zeros(5))  # all censored: no step at all
    assert t.size == 0 and s.size == 0 and math.isnan(st.km_median(np.arange(1.0, 6), np.zeros(5)))
    t, s = st.km_curve(np.array([3.0]), np.array([1]))  # one account, one event
    assert t.tolist() == [3.0] and s.tolist() == [0.0]
    t, s = st.km_curve(np.array([2.0, 2, 2, 5]), np.array([1, 1, 0, 0]))  # tied event and censoring
    assert t.tolist() == [2.0] and s.tolist() == [0.5]
    # without censoring the median is the exact half: 12 of 24 events (a running product
    # of 1 - 1/n gives 0.5000000000000001 there, which would move the median to 13)
    assert st.km_median(np.arange(1.0, 25), np.ones(24)) == 12.0


@settings(max_examples=150, deadline=None)
@given(hs.lists(hs.tuples(hs.integers(0, 12), hs.booleans()), min_size=1, max_size=40))
def test_kaplan_meier_equals_the_textbook_loop(rows: list[tuple[int, bool]]) -> None:
    time = np.array([float(t) for t, _ in rows])
    event = np.array([e for _, e in rows])
    times, surv = st.km_curve(time, event)
    want_t, want_s = naive_km(time, event)
    assert times.tolist() == want_t
    assert surv.tolist() == pytest.approx(want_s, abs=1e-12)
    assert (np.diff(surv) <= 0).all() and ((surv >= 0) & (surv <= 1)).all()


def scipy_km(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scipy's Kaplan–Meier curve at its event times (what km_curve returned before)."""
    e = event.astype(bool)
    sf = stats.ecdf(stats.CensoredData(uncensored=time[e], right=time[~e])).sf
    at_event = np.isin(sf.quantiles, time[e])
    return sf.quantiles[at_event], sf.probabilities[at_event]


@settings(max_examples=200, deadline=None)
@given(
    hs.lists(
        hs.tuples(hs.one_of(hs.integers(0, 15).map(float), hs.floats(0, 1e7, allow_nan=False)), hs.booleans()),
        max_size=300,
    )
)
def test_kaplan_meier_equals_scipys_ecdf(rows: list[tuple[float, bool]]) -> None:
    # small integers give ties (between events, censorings and both); floats give long curves
    time = np.array([t for t, _ in rows], dtype=float)
    event = np.array([e for _, e in rows], dtype=bool)
    times, surv = st.km_curve(time, event)
    want_t, want_s = scipy_km(time, event)
    assert times.tolist() == want_t.tolist()
    np.testing.assert_allclose(surv, want_s, rtol=0, atol=1e-12)
    quantiles = st.km_quantiles(time, event, (0.5, 0.25, 0.75))
    assert quantiles == pytest.approx([st.km_quantile(time, event, q) for q in (0.5, 0.25, 0.75)], nan_ok=True)


def test_logrank_on_the_6mp_remission_data() -> None:
    # Kleinbaum & Klein: log-rank χ² = 16.79 (1 df) for 6-MP against placebo
    p = st.logrank(MP_TIME, MP_EVENT, PLACEBO_TIME, PLACEBO_EVENT)
    assert stats.chi2.isf(p, 1) == pytest.approx(16.79, abs=0.005)
    assert p == pytest.approx(st.logrank(PLACEBO_TIME, PLACEBO_EVENT, MP_TIME, MP_EVENT), rel=1e-12)


def test_logrank_edge_cases() -> None:
    t = np.arange(1.0, 21.0)
    assert st.logrank(t, np.ones(20), t, np.ones(20)) == pytest.approx(1.0)
    assert math.isnan(st.logrank(t, np.zeros(20), t, np.zeros(20)))  # no events
    assert math.isnan(st.logrank(t, np.ones(20), np.zeros(0), np.zeros(0)))  # empty group
    assert math.isnan(st.logrank(np.array([5.0]), np.ones(1), np.array([1.0]), np.zeros(1)))  # no variance
    # one account each, both events: χ² = 1, p = P(χ²₁ > 1)
    assert st.logrank(np.array([2.0]), np.ones(1), np.array([3.0]), np.ones(1)) == pytest.approx(
        stats.chi2.sf(1.0, 1)
    )


@settings(max_examples=150, deadline=None)
@given(
    hs.lists(hs.tuples(hs.integers(0, 8), hs.booleans()), min_size=1, max_size=25),
    hs.lists(hs.tuples(hs.integers(0, 8), hs.booleans()), min_size=1, max_size=25),
)
def test_logrank_equals_the_textbook_loop(a: list[tuple[int, bool]], b: list[tuple[int, bool]]) -> None:
    t1, e1 = np.array([float(t) for t, _ in a]), np.array([e for _, e in a])
    t2, e2 = np.array([float(t) for t, _ in b]), np.array([e for _, e in b])
    p = st.logrank(t1, e1, t2, e2)
    chi2 = naive_logrank_chi2(t1, e1, t2, e2)
    if not math.isnan(chi2):
        assert p == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-9, abs=1e-15)
    else:
        assert math.isnan(p)


# -- distributions -----------------------------------------------------------------------


def test_jensen_shannon_by_hand() -> None:
    m = np.array([0.75, 0.25])
    kl_p = math.log2(1 / 0.75)
    kl_q = 0.5 * math.log2(0.5 / m[0]) + 0.5 * math.log2(0.5 / m[1])
    got = st.jensen_shannon(np.array([[1.0, 0], [3, 1], [0, 7]]), np.array([[5.0, 5], [6, 2], [2, 0]]))
    assert got.tolist() == pytest.approx([math.sqrt((kl_p + kl_q) / 2), 0.0, 1.0])


@settings(max_examples=200, deadline=None)
@given(
    hs.integers(1, 8).flatmap(
        lambda k: hs.tuples(*(hs.lists(hs.integers(0, 50), min_size=k, max_size=k) for _ in range(3)))
    )
)
def test_jensen_shannon_is_a_metric_in_0_1(rows: tuple[list[int], list[int], list[int]]) -> None:
    p, q, r = (np.array([v], float) + np.eye(1, len(v)) for v in rows)  # no row of zeros
    pq, qp = st.jensen_shannon(p, q)[0], st.jensen_shannon(q, p)[0]
    assert pq == pytest.approx(qp, abs=1e-12) and -1e-12 <= pq <= 1 + 1e-12
    assert st.jensen_shannon(p, 3 * p)[0] == pytest.approx(0.0, abs=1e-7)  # counts are normalised
    pr, qr = st.jensen_shannon(p, r)[0], st.jensen_shannon(q, r)[0]
    assert pr <= pq + qr + 1e-9  # the triangle inequality of the JS distance


def test_jensen_shannon_of_an_empty_distribution_is_nan() -> None:
    p = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    q = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    out = st.jensen_shannon(p, q)
    assert np.isnan(out).all()
    assert st.jensen_shannon(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]]))[0] == 0.0

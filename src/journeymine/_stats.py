"""Small, vectorised statistics for cohort comparison (numpy and scipy only).

* proportions: two-proportion z-test (pooled), Fisher's exact test where an expected
  count is below 5, Newcombe's hybrid score interval for a difference of proportions
  (Newcombe 1998, method 10, from Wilson intervals), Cohen's h;
* multiple testing: Benjamini–Hochberg q-values;
* durations: Mann–Whitney U (scipy), median difference with a percentile bootstrap CI;
* time to event: Kaplan–Meier median and the two-group log-rank test;
* distributions: Jensen–Shannon distance.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "bh_qvalues",
    "bootstrap_median_diff",
    "cohens_h",
    "jensen_shannon",
    "km_curve",
    "km_median",
    "km_quantile",
    "logrank",
    "newcombe_ci",
    "two_proportion_tests",
    "wilson",
]

Z95 = 1.959963984540054


def wilson(x: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for proportions ``x / n`` (arrays).

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = wilson(np.array([5]), np.array([10]))
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.237, 0.763)
    """
    n = np.maximum(n, 1)
    p = x / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def newcombe_ci(
    x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for ``p1 - p2``."""
    p1, p2 = x1 / np.maximum(n1, 1), x2 / np.maximum(n2, 1)
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    lo = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return lo, hi


def cohens_h(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Cohen's h = 2·asin√p1 − 2·asin√p2."""
    out: np.ndarray = 2 * np.arcsin(np.sqrt(np.clip(p1, 0, 1))) - 2 * np.arcsin(np.sqrt(np.clip(p2, 0, 1)))
    return out


def two_proportion_tests(
    x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values and the test used for each 2×2 table.

    The pooled two-proportion z-test where every expected count is at least 5, else
    Fisher's exact test.

    Examples
    --------
    >>> import numpy as np
    >>> p, test = two_proportion_tests(np.array([30, 2]), np.array([100, 10]),
    ...                                np.array([10, 0]), np.array([100, 10]))
    >>> list(test), bool(p[0] < 0.001), bool(p[1] > 0.4)
    (['z', 'fisher'], True, True)
    """
    from scipy import stats

    x1, n1, x2, n2 = (np.asarray(a, dtype=float) for a in (x1, n1, x2, n2))
    pooled = (x1 + x2) / np.maximum(n1 + n2, 1)
    expected = np.minimum.reduce([n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled)])
    use_z = expected >= 5
    se = np.sqrt(pooled * (1 - pooled) * (1 / np.maximum(n1, 1) + 1 / np.maximum(n2, 1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = np.where(se > 0, (x1 / np.maximum(n1, 1) - x2 / np.maximum(n2, 1)) / se, 0.0)
    p = 2 * stats.norm.sf(np.abs(zval))
    test = np.where(use_z, "z", "fisher").astype(object)
    for i in np.flatnonzero(~use_z):
        table = [[int(x1[i]), int(n1[i] - x1[i])], [int(x2[i]), int(n2[i] - x2[i])]]
        p[i] = stats.fisher_exact(table).pvalue
    return np.minimum(p, 1.0), test


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), NaN kept as NaN.

    Examples
    --------
    >>> import numpy as np
    >>> [round(float(q), 3) for q in bh_qvalues(np.array([0.01, 0.04, 0.03, 0.5]))]
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


def bootstrap_median_diff(
    a: np.ndarray, b: np.ndarray, rng: np.random.Generator, *, n_boot: int = 200, cap: int = 600
) -> tuple[float, float, float]:
    """Median of ``a`` minus median of ``b`` with a 95% percentile bootstrap CI.

    Resamples have the group's own size up to ``cap`` (so that large groups stay cheap);
    when a group was capped, the interval's half-widths are scaled by √(cap/n) for the
    less-capped group, which keeps the interval conservative (never narrower than the
    uncapped one would be for that group).
    """
    est = float(np.median(a) - np.median(b))
    size_a, size_b = min(a.size, cap), min(b.size, cap)
    ia = rng.integers(0, a.size, size=(n_boot, size_a))
    ib = rng.integers(0, b.size, size=(n_boot, size_b))
    diffs = np.median(a[ia], axis=1) - np.median(b[ib], axis=1)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    shrink_a, shrink_b = size_a / a.size, size_b / b.size
    shrink = math.sqrt(max(shrink_a, shrink_b)) if (shrink_a < 1 or shrink_b < 1) else 1.0
    return est, est - (est - float(lo)) * shrink, est + (float(hi) - est) * shrink


def km_curve(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier curve: the distinct event times and the survival just after each.

    Examples
    --------
    >>> import numpy as np
    >>> t, s = km_curve(np.array([1.0, 2, 3, 4, 5]), np.array([1, 1, 0, 1, 1]))
    >>> t.tolist(), s.round(2).tolist()
    ([1.0, 2.0, 4.0, 5.0], [0.8, 0.6, 0.3, 0.0])
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event).astype(bool)
    times = np.unique(t[e])
    if times.size == 0:
        return times, np.ones(0)
    ts = np.sort(t)
    at_risk = ts.size - np.searchsorted(ts, times, side="left")
    deaths = np.bincount(np.searchsorted(times, t[e]), minlength=times.size)
    return times, np.cumprod(1 - deaths / at_risk)


def km_quantile(time: np.ndarray, event: np.ndarray, q: float = 0.5) -> float:
    """Time at which the Kaplan–Meier curve first drops to 1 − q (NaN when it never does).

    Examples
    --------
    >>> import numpy as np
    >>> km_quantile(np.array([1.0, 2, 3, 4, 5]), np.array([1, 1, 0, 1, 1]))  # S: .8, .6, .6, .3
    4.0
    """
    times, surv = km_curve(time, event)
    hit = np.flatnonzero(surv <= 1 - q)
    return float(times[hit[0]]) if hit.size else float("nan")


def km_median(time: np.ndarray, event: np.ndarray) -> float:
    """Kaplan–Meier median survival time (NaN when the curve stays above 0.5)."""
    return km_quantile(time, event, 0.5)


def logrank(t1: np.ndarray, e1: np.ndarray, t2: np.ndarray, e2: np.ndarray) -> float:
    """Two-sided p-value of the log-rank test between two groups (chi-square, 1 df)."""
    from scipy import stats

    t = np.concatenate([t1, t2])
    e = np.concatenate([e1, e2]).astype(bool)
    g = np.concatenate([np.zeros(t1.size, bool), np.ones(t2.size, bool)])
    times = np.unique(t[e])
    if times.size == 0:
        return float("nan")
    # at risk and events at each event time, by group (vectorised with searchsorted)
    ts = np.sort(t)
    ts1 = np.sort(t[~g])
    n = ts.size - np.searchsorted(ts, times, side="left")
    n1 = ts1.size - np.searchsorted(ts1, times, side="left")
    d = np.bincount(np.searchsorted(times, t[e]), minlength=times.size)
    d1 = np.bincount(np.searchsorted(times, t[e & ~g]), minlength=times.size)
    expected = d * n1 / n
    var = np.where(n > 1, d * (n1 / n) * (1 - n1 / n) * (n - d) / np.maximum(n - 1, 1), 0.0)
    if var.sum() <= 0:
        return float("nan")
    chi2 = (d1.sum() - expected.sum()) ** 2 / var.sum()
    return float(stats.chi2.sf(chi2, 1))


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon distance (base 2, in [0, 1]) between rows of ``p`` and ``q``."""
    p = p / np.maximum(p.sum(axis=-1, keepdims=True), 1e-300)
    q = q / np.maximum(q.sum(axis=-1, keepdims=True), 1e-300)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=-1)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=-1)
    out: np.ndarray = np.sqrt(np.maximum((kl_p + kl_q) / 2, 0.0))
    return out

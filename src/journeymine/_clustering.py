"""Journey clustering: a few journey *types* behind thousands of variants.

Accounts are not clustered one by one. Each account becomes a *unit*: its variant (the
sequence of activities) and its pace bin, or "none" for one-event journeys. For the Markov
mixture the pace bin is the account's median *residual* gap: each gap against the typical
gap of its transition, on a log scale, in bins ×1.26 wide. For k-means it is the median gap
itself, in bins ×3.16 wide. Units are counted, so a log of 250k accounts costs about as
much as its distinct units.

Representations
---------------
``"markov"`` (default)
    A mixture of first-order Markov chains fitted by EM (sequence clustering, Cadez et
    al. 2003; Ferreira et al. 2007), with pace. Each cluster has a start distribution, a
    transition matrix with an end state, and a normal distribution of the log10 residual
    gaps: every gap between consecutive events less the typical log10 gap of its transition
    in the whole log (a log-normal model of waiting times, with a baseline per transition
    and a pace factor per cluster). The residual keeps pace apart from order: a cluster of
    journeys that take slow steps is not "slow", and only journeys that take their steps
    slower than usual are. A unit's log-likelihood under a cluster depends only on its
    start activity, its transition counts and the count, sum and sum of squares of its
    residuals, so the E-step is a few sparse matrix products. The
    model sees order and loops (transitions and self-loops) and pace, where a bag of
    activities sees neither. Pace is a normal, not a histogram, on purpose: a mixture
    gains nothing from splitting a cluster on a feature it can already model as bimodal,
    so with a histogram journeys alike in order but not in pace would never separate.
``"profile"``
    Song et al.'s trace profiles: activity counts and transition counts, TF-IDF weighted
    and L2-normalised, clustered with weighted k-means.
``"ngram"``
    TF-IDF of activity 1- to 3-grams, with weighted k-means.
``"profile+timing"``
    The trace profile plus the pace bin one-hot, with weighted k-means.

``n_clusters="auto"`` chooses k by BIC for ``"markov"``. The parameter count is the
effective one: the transitions and start activities that occur in the data, per
cluster. k = 1 is among the candidates, so a log without structure gets one cluster and
a warning. For the k-means representations, k is chosen by the silhouette score on a
count-weighted sample of units. ``selection_scores_`` holds what was compared.

``benchmarks/bench_clustering.py`` measures which representation recovers planted
journey types best; the default is the winner there (see ``docs/clustering.md``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from ._agreement import best_jaccard, coassociation_kmeans, mean_pairwise_ari
from ._base import Estimator
from ._encoding import require_events
from ._engine import engine_of
from ._log import JourneyLog
from ._params import check_choice, check_int, invalid
from ._warnings import warn
from .errors import InvalidParameterError, JourneymineWarning, MissingDependencyError

if TYPE_CHECKING:
    import pandas as pd
    from scipy import sparse

    from ._journeymap import JourneyMaps
    from ._outcomes import OutcomeSpec
    from ._subway import SubwayLine

__all__ = ["JourneyClusterer"]

Representation = Literal["markov", "profile", "ngram", "profile+timing"]
_REPRESENTATIONS = ("markov", "profile", "ngram", "profile+timing")
#: Pace bins of the k-means representations: the median gap between an account's events,
#: on a log scale, in steps of √10 (×3.16) from 1 s to ~30 years; one more bin holds
#: one-event journeys.
_PACE_EDGES = np.arange(0.5, 9.0, 0.5)
_PACE_BUCKETS = _PACE_EDGES.size + 1
#: The Markov mixture reads pace as each gap's log10 *residual*: the gap against the typical
#: gap of its transition (see :class:`_Baseline`). Its units group accounts by their median
#: residual in bins ×1.26 (10^0.1) wide, from 10^-4 to 10^4 times typical: a coarse bin
#: would merge accounts whose paces differ by up to ×3.16 into one unit with one
#: responsibility. The coarse bins (×3.16, as many as ``_PACE_EDGES``) serve the seeding.
_RESIDUAL_EDGES = np.arange(-4.0, 4.01, 0.5)
_RESIDUAL_EDGES_FINE = -4.0 + np.arange(81) / 10
_OTHER = "(other activity)"
#: Above this many accounts, "auto" compares k on a random sample of this many accounts.
_SELECTION_SAMPLE = 20_000
#: Every EM start runs until its relative log-likelihood gain falls below this; the best
#: start then runs on to ``tol`` (1e-6).
_START_TOL = 1e-4
#: EM runs per k when "auto" compares k with the consensus (the chosen k gets ``n_init``).
_SCAN_RUNS = 8
#: ``n_init="auto"``: EM runs combined by the consensus; starts of the best-likelihood rule
#: (``consensus=False``) and of scikit-learn's KMeans (the k-means representations).
_AUTO_RUNS = 20
#: independent consensus ensembles at the chosen k; the likeliest of their consensuses wins
_CANDIDATES = 4
_AUTO_STARTS = 4
#: Below this ``stability_`` the clusters depend on the EM start, and fit warns; a cluster
#: whose mean bootstrap Jaccard is below it is flagged unstable (Hennig 2007: "dissolved").
_UNSTABLE = 0.6


@dataclass(frozen=True)
class _Units:
    """Distinct (variant, pace bin) units of a log and the accounts behind them."""

    variants: list[list[int]]  # activity codes in the fitted alphabet
    pace: np.ndarray  # coarse pace bin per unit: 0.._PACE_BUCKETS-1, or _PACE_BUCKETS for "none"
    counts: np.ndarray  # accounts per unit
    case_unit: np.ndarray  # unit index of every case (in log.cases order)
    pace_n: np.ndarray  # gaps between consecutive events of the unit's accounts
    pace_s: np.ndarray  # sum of their log10 seconds
    pace_sq: np.ndarray  # sum of squares


@dataclass(frozen=True)
class _Baseline:
    """The typical log10 gap of each transition, by (source, target) activity name.

    It is the mean log10 gap of the transition in the fitted log; ``default``, the mean of
    all its gaps, stands in for transitions the fitted log does not have. The means are not
    shrunk toward that overall mean: typical step durations span orders of magnitude, so
    it is a poor prior for any one step, and a shrunk version did worse on BPI 2012 (see
    ``docs/clustering.md``).
    """

    table: dict[tuple[str, str], float]
    default: float

    @classmethod
    def of(cls, log: JourneyLog) -> _Baseline:
        """The baselines of ``log``."""
        stats = engine_of(log).transition_gaps(log)
        n = stats.get_column("n").to_numpy().astype(float)
        s = stats.get_column("s").to_numpy().astype(float)
        default = float(s.sum() / n.sum()) if n.sum() else 0.0
        base = s / n  # every transition in the stats was seen at least once
        acts = log.activities
        pairs = zip(stats.get_column("act").to_list(), stats.get_column("tgt").to_list(), base, strict=True)
        table = {(acts[a], acts[t]): float(v) for a, t, v in pairs}
        return cls(table=table, default=default)

    def codes(self, activities: Sequence[str]) -> tuple[pl.DataFrame, float]:
        """The table in the activity codes of a log (``act``, ``tgt``, ``base``), and the
        default; pairs with an activity the log lacks are left out."""
        index = {a: i for i, a in enumerate(activities)}
        rows = [(index[a], index[t], v) for (a, t), v in self.table.items() if a in index and t in index]
        schema = {"act": pl.Int32, "tgt": pl.Int32, "base": pl.Float64}
        return pl.DataFrame(rows, schema=schema, orient="row"), self.default


def _units(log: JourneyLog, alphabet: Mapping[str, int], baseline: _Baseline | None) -> _Units:
    """Group accounts by variant and pace group.

    Without a ``baseline`` (the k-means representations) the pace is the account's median
    log10 gap, grouped by ``_PACE_EDGES``. With one (the Markov mixture) it is the median
    residual against the baseline, grouped by ``_RESIDUAL_EDGES_FINE``; ``pace`` is then
    the coarse bin by ``_RESIDUAL_EDGES``, which the fine edges nest in, for seeding.
    """
    acts = log.activities
    other = len(alphabet) - 1  # the shared state is the alphabet's last symbol
    remap = np.array([alphabet.get(a, other) for a in acts], dtype=np.int64)
    pace_edges, coarse_edges = (
        (_PACE_EDGES, _PACE_EDGES) if baseline is None else (_RESIDUAL_EDGES_FINE, _RESIDUAL_EDGES)
    )
    table = None if baseline is None else baseline.codes(acts)
    grouped = engine_of(log).clustering_units(log, pace_edges, coarse_edges, _PACE_BUCKETS, table)
    # flat columns, not a Python list per unit (~0.1 s less for 58,700 units)
    codes = grouped.get_column("code")
    case_unit = np.empty(log.n_cases, dtype=np.int64)
    case_unit[codes.explode().to_numpy()] = np.repeat(np.arange(len(grouped)), codes.list.len().to_numpy())
    steps = grouped.get_column("variant")
    flat = remap[steps.explode().to_numpy().astype(np.int64)]
    variants = [list(v) for v in np.split(flat, np.cumsum(steps.list.len().to_numpy())[:-1])]
    return _Units(
        variants=variants,
        pace=grouped.get_column("pace").to_numpy(),
        counts=grouped.get_column("n").to_numpy().astype(float),
        case_unit=case_unit,
        pace_n=grouped.get_column("pn").to_numpy().astype(float),
        pace_s=grouped.get_column("ps").fill_null(0.0).to_numpy().astype(float),
        pace_sq=grouped.get_column("pq").fill_null(0.0).to_numpy().astype(float),
    )


def _markov_counts(
    units: _Units, n_sym: int
) -> tuple[sparse.csr_matrix, sparse.csr_matrix, sparse.csr_matrix]:
    """Start (U×A), transition incl. end (U×A(A+1)) and pace (U×P) count matrices."""
    from scipy import sparse

    # the entries in the order of a loop over units and steps (the matrices sum duplicates)
    n_u = len(units.variants)
    lengths = np.fromiter((len(v) for v in units.variants), dtype=np.int64, count=n_u)
    flat = np.fromiter(chain.from_iterable(units.variants), dtype=np.int64, count=int(lengths.sum()))
    ends = np.cumsum(lengths)
    nxt = np.empty_like(flat)
    nxt[:-1] = flat[1:]
    nxt[ends - 1] = n_sym  # the end state
    rows_t = np.repeat(np.arange(n_u), lengths)
    start = sparse.csr_matrix((np.ones(n_u), (np.arange(n_u), flat[ends - lengths])), shape=(n_u, n_sym))
    trans = sparse.csr_matrix(
        (np.ones(flat.size), (rows_t, flat * (n_sym + 1) + nxt)), shape=(n_u, n_sym * (n_sym + 1))
    )
    pace = sparse.csr_matrix((np.ones(n_u), (np.arange(n_u), units.pace)), shape=(n_u, _PACE_BUCKETS + 1))
    return start, trans, pace


@dataclass
class _MarkovMixture:
    log_w: np.ndarray
    log_start: np.ndarray
    log_trans: np.ndarray  # K × A × (A+1)
    mu: np.ndarray  # mean log10 median gap per component
    var: np.ndarray  # its variance

    def loglik(self, start: Any, trans: Any, units: _Units) -> np.ndarray:
        """Per-account log-likelihood of each unit under each component (U × K)."""
        out: np.ndarray = _loglik_many([self], start, trans, units)[0].T
        return out

    def labels(self, start: Any, trans: Any, units: _Units) -> np.ndarray:
        """The likeliest component of each unit (the first of equals)."""
        out: np.ndarray = _loglik_many([self], start, trans, units)[0].argmax(axis=0)
        return out


# EM runs side by side, on runs × components × units (R × K × U) arrays, for speed; the
# results are those of one run at a time on units × components arrays, to the bit:
# * a sparse × dense product sums each output element over the row's entries in the same
#   order whatever the number of columns, so one product with R·K columns gives the R
#   products with K (the forward one takes ~45% of the time per run with 8 runs, k = 6);
# * the elementwise operations are the same, in the same order, and components × units
#   rows make them fast: numpy takes ~500 µs for the maximum over the short axis of a
#   14,000 × 6 array, ~50 µs for the same over 6 rows, and a broadcast over the short axis
#   runs its inner loop 6 elements at a time;
# * sums are taken in numpy's order for the old layout (_pairwise_rows over components),
#   and the BLAS products on a units × components copy.
# On the 100,000-account log (a 20,000-account sample, ~2,000 EM iterations) EM went from
# 4.7 s to 2.1 s, fit from 6.4 s to 3.6 s. tests/test_clustering_em.py holds the old code
# and checks the equality.
def _transposed(x: np.ndarray) -> np.ndarray:
    """A C-ordered copy of ``x.T``, 256 units at a time: a units × R·K array of 8 runs
    (5 MB at k = 6) transposed whole took ~2 ms, in blocks that stay in the cache ~0.45 ms."""
    rows, cols = x.shape
    out = np.empty((cols, rows), dtype=x.dtype)
    if rows >= cols:
        for i in range(0, rows, 256):
            out[:, i : i + 256] = x[i : i + 256].T
    else:
        for i in range(0, cols, 256):
            out[i : i + 256] = x[:, i : i + 256].T
    return out


def _loglik_many(
    models: Sequence[_MarkovMixture], start: Any, trans: Any, units: _Units
) -> np.ndarray:
    """Per-account log-likelihood of each unit under each component of each model
    (R × K × U)."""
    k = models[0].log_w.size
    log_start = np.concatenate([m.log_start for m in models])
    log_trans = np.concatenate([m.log_trans.reshape(k, -1) for m in models])
    seq = _transposed(np.asarray(start @ log_start.T + trans @ log_trans.T))
    # Gaussian pace: the unit's summed log-density, spread over its accounts,
    #   -0.5 * n * log(2π var) - (s2 - 2 mu s1 + n mu²) / (2 var),
    # a model at a time and into buffers: the expression with its temporaries took ~1.1 ms
    # on 6 × 14,000 arrays, the same operations in place ~0.3 ms (and R·K × U temporaries
    # fall out of the cache)
    n, s1, s2 = units.pace_n, units.pace_s, units.pace_sq
    half_n = -0.5 * n
    out = np.empty((len(models), k, n.size))
    work = np.empty((k, n.size))
    for r, m in enumerate(models):
        mu, var = m.mu[:, None], m.var[:, None]
        gauss, rest = out[r], work
        np.multiply(half_n, np.log(2 * np.pi * var), out=gauss)
        np.multiply(2 * mu, s1, out=rest)
        np.subtract(s2, rest, out=rest)
        np.add(rest, np.multiply(n, mu**2), out=rest)
        np.divide(rest, 2 * var, out=rest)
        np.subtract(gauss, rest, out=gauss)
        np.divide(gauss, units.counts, out=gauss)
        np.add(seq[r * k : (r + 1) * k], gauss, out=gauss)
        np.add(gauss, m.log_w[:, None], out=gauss)
    return out


def _pairwise_rows(rows: Sequence[np.ndarray]) -> np.ndarray:
    """The sum of ``rows``, element by element, in the order in which numpy's
    ``x.sum(axis=1)`` adds the (contiguous) rows of ``x`` (its pairwise summation: one by
    one below 8 terms, 8 partial sums up to 128, halves above), so that the components ×
    units layout gives the units × components sums to the bit.
    ``tests/test_clustering_em.py`` checks it against numpy."""
    n = len(rows)
    if n > 128:
        half = n // 2
        half -= half % 8
        total: np.ndarray = _pairwise_rows(rows[:half]) + _pairwise_rows(rows[half:])
        return total
    out: np.ndarray
    if n < 8:
        out = rows[0]
        for row in rows[1:]:
            out = out + row
        return out
    part = list(rows[:8])
    i = 8
    while i < n - n % 8:
        for j in range(8):
            part[j] = part[j] + rows[i + j]
        i += 8
    out = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]))
    for row in rows[i:]:
        out = out + row
    return out


def _logsumexp_t(x: np.ndarray, work: np.ndarray) -> np.ndarray:
    """log Σ exp over the components of a K × U array (one value per unit); ``work`` is a
    K × U buffer."""
    m = x[0]
    for row in x[1:]:
        m = np.maximum(m, row)
    np.exp(np.subtract(x, m, out=work), out=work)
    out: np.ndarray = m + np.log(_pairwise_rows(list(work)))
    return out


def _normalise_log(x: np.ndarray, axis: int) -> np.ndarray:
    out: np.ndarray = np.log(x) - np.log(x.sum(axis=axis, keepdims=True))
    return out


_MIN_VAR = 0.05**2  # log10 units: a factor of 1.12 in pace


def _m_step(
    resp: np.ndarray, units: _Units, start: Any, trans: Any, n_sym: int, alpha: float
) -> _MarkovMixture:
    """The M-step from responsibilities ``resp`` (U × K)."""
    return _m_step_many(np.ascontiguousarray(resp.T)[None], units, start, trans, n_sym, alpha)[0]


def _m_step_many(
    resp: np.ndarray, units: _Units, start: Any, trans: Any, n_sym: int, alpha: float
) -> list[_MarkovMixture]:
    """The M-step of each run from its responsibilities (``resp``: R × K × U)."""
    runs, k, n_u = resp.shape
    wr_t = resp.reshape(runs * k, n_u) * units.counts
    wr = _transposed(wr_t)
    start_all = np.asarray(start.T @ wr)
    trans_all = np.asarray(trans.T @ wr)
    # numpy sums the columns of a U × K array (K > 1) one row after the other, whatever
    # their number, and faster per column when they are many; one column it sums pairwise
    w_all = wr.sum(axis=0) if k > 1 else None
    out = []
    for r in range(runs):
        cols = slice(r * k, (r + 1) * k)
        w = (np.ascontiguousarray(wr[:, cols]).sum(axis=0) if w_all is None else w_all[cols]) + 1e-12
        s = np.ascontiguousarray(start_all[:, cols]).T + alpha
        t = np.ascontiguousarray(trans_all[:, cols]).T.reshape(k, n_sym, n_sym + 1) + alpha
        # a U × K copy, C order: BLAS then runs the same kernel as on the U × K layout
        rr = np.ascontiguousarray(resp[r].T)
        n = rr.T @ units.pace_n + 1e-9
        s1 = rr.T @ units.pace_s
        mu = s1 / n
        var = (rr.T @ units.pace_sq - 2 * mu * s1 + n * mu**2) / n
        out.append(
            _MarkovMixture(
                log_w=np.log(w / w.sum()),
                log_start=_normalise_log(s, 1),
                log_trans=_normalise_log(t, 2),
                mu=mu,
                var=np.maximum(var, _MIN_VAR),
            )
        )
    return out


def _em(
    model: _MarkovMixture,
    start: Any,
    trans: Any,
    units: _Units,
    n_sym: int,
    alpha: float,
    max_iter: int,
    tol: float,
) -> tuple[_MarkovMixture, float]:
    """Run EM from ``model`` until the log-likelihood gains less than ``tol`` (relative)."""
    return _em_many([model], start, trans, units, n_sym, alpha, max_iter, tol)[0]


def _em_many(
    models: Sequence[_MarkovMixture],
    start: Any,
    trans: Any,
    units: _Units,
    n_sym: int,
    alpha: float,
    max_iter: int,
    tol: float,
) -> list[tuple[_MarkovMixture, float]]:
    """:func:`_em` from each of ``models`` (of one k), side by side: each run stops on its
    own, as it would alone, and the others go on."""
    if not models:
        return []
    current = list(models)
    prev = [-np.inf] * len(models)
    done: dict[int, tuple[_MarkovMixture, float]] = {}
    active = list(range(len(models)))
    for _it in range(max_iter):
        logp = _loglik_many([current[r] for r in active], start, trans, units)
        resp = np.empty_like(logp)
        work = np.empty_like(logp[0])
        going: list[int] = []
        for i, r in enumerate(active):
            norm = _logsumexp_t(logp[i], work)
            ll = float((units.counts * norm).sum())
            if ll - prev[r] < tol * max(abs(ll), 1.0):
                done[r] = (current[r], ll)
            else:
                into = resp[len(going)]
                np.exp(np.subtract(logp[i], norm, out=into), out=into)
                going.append(i)
                prev[r] = ll
        if not going:
            break
        stepped = _m_step_many(resp[: len(going)], units, start, trans, n_sym, alpha)
        active = [active[i] for i in going]
        for r, model in zip(active, stepped, strict=True):
            current[r] = model
    # runs still going after max_iter: the last model, with the log-likelihood of the one before
    return [done[r] if r in done else (current[r], prev[r]) for r in range(len(models))]


def _seed(profile: Any, counts: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Hard responsibilities from greedy k-means++ seeds on the normalised profiles: each
    new centre is the best of 2 + ⌊ln k⌋ candidates drawn by D² weighting (Arthur and
    Vassilvitskii 2007, as in scikit-learn), which avoids most poor seedings."""
    n_u = counts.size
    trials = 2 + int(math.log(k)) if k > 1 else 1
    centres = [int(rng.choice(n_u, p=counts / counts.sum()))]
    sim = np.asarray(profile @ profile[centres[0]].T.toarray())[:, 0]
    d2 = np.maximum(2 - 2 * sim, 0)
    for _c in range(1, k):
        prob = d2 * counts
        if prob.sum() <= 0:
            centres.append(int(rng.integers(n_u)))
            continue
        cand = rng.choice(n_u, size=trials, p=prob / prob.sum())
        sims = np.asarray(profile @ profile[cand].T.toarray())
        new_d2 = np.minimum(d2[:, None], np.maximum(2 - 2 * sims, 0))
        best = int(np.argmin(counts @ new_d2))
        centres.append(int(cand[best]))
        d2 = new_d2[:, best]
    sims = np.asarray(profile @ profile[centres].T.toarray())
    resp = np.zeros((n_u, k))
    resp[np.arange(n_u), sims.argmax(axis=1)] = 1.0
    return resp


def _seeding_profile(start: Any, trans: Any, pace: Any) -> Any:
    """The vectors seeds are drawn on: normalised transition profiles with the pace bin
    alongside, so that journeys alike in order but not in pace can seed different
    components."""
    from scipy import sparse

    steps = sparse.hstack([start, trans]).tocsr()
    norms = np.sqrt(np.asarray(steps.multiply(steps).sum(axis=1)))[:, 0]
    steps = sparse.diags(1 / np.maximum(norms, 1e-12)) @ steps
    return sparse.hstack([steps * math.sqrt(0.5), pace * math.sqrt(0.5)]).tocsr()


def _em_runs(
    profile: Any,
    start: Any,
    trans: Any,
    units: _Units,
    n_sym: int,
    k: int,
    rng: np.random.Generator,
    n_runs: int,
    max_iter: int,
    alpha: float,
) -> list[tuple[_MarkovMixture, float]]:
    """``n_runs`` EM starts: each a greedy k-means++ seed, then EM until the relative gain
    is below ``_START_TOL``."""
    # the seeds are drawn first, in the order of a run at a time (EM draws nothing)
    seeds = [
        _m_step(_seed(profile, units.counts, k, rng), units, start, trans, n_sym, alpha)
        for _ in range(n_runs)
    ]
    return _em_many(seeds, start, trans, units, n_sym, alpha, max_iter=max_iter, tol=_START_TOL)


def _fit_markov(
    start: Any,
    trans: Any,
    pace: Any,
    units: _Units,
    n_sym: int,
    k: int,
    rng: np.random.Generator,
    n_init: int,
    max_iter: int,
    tol: float,
    alpha: float,
) -> tuple[_MarkovMixture, float, list[_MarkovMixture]]:
    """EM for a k-component mixture, the best of ``n_init`` starts (``consensus=False``).

    ``n_init`` starts from greedy k-means++ seeds each run EM until the relative gain is
    below 1e-4, and the best of them then runs on to ``tol``. Starts are compared near
    convergence, not after a fixed few steps ("short EM", Biernacki et al. 2003): a start
    that separates journeys alike in order but not in pace climbs slowly at first, and
    after 8 steps it could trail starts that end in worse optima. The starts' models are
    returned too, for ``stability_``.
    """
    profile = _seeding_profile(start, trans, pace)
    runs = _em_runs(profile, start, trans, units, n_sym, k, rng, n_init, max_iter, alpha)
    best = max(runs, key=lambda run: run[1])  # the first of equals, as before
    model, ll = _em(best[0], start, trans, units, n_sym, alpha, max_iter=max_iter, tol=tol)
    return model, ll, [m for m, _ in runs]


def _hard(labels: np.ndarray, k: int) -> np.ndarray:
    resp = np.zeros((labels.size, k))
    resp[np.arange(labels.size), labels] = 1.0
    return resp


def _resampled(units: _Units, counts: np.ndarray) -> tuple[np.ndarray, _Units]:
    """The units drawn at least once in a resample with these account ``counts`` (pace sums
    scaled), and their indices."""
    keep = np.flatnonzero(counts)
    ratio = counts[keep] / units.counts[keep]
    return keep, _Units(
        variants=[units.variants[i] for i in keep],
        pace=units.pace[keep],
        counts=counts[keep].astype(float),
        case_unit=units.case_unit,
        pace_n=units.pace_n[keep] * ratio,
        pace_s=units.pace_s[keep] * ratio,
        pace_sq=units.pace_sq[keep] * ratio,
    )


def _bootstrap_jaccard(
    fit_on: Callable[[np.ndarray, np.random.Generator], np.ndarray],
    counts: np.ndarray,
    final: np.ndarray,
    k: int,
    n_resamples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per cluster of ``final`` (unit labels 0 … k-1): the mean, over ``n_resamples``
    bootstrap resamples of the accounts, of its best-match Jaccard coefficient with the
    clusters fitted on the resample (Hennig 2007). ``fit_on(counts_b, rng)`` fits one run
    on the units with the resampled account counts and labels every unit."""
    if n_resamples == 0:
        return np.full(k, np.nan)
    n = int(counts.sum())
    jac = [
        best_jaccard(final, fit_on(rng.multinomial(n, counts / counts.sum()).astype(float), rng), counts, k)
        for _ in range(n_resamples)
    ]
    out: np.ndarray = np.mean(jac, axis=0)
    return out


def _subsample(units: _Units, n_accounts: int, rng: np.random.Generator) -> _Units:
    """The units of a random sample of ``n_accounts`` accounts (pace sums scaled)."""
    picked = rng.choice(units.case_unit.size, size=n_accounts, replace=False)
    counts = np.bincount(units.case_unit[picked], minlength=units.counts.size).astype(float)
    keep = np.flatnonzero(counts)
    ratio = counts[keep] / units.counts[keep]
    remap = np.full(units.counts.size, -1)
    remap[keep] = np.arange(keep.size)
    return _Units(
        variants=[units.variants[i] for i in keep],
        pace=units.pace[keep],
        counts=counts[keep],
        case_unit=remap[units.case_unit[picked]],
        pace_n=units.pace_n[keep] * ratio,
        pace_s=units.pace_s[keep] * ratio,
        pace_sq=units.pace_sq[keep] * ratio,
    )


def _effective_params(start: Any, trans: Any, pace: Any, n_sym: int) -> int:
    """Free parameters of one Markov component on the observed support: the start
    activities and transitions that occur, less one per distribution, and the pace
    mean and variance."""
    used_t = np.flatnonzero(np.asarray(trans.sum(axis=0))[0])
    sources = np.unique(used_t // (n_sym + 1))
    used_s = np.count_nonzero(np.asarray(start.sum(axis=0))[0])
    return int(used_t.size) - int(sources.size) + max(int(used_s) - 1, 0) + 2  # + pace mean and variance


def _shown_transition(key: str) -> str:
    return key.replace("\x1f", " → ", 1)


def _cluster_names(k: int) -> list[str]:
    """How clusters 0 … k-1 are shown: the keys of :meth:`JourneyClusterer.maps`, the names
    of the subway lines and the start of each rule. Only output is formatted this way; the
    code keeps the integer ids, and maps a name back through this list, never by parsing."""
    return [f"Cluster {c}" for c in range(k)]


def _cohorts_of(labels: pd.Series, k: int) -> Callable[[pd.DataFrame], list[str]]:
    """A ``by=`` function for :func:`variants`, :func:`journey_map` and the subway lines of
    the fitted log: each case's cluster (``labels``: cluster id by case id) as its name."""
    names = np.array(_cluster_names(k), dtype=object)

    def by(cases: pd.DataFrame) -> list[str]:
        return list(names[labels.reindex(cases["case"]).to_numpy()])

    return by


def _representatives(log: JourneyLog, labels: pd.Series, k: int) -> pd.DataFrame:
    """Per cluster, the journey that stands for it (see ``representatives_``)."""
    import pandas as pd

    from ._subway import gather_lists, representative_at
    from ._variants import variant_table

    ids = {name: c for c, name in enumerate(_cluster_names(k))}
    v = variant_table(log, by=_cohorts_of(labels, k), examples=20)
    acts = log.activities
    rows = []
    for (key,), group in v.partition_by("cohort", as_dict=True, maintain_order=True).items():
        # the same rule as the cluster's subway line and the report's card
        seqs = group.get_column("variant")
        at = representative_at(
            group.get_column("length").to_numpy(), group.get_column("cases").to_numpy(),
            partial(gather_lists, seqs),
        )
        if at is None:  # pragma: no cover - min_stations=1: every cohort has a journey
            continue
        best = group.row(at, named=True)
        rows.append(
            {
                "cluster": ids[str(key)],
                "variant": tuple(acts[i] for i in best["variant"]),
                "length": int(best["length"]),
                "accounts": int(best["cases"]),
                "cases": list(best["examples"]),
            }
        )
    return pd.DataFrame(rows).sort_values("cluster").reset_index(drop=True)


def _vectors(
    representation: str, units: _Units, n_sym: int, transformer: Any = None
) -> tuple[Any, Any]:
    """The k-means representation of ``units`` and its TF-IDF transformer: fitted on
    ``units`` when ``transformer`` is None, else the given (fitted) one applied."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.preprocessing import normalize

    if representation == "ngram":
        from sklearn.feature_extraction.text import TfidfVectorizer

        docs = [" ".join(f"a{a}" for a in v) for v in units.variants]
        if transformer is None:
            transformer = TfidfVectorizer(ngram_range=(1, 3), token_pattern=r"\S+", lowercase=False)
            return transformer.fit_transform(docs), transformer
        return transformer.transform(docs), transformer
    _, trans, pace = _markov_counts(units, n_sym)
    acts = sparse.csr_matrix(
        (
            np.ones(sum(len(v) for v in units.variants)),
            (
                np.repeat(np.arange(len(units.variants)), [len(v) for v in units.variants]),
                np.concatenate([np.asarray(v) for v in units.variants]),
            ),
        ),
        shape=(len(units.variants), n_sym),
    )
    profile = sparse.hstack([acts, trans]).tocsr()
    if transformer is None:
        transformer = TfidfTransformer().fit(profile)
    x = normalize(transformer.transform(profile))
    if representation == "profile+timing":
        x = sparse.hstack([x, pace * 0.5]).tocsr()
    return x, transformer


@dataclass(frozen=True)
class _Selection:
    """What fitting the chosen k gives: unit labels (the model's components), the scores
    of every k tried, the model (and the k-means representations' transformer), the
    agreement of the runs at that k and each component's bootstrap Jaccard."""

    labels: np.ndarray
    scores: pd.DataFrame
    model: Any
    transformer: Any
    stability: float
    jaccard: np.ndarray


class JourneyClusterer(Estimator):
    """Cluster accounts into journey types (a scikit-learn style estimator).

    Parameters
    ----------
    n_clusters : int or "auto"
        Number of clusters, or "auto" to choose it (BIC for ``"markov"``, silhouette
        for the k-means representations) among 1 (2 for k-means) to ``max_clusters``.
    representation : {"markov", "profile", "ngram", "profile+timing"}
        How journeys are compared; see ``docs/clustering.md``. ``"markov"`` (a mixture
        of Markov chains with a pace model, fitted by EM) sees order, loops and pace.
    max_clusters : int
        Largest k tried by "auto".
    n_init : int or "auto"
        For ``"markov"``: the EM runs combined into one answer ("auto": 20), or with
        ``consensus=False`` the starts of which the likeliest wins ("auto": 4). For the
        k-means representations: scikit-learn's ``n_init`` ("auto": 4).
    consensus : bool
        ``"markov"`` only. True: the answer is the consensus of the ``n_init`` runs
        (co-association k-means on their labels, then EM from that partition), which
        gives the same clusters whatever the seed where the data support them. False:
        the run of highest likelihood, the rule before the consensus (kept for comparison):
        on BPI Challenge 2012 the likeliest of several near-equal optima changes with
        the seed. See ``docs/clustering.md``.
    n_resamples : int
        Bootstrap resamples of the accounts for ``cluster_stability_``; 0 skips them
        (``cluster_stability_`` is then NaN).
    max_iter : int
        EM iterations per restart.
    max_activities : int
        The most frequent activities modelled apart (default 200); rarer ones share one
        ``"(other activity)"`` state, with a :class:`JourneymineWarning` that counts them.
        A Markov mixture holds a transition table per cluster (activities squared): a log
        of thousands of distinct activities ran out of memory without the cap.
    random_state : int or None
        Seed; the same log and seed give the same labels.

    Attributes
    ----------
    labels_ : pandas.Series
        Cluster of each account (index: case id), 0 = the largest cluster.
    n_clusters_ : int
    cluster_sizes_ : pandas.Series
        Accounts per cluster.
    representatives_ : pandas.DataFrame
        Per cluster, the journey that best stands for it (the medoid of its variants of
        typical length), with the accounts that follow it exactly and example case ids.
    selection_scores_ : pandas.DataFrame
        The k compared by "auto" and their scores: for ``"markov"`` the log-likelihood,
        BIC (which chooses k) and ``stability``, the agreement of min(8, n_init) runs at
        that k (shown beside BIC, not used to choose: see :meth:`plot_selection`).
    stability_ : float
        How much the runs at the chosen k agree: the mean pairwise adjusted Rand index
        between them, over accounts (1 = every run finds the same clusters; NaN with one
        run). Below 0.6 ``fit`` warns: the data do not pin the partition down, whatever
        the consensus makes reproducible.
    cluster_stability_ : pandas.Series
        Per cluster (index: cluster id, name ``"stability"``): the mean Jaccard coefficient
        with its best match among the clusters fitted on ``n_resamples`` bootstrap
        resamples of the accounts (Hennig 2007). Below 0.6 the cluster "dissolves" and is
        flagged unstable in :meth:`summary`, :meth:`explain`, the subway map's legend and
        the report; from 0.75 on it is stable.
    n_units_ : int
        Distinct (variant, pace) units the model was fitted on.

    Notes
    -----
    ``fit`` sets everything it learns at its end, at once: a refit keeps nothing of the
    fit before it, and a fit that raises leaves the earlier fit as it was. Parameters
    changed with ``set_params`` take effect at the next ``fit``. Besides the attributes
    above, the fitted estimator holds what :meth:`predict` needs (the activity alphabet,
    the typical gap of each step, the model) and a reference to the fitted log, not a
    copy (a :class:`JourneyLog` is immutable): :meth:`maps`, :meth:`summary`,
    :meth:`explain` and ``jm.subway_map(est)`` read its events again, so a pickled
    estimator carries the log.

    Examples
    --------
    >>> import journeymine as jm
    >>> log = jm.datasets.demo_b2b(n_accounts=600, random_state=0)
    >>> est = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(log)
    >>> est.n_clusters_, int(est.cluster_sizes_.sum())
    (3, 600)
    >>> est.labels_.index.name
    'case'
    """

    # learned in fit (see _fitted), all at once
    labels_: pd.Series
    n_clusters_: int
    cluster_sizes_: pd.Series
    selection_scores_: pd.DataFrame
    n_units_: int
    representatives_: pd.DataFrame
    stability_: float
    cluster_stability_: pd.Series
    _representation: str
    _alphabet: dict[str, int]
    _baseline: _Baseline | None
    _model: Any  # a _MarkovMixture, or a fitted sklearn KMeans
    _transformer: Any  # the KMeans representation's fitted TF-IDF transformer (None for markov)
    _relabel: np.ndarray
    _log: JourneyLog

    def __init__(
        self,
        *,
        n_clusters: int | Literal["auto"] = "auto",
        representation: Representation = "markov",
        max_clusters: int = 8,
        n_init: int | Literal["auto"] = "auto",
        consensus: bool = True,
        n_resamples: int = 20,
        max_iter: int = 200,
        max_activities: int = 200,
        random_state: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.representation = representation
        self.max_clusters = max_clusters
        self.n_init = n_init
        self.consensus = consensus
        self.n_resamples = n_resamples
        self.max_iter = max_iter
        self.max_activities = max_activities
        self.random_state = random_state

    def _validate(self) -> None:
        owner = "JourneyClusterer"
        if self.n_clusters != "auto":
            check_int("n_clusters", owner, self.n_clusters, minimum=1)
        check_choice("representation", owner, self.representation, _REPRESENTATIONS)
        check_int("max_clusters", owner, self.max_clusters, minimum=2)
        if self.n_init != "auto":
            try:
                check_int("n_init", owner, self.n_init, minimum=1)
            except InvalidParameterError:
                raise invalid("n_init", owner, "an int >= 1 or 'auto'", self.n_init) from None
        if not isinstance(self.consensus, bool):
            raise invalid("consensus", owner, "a bool", self.consensus)
        check_int("n_resamples", owner, self.n_resamples, minimum=0)
        check_int("max_iter", owner, self.max_iter, minimum=1)
        check_int("max_activities", owner, self.max_activities, minimum=1)
        if self.random_state is not None:
            check_int("random_state", owner, self.random_state)

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, log: JourneyLog, y: Any = None) -> JourneyClusterer:
        """Cluster the accounts of ``log``.

        Raises
        ------
        InvalidParameterError
            A parameter is out of range, or ``n_clusters`` exceeds the accounts or the
            distinct journeys of the log.
        """
        import pandas as pd

        self._validate()
        if not isinstance(log, JourneyLog):
            raise invalid("log", "JourneyClusterer.fit", "a JourneyLog", type(log).__name__)
        require_events(log, "JourneyClusterer.fit")
        rng = np.random.default_rng(self.random_state)
        acts = list(log.activities)  # most frequent first
        pooled = acts[self.max_activities:]
        shared = _OTHER
        while shared in acts:  # an activity of that name stays apart from the shared state
            shared += "'"
        alphabet = {a: i for i, a in enumerate([*acts[: self.max_activities], shared])}
        baseline = _Baseline.of(log) if self.representation == "markov" else None
        units = _units(log, alphabet, baseline)
        if pooled:
            other = len(alphabet) - 1
            steps = np.array([len(v) for v in units.variants], dtype=float) @ units.counts
            in_shared = np.array([v.count(other) for v in units.variants], dtype=float) @ units.counts
            warn(
                f"JourneyClusterer: the log has {len(acts):,} activities; the {len(pooled):,} rarest "
                f"({in_shared / max(steps, 1.0):.1%} of the steps, e.g. {', '.join(map(repr, pooled[:3]))}) "
                f"share one {shared!r} state, so that the model stays {self.max_activities} activities "
                "wide. Raise max_activities to tell them apart (memory grows with its square).",
                JourneymineWarning,
            )
        n_units = len(units.variants)
        if isinstance(self.n_clusters, int):
            if self.n_clusters > log.n_cases:
                raise invalid(
                    "n_clusters",
                    "JourneyClusterer",
                    f"at most the number of accounts ({log.n_cases})",
                    self.n_clusters,
                )
            if self.n_clusters > n_units:
                raise invalid(
                    "n_clusters",
                    "JourneyClusterer",
                    f"at most the number of distinct journeys ({n_units}: variant × pace)",
                    self.n_clusters,
                )
        if self.representation == "markov":
            chosen = self._select_markov(units, len(alphabet), rng)
        else:
            chosen = self._select_kmeans(units, len(alphabet), rng)
        # clusters numbered by size, largest first (ties by first account)
        case_labels = chosen.labels[units.case_unit]
        sizes = np.bincount(case_labels, minlength=int(case_labels.max()) + 1)
        first = np.array(
            [np.flatnonzero(case_labels == c)[0] if sizes[c] else 1 << 62 for c in range(sizes.size)]
        )
        order = sorted((c for c in range(sizes.size) if sizes[c]), key=lambda c: (-sizes[c], first[c]))
        relabel = np.full(sizes.size, -1)
        relabel[order] = np.arange(len(order))
        case_ids = log.to_polars("cases").get_column("case").to_list()
        labels = pd.Series(relabel[case_labels], index=pd.Index(case_ids, name="case"), name="cluster")
        cluster_sizes = labels.value_counts().sort_index().rename("accounts")
        cluster_sizes.index.name = "cluster"
        representatives = _representatives(log, labels, len(order))
        per_cluster = np.full(len(order), np.nan)
        for c in order:
            per_cluster[relabel[c]] = chosen.jaccard[c]
        cluster_stability = pd.Series(
            per_cluster, index=pd.RangeIndex(len(order), name="cluster"), name="stability"
        )
        # everything learned is set here, at once: nothing of an earlier fit is left, and a
        # fit that raised above left the earlier one whole
        self._fitted(
            labels_=labels,
            n_clusters_=len(order),
            cluster_sizes_=cluster_sizes,
            selection_scores_=chosen.scores,
            n_units_=n_units,
            representatives_=representatives,
            stability_=chosen.stability,
            cluster_stability_=cluster_stability,
            # what predict needs: the representation, the alphabet, the step baselines
            # (markov), the model (a _MarkovMixture, or a KMeans with its TF-IDF
            # transformer) and the renumbering by size
            _representation=self.representation,
            _alphabet=alphabet,
            _baseline=baseline,
            _model=chosen.model,
            _transformer=chosen.transformer,
            _relabel=relabel,
            # maps(), summary(), explain() and subway_map(est) read the fitted log again:
            # a reference (a JourneyLog is immutable), not a copy
            _log=log,
        )
        if self.n_clusters == "auto" and self.n_clusters_ == 1:
            warn(
                "JourneyClusterer chose one cluster: by BIC the journeys show no distinct types (see "
                "selection_scores_). Pass n_clusters=k to split them anyway.",
                JourneymineWarning,
            )
        tried = self.selection_scores_["k"]
        if self.n_clusters == "auto" and len(tried) > 1 and self.n_clusters_ == int(tried.max()):
            warn(
                f"JourneyClusterer chose k={self.n_clusters_}, the largest k it tried: the score was still "
                f"improving (see selection_scores_). Raise max_clusters (now {self.max_clusters}) to look "
                "further, or keep k as a cap on how many types you want to read.",
                JourneymineWarning,
            )
        if self.n_clusters_ > 1 and self.stability_ < _UNSTABLE:
            warn(
                f"The clusters depend on the start: stability_ = {self.stability_:.2f} (the mean adjusted "
                f"Rand index between {self._n_runs()} runs; below {_UNSTABLE} the data do not pin the "
                "partition down). The answer is reproducible for a given random_state, but read the clusters "
                "with care; see cluster_stability_ and docs/clustering.md.",
                JourneymineWarning,
            )
        return self

    def _n_runs(self) -> int:
        """``n_init`` resolved: runs of the consensus, or starts of the best-likelihood rule
        and of k-means."""
        if self.n_init != "auto":
            return int(self.n_init)
        return _AUTO_RUNS if self.representation == "markov" and self.consensus else _AUTO_STARTS

    def fit_predict(self, log: JourneyLog, y: Any = None) -> pd.Series:
        """Fit and return :attr:`labels_`."""
        return self.fit(log).labels_

    def _vote(
        self,
        labels: np.ndarray,
        k: int,
        profile: Any,
        sel: _Units,
        sel_start: Any,
        sel_trans: Any,
        n_sym: int,
        rng: np.random.Generator,
        n_runs: int,
    ) -> _MarkovMixture:
        """The consensus model at the chosen k: :data:`_CANDIDATES` independent ensembles of
        ``n_runs`` EM runs (the first is ``labels``) each give a consensus partition
        (co-association k-means, then EM from it on the sample), and the likeliest wins.

        One ensemble's consensus is not always the same: on BPI 2012 at k = 4 about one in
        three lands on a partition without the 3,073 instant declines, 7,500 log-likelihood
        units worse (and less precise); the likeliest of four found the same one on seeds 0-9.
        """
        ensembles = [labels]
        for _ in range(_CANDIDATES - 1):
            more = _em_runs(profile, sel_start, sel_trans, sel, n_sym, k, rng, n_runs, self.max_iter, 0.01)
            ensembles.append(
                np.column_stack([m.labels(sel_start, sel_trans, sel) for m, _ in more])
            )
        # the k-means seeds are drawn in ensemble order, then EM runs from the consensuses side
        # by side (it draws nothing)
        agreed = [
            coassociation_kmeans(runs, sel.counts, k, int(rng.integers(2**31 - 1))) for runs in ensembles
        ]
        starts = [_m_step(_hard(a, k), sel, sel_start, sel_trans, n_sym, 0.01) for a in agreed]
        fitted = _em_many(starts, sel_start, sel_trans, sel, n_sym, 0.01, self.max_iter, 1e-6)
        return fitted[int(np.argmax([ll for _, ll in fitted]))][0]  # ties: the earlier ensemble

    def _select_markov(self, units: _Units, n_sym: int, rng: np.random.Generator) -> _Selection:
        """The Markov mixture of the chosen k, with the scores of every k tried and its
        stability.

        With ``consensus`` the answer is the consensus of ``n_init`` EM runs (see
        :meth:`_vote`); without it, the best of ``n_init`` starts by likelihood. When
        "auto" compares k, each k gets min(8, n_init) runs (BIC from the best of them,
        ``stability`` from their agreement), and the chosen k the rest of its runs. On a
        log of more than 20,000 accounts the runs and the comparison use a sample of
        20,000 accounts; the chosen model then runs EM on every unit.
        """
        import pandas as pd

        start, trans, pace = _markov_counts(units, n_sym)
        fixed = self.n_clusters
        ks = list(range(1, min(self.max_clusters, len(units.variants)) + 1)) if fixed == "auto" else [fixed]
        n_runs = self._n_runs()
        sel = units
        if (len(ks) > 1 or self.consensus) and units.counts.sum() > _SELECTION_SAMPLE:
            sel = _subsample(units, _SELECTION_SAMPLE, rng)
        sel_start, sel_trans, sel_pace = (start, trans, pace) if sel is units else _markov_counts(sel, n_sym)
        n_accounts = float(sel.counts.sum())
        per = _effective_params(sel_start, sel_trans, sel_pace, n_sym)
        profile = _seeding_profile(sel_start, sel_trans, sel_pace)
        rows, fitted, runs = [], {}, {}
        for k in ks:
            if self.consensus:
                scan = _em_runs(
                    profile, sel_start, sel_trans, sel, n_sym, k, rng,
                    min(_SCAN_RUNS, n_runs) if len(ks) > 1 else n_runs, self.max_iter, 0.01,
                )
                best = max(scan, key=lambda run: run[1])
                model, ll = _em(best[0], sel_start, sel_trans, sel, n_sym, 0.01, self.max_iter, 1e-6)
                models = [m for m, _ in scan]
            else:
                model, ll, models = _fit_markov(
                    sel_start, sel_trans, sel_pace, sel, n_sym, k, rng, n_runs, self.max_iter, 1e-6, 0.01
                )
            labels = np.column_stack([m.labels(sel_start, sel_trans, sel) for m in models])
            n_params = k * per + (k - 1)
            rows.append(
                {
                    "k": k,
                    "log_likelihood": ll,
                    "n_params": n_params,
                    "bic": -2 * ll + n_params * math.log(n_accounts),
                    "stability": mean_pairwise_ari(labels, sel.counts),
                }
            )
            fitted[k], runs[k] = model, labels
        scores = pd.DataFrame(rows)
        scores.insert(1, "accounts", int(n_accounts))
        k_best = int(scores["k"].to_numpy()[int(np.argmin(scores["bic"].to_numpy()))])
        model, labels = fitted[k_best], runs[k_best]
        if self.consensus and k_best > 1:
            n_more = n_runs - labels.shape[1]
            more = _em_runs(
                profile, sel_start, sel_trans, sel, n_sym, k_best, rng, n_more, self.max_iter, 0.01
            )
            labels = np.column_stack(
                [labels, *[m.labels(sel_start, sel_trans, sel) for m, _ in more]]
            )
            model = self._vote(
                labels, k_best, profile, sel, sel_start, sel_trans, n_sym, rng, n_runs
            )
            # the chosen consensus, refined on every unit: a mixture with a likelihood (and
            # predict) like any other
            model, _ = _em(model, start, trans, units, n_sym, 0.01, self.max_iter, 1e-6)
        elif sel is not units:
            model, _ = _em(model, start, trans, units, n_sym, 0.01, self.max_iter, 1e-6)
        stability = mean_pairwise_ari(labels, sel.counts) if k_best > 1 else 1.0

        def fit_on(counts: np.ndarray, gen: np.random.Generator) -> np.ndarray:
            keep, sub = _resampled(sel, counts)
            s_start, s_trans, s_profile = sel_start[keep], sel_trans[keep], profile[keep]
            run = _em_runs(s_profile, s_start, s_trans, sub, n_sym, k_best, gen, 1, self.max_iter, 0.01)[0][0]
            out: np.ndarray = run.labels(sel_start, sel_trans, sel)
            return out

        final = model.labels(sel_start, sel_trans, sel)
        jaccard = (
            np.ones(k_best)
            if k_best == 1
            else _bootstrap_jaccard(fit_on, sel.counts, final, k_best, self.n_resamples, rng)
        )
        return _Selection(
            labels=model.labels(start, trans, units),
            scores=scores,
            model=model,
            transformer=None,
            stability=stability,
            jaccard=jaccard,
        )

    def _select_kmeans(self, units: _Units, n_sym: int, rng: np.random.Generator) -> _Selection:
        """Weighted k-means of the chosen k: unit labels, the scores of every k tried, the
        KMeans and the TF-IDF transformer of the representation; its stability is the
        agreement of ``n_init`` single-start k-means runs."""
        import pandas as pd
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score

        x, transformer = _vectors(self.representation, units, n_sym)
        seed = int(rng.integers(2**31 - 1))
        ks = (
            [self.n_clusters]
            if isinstance(self.n_clusters, int)
            else list(range(2, min(self.max_clusters, len(units.variants) - 1) + 1))
        )
        if not ks:
            ks = [1]
        sample = rng.choice(
            len(units.variants), size=min(3000, len(units.variants)), p=units.counts / units.counts.sum()
        )
        rows, fitted = [], {}
        for k in ks:
            km = KMeans(n_clusters=k, n_init=self._n_runs(), random_state=seed).fit(
                x, sample_weight=units.counts
            )
            sil = float("nan")
            labels_s = km.labels_[sample]
            if k > 1 and 1 < np.unique(labels_s).size < sample.size:
                sil = float(silhouette_score(x[sample], labels_s, random_state=seed))
            rows.append({"k": k, "inertia": float(km.inertia_), "silhouette": sil})
            fitted[k] = km
        scores = pd.DataFrame(rows)
        sil = np.nan_to_num(scores["silhouette"].to_numpy(), nan=-np.inf)
        k_best = ks[0] if len(ks) == 1 else int(scores["k"].to_numpy()[int(np.argmax(sil))])
        best = fitted[k_best]

        def fit_on(counts: np.ndarray, gen: np.random.Generator) -> np.ndarray:
            import warnings

            from sklearn.exceptions import ConvergenceWarning

            keep = np.flatnonzero(counts)
            # a resample may hold fewer distinct units than k: it then has that many clusters
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                km = KMeans(
                    n_clusters=min(k_best, keep.size), n_init=1, random_state=int(gen.integers(2**31 - 1))
                )
                km.fit(x[keep], sample_weight=counts[keep])
            out: np.ndarray = km.predict(x)
            return out

        final = np.asarray(best.labels_)
        if k_best == 1:
            stability, jaccard = 1.0, np.ones(1)
        else:
            runs = np.column_stack([fit_on(units.counts, rng) for _ in range(self._n_runs())])
            stability = mean_pairwise_ari(runs, units.counts)
            jaccard = _bootstrap_jaccard(fit_on, units.counts, final, k_best, self.n_resamples, rng)
        return _Selection(final, scores, best, transformer, stability, jaccard)

    # -- using the fitted model --------------------------------------------------------------
    def predict(self, log: JourneyLog) -> pd.Series:
        """Assign the accounts of another log to the fitted clusters.

        Activities the model has not seen are mapped to one shared "(other activity)"
        symbol, which the model gives only its smoothing probability. Pace is read against
        the typical gap of each step learned in :meth:`fit` (a step the fitted log does not
        have is read against the mean of all fitted gaps), in the same fixed bins.

        Examples
        --------
        >>> import journeymine as jm
        >>> train = jm.datasets.demo_b2b(600, random_state=0)
        >>> est = jm.JourneyClusterer(n_clusters=2, random_state=0).fit(train)
        >>> est.predict(jm.datasets.demo_b2b(50, random_state=9)).between(0, 1).all()
        np.True_
        """
        import pandas as pd

        self._check_fitted("predict")
        if not isinstance(log, JourneyLog):
            raise invalid("log", "JourneyClusterer.predict", "a JourneyLog", type(log).__name__)
        require_events(log, "JourneyClusterer.predict")
        units = _units(log, self._alphabet, self._baseline)
        # the representation fitted, whatever set_params has changed since
        if isinstance(self._model, _MarkovMixture):
            start, trans, _ = _markov_counts(units, len(self._alphabet))
            raw = self._model.labels(start, trans, units)
        else:
            x, _ = _vectors(self._representation, units, len(self._alphabet), self._transformer)
            raw = self._model.predict(x)
        labels = self._relabel[raw][units.case_unit]
        case_ids = log.to_polars("cases").get_column("case").to_list()
        return pd.Series(labels, index=pd.Index(case_ids, name="case"), name="cluster")

    def plot_selection(self, ax: Any = None) -> Any:
        """Draw the scores of each k tried: BIC (which chose k, left axis) and the
        agreement of the runs (``stability``, right axis), with the chosen k marked.

        Needs matplotlib; returns the Axes. For the k-means representations the scores
        are the silhouette and the inertia.

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(600, random_state=0)
        >>> est = jm.JourneyClusterer(max_clusters=4, random_state=0).fit(log)
        >>> est.plot_selection().get_xlabel()
        'number of clusters k'
        """
        self._check_fitted("plot_selection")
        try:
            import matplotlib.pyplot as plt
        except ImportError as err:  # pragma: no cover - matplotlib is in the dev environment
            raise MissingDependencyError(
                "JourneyClusterer.plot_selection draws with matplotlib, which is not installed: "
                "pip install matplotlib (or read the scores from selection_scores_)."
            ) from err
        scores = self.selection_scores_
        # the left axis is what chose k: BIC (lower is better) or the silhouette (higher)
        markov = "bic" in scores
        left, right = ("bic", "stability") if markov else ("silhouette", "inertia")
        left_label = "BIC (lower is better)" if markov else "silhouette (higher is better)"
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        ks = scores["k"].to_numpy()
        ax.plot(ks, scores[left], "o-", color="tab:blue", label=left_label)
        ax.set_xlabel("number of clusters k")
        ax.set_ylabel(left_label, color="tab:blue")
        ax.axvline(self.n_clusters_, color="grey", linestyle=":", label=f"chosen k = {self.n_clusters_}")
        twin = ax.twinx()
        twin.plot(ks, scores[right], "s--", color="tab:orange", label=right)
        twin.set_ylabel(f"{right} (higher is more reproducible)" if right == "stability" else right,
                        color="tab:orange")
        if right == "stability":
            twin.axhline(_UNSTABLE, color="tab:orange", alpha=0.3, linewidth=1)
            lowest = scores[right].min()  # skips NaN (a k with one run has no agreement)
            twin.set_ylim(min(0.0, float(lowest)) if lowest == lowest else 0.0, 1.05)
        ax.set_xticks(ks)
        ax.set_title("Choosing k")
        return ax

    def _cohorts(self) -> Callable[[pd.DataFrame], list[str]]:
        """The ``by=`` function that names each case of the fitted log by its cluster."""
        return _cohorts_of(self.labels_, self.n_clusters_)

    def maps(self) -> JourneyMaps:
        """One :class:`JourneyMap` per cluster (keys ``"Cluster 0"`` …), in one pass."""
        from ._journeymap import JourneyMaps, journey_map

        self._check_fitted("maps")
        out = journey_map(self._log, by=self._cohorts())
        if not isinstance(out, JourneyMaps):  # pragma: no cover - by is always given
            raise TypeError("journey_map returned a single map")
        return out

    def summary(self, *, outcomes: OutcomeSpec | None = None, top: int = 3) -> pd.DataFrame:
        """One row per cluster: size, share, top variants, median duration, outcomes and
        the most characteristic transitions.

        ``outcomes`` maps an outcome name to the activities that mean it (e.g.
        ``{"won": ["Contract signed"], "churned": ["Churned"]}``; one activity may be a
        string, or a predicate over the events as in :func:`kpis`); each gets a column with
        the share of the cluster's accounts that reached it. ``stability`` is the cluster's
        :attr:`cluster_stability_` and ``unstable`` flags it below 0.6 (never for NaN, with
        ``n_resamples=0``).
        """
        import pandas as pd

        from ._outcomes import normalize_outcomes
        from ._variants import variants

        self._check_fitted("summary")
        cases = self._log.cases.set_index("case")
        dur = (cases["end"] - cases["start"]).dt.total_seconds()
        v = variants(self._log, by=self._cohorts(), top=top, examples=0)
        explained = self.explain(top=top, kinds=("transition",))
        labels = self.labels_.to_numpy()
        specs = normalize_outcomes(outcomes, "JourneyClusterer.summary") if outcomes else {}
        pairs = self._items()[0] if specs else None  # the distinct keys once, for every outcome
        reached = {name: self._reached(spec, pairs) for name, spec in specs.items()}
        names = _cluster_names(self.n_clusters_)
        rows = []
        for c in range(self.n_clusters_):
            ids = self.labels_.index[self.labels_.to_numpy() == c]
            mine = v[v["cohort"] == names[c]]
            row: dict[str, Any] = {
                "cluster": c,
                "accounts": len(ids),
                "share": len(ids) / len(self.labels_),
                "stability": float(self.cluster_stability_[c]),
                "unstable": bool(self.cluster_stability_[c] < _UNSTABLE),
                "top_variants": [
                    f"{' → '.join(x)} ({s:.0%})" for x, s in zip(mine["variant"], mine["share"], strict=True)
                ],
                "median_days": float(dur.loc[ids].median() / 86400),
            }
            for name, hit in reached.items():
                row[f"{name}_share"] = float(hit[labels == c].mean())
            over = explained[(explained["cluster"] == c) & (explained["difference"] > 0)]
            row["characteristic"] = list(over["feature"][:top])
            rows.append(row)
        return pd.DataFrame(rows)

    def _items(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The fitted log's distinct (code, act) pairs and (code, act, tgt) steps, as the
        integer codes of its cases and activities (``log.activities`` order)."""
        return engine_of(self._log).case_items(self._log)

    def _feature_counts(self, code: np.ndarray, feature: np.ndarray, n_features: int) -> np.ndarray:
        """Per cluster and feature id, how many of the cluster's accounts have it (the
        (code, feature) rows are distinct): counts, never an accounts × features matrix,
        so memory grows with the features, not the accounts."""
        k = self.n_clusters_
        cluster = self.labels_.to_numpy()[code]
        flat = np.bincount(feature.astype(np.int64) * k + cluster, minlength=n_features * k)
        return flat.reshape(n_features, k).T.astype(float)

    def _feature_tables(self, kinds: Sequence[str]) -> list[tuple[str, list[str], np.ndarray]]:
        """(kind, feature names, clusters × features counts) for the transitions and
        activities present, features in the order of their names ("source → target" ordered
        by source, then target)."""
        pairs, steps = self._items()
        acts = list(self._log.activities)
        n = len(acts)
        out: list[tuple[str, list[str], np.ndarray]] = []
        if "transition" in kinds:
            src = steps.get_column("act").cast(pl.Int64).to_numpy()
            ids = src * n + steps.get_column("tgt").cast(pl.Int64).to_numpy()
            present, inverse = np.unique(ids, return_inverse=True)
            keys = [f"{acts[i // n]}\x1f{acts[i % n]}" for i in present]
            counts = self._feature_counts(steps.get_column("code").to_numpy(), inverse, len(keys))
            out.append(("transition", *self._present(keys, counts, _shown_transition)))
        if "activity" in kinds:
            code = pairs.get_column("code").to_numpy()
            counts = self._feature_counts(code, pairs.get_column("act").to_numpy(), len(acts))
            out.append(("activity", *self._present(acts, counts, str)))
        return out

    @staticmethod
    def _present(
        keys: list[str], counts: np.ndarray, shown: Callable[[str], str]
    ) -> tuple[list[str], np.ndarray]:
        """The features some account has, sorted by key, with their count columns."""
        have = [i for i in np.flatnonzero(counts.sum(axis=0) > 0)]
        have.sort(key=lambda i: keys[i])
        return [shown(keys[i]) for i in have], counts[:, have]

    def _reached(self, activities: Any, pairs: pl.DataFrame | None) -> np.ndarray:
        """Per account (in ``labels_`` order): whether it has any of ``activities`` (a list,
        or a predicate over the events as in :func:`kpis`); ``pairs`` are the distinct
        (code, act) rows of :meth:`_items`."""
        if callable(activities):
            events = self._log.events
            hit_cases = set(events.loc[np.asarray(activities(events), dtype=bool), "case"])
            return np.array([c in hit_cases for c in self.labels_.index], dtype=bool)
        if pairs is None:
            pairs = self._items()[0]
        wanted = [i for i, a in enumerate(self._log.activities) if a in set(activities)]
        hit = pairs.filter(pl.col("act").cast(pl.Int64).is_in(pl.Series(wanted, dtype=pl.Int64).implode()))
        out = np.zeros(len(self.labels_), dtype=bool)
        out[hit.get_column("code").to_numpy()] = True
        return out

    def explain(
        self,
        *,
        top: int = 5,
        kinds: Sequence[Literal["transition", "activity", "attribute"]] = (
            "transition",
            "activity",
            "attribute",
        ),
        min_share: float = 0.05,
    ) -> pd.DataFrame:
        """What distinguishes each cluster from the rest.

        For every transition and activity (the share of the cluster's accounts that take
        it against the share elsewhere) and every value of a case attribute, the
        difference, Cohen's h (2·asin√p₁ − 2·asin√p₂; an absolute h of 0.2 is small, 0.5 medium, 0.8
        large) and the lift (cluster share / overall share). Features present in fewer
        than ``min_share`` of both groups are left out. The ``top`` features with the
        largest absolute h per cluster and kind are kept, over- and under-represented alike.
        ``rule`` is a readable sentence.

        Examples
        --------
        >>> import journeymine as jm
        >>> log = jm.datasets.demo_b2b(600, random_state=0)
        >>> est = jm.JourneyClusterer(n_clusters=3, random_state=0).fit(log)
        >>> list(est.explain().columns)  # doctest: +NORMALIZE_WHITESPACE
        ['cluster', 'kind', 'feature', 'share_in_cluster', 'share_elsewhere', 'difference',
         'cohens_h', 'lift', 'unstable', 'rule']
        """
        import pandas as pd

        self._check_fitted("explain")
        for k in kinds:
            check_choice("kinds", "JourneyClusterer.explain", k, ("transition", "activity", "attribute"))
        labels = self.labels_.to_numpy()
        sizes = np.bincount(labels, minlength=self.n_clusters_).astype(float)
        n = float(labels.size)
        # per kind: feature names and the (clusters × features) counts of accounts having each
        tables = self._feature_tables(kinds)
        if "attribute" in kinds:
            cases = self._log.cases.set_index("case").reindex(self.labels_.index)
            names, columns = [], []
            for attr in self._log.case_attributes:
                values = cases[attr]
                if values.nunique(dropna=True) > 30:
                    continue
                for val in sorted(values.dropna().unique(), key=str):
                    names.append(f"{attr} = {val}")
                    has = (values == val).to_numpy()
                    columns.append(np.bincount(labels[has], minlength=self.n_clusters_))
            if names:
                tables.append(("attribute", names, np.column_stack(columns).astype(float)))
        clusters = _cluster_names(self.n_clusters_)
        unstable = (self.cluster_stability_ < _UNSTABLE).to_numpy()
        rows = []
        for kind, features, counts in tables:
            totals = counts.sum(axis=0)
            for c in range(self.n_clusters_):
                if sizes[c] == n or sizes[c] == 0:
                    continue
                p1 = counts[c] / sizes[c]
                p2 = (totals - counts[c]) / (n - sizes[c])
                overall = totals / n
                h = 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2))
                keep = np.maximum(p1, p2) >= min_share
                idx = [i for i in np.argsort(-np.abs(h)) if keep[i]][:top]
                for i in idx:
                    feat = str(features[i])
                    lift = p1[i] / overall[i] if overall[i] > 0 else float("nan")
                    verb = "more" if p1[i] > p2[i] else "less"
                    rows.append(
                        {
                            "cluster": c,
                            "kind": kind,
                            "feature": feat,
                            "share_in_cluster": float(p1[i]),
                            "share_elsewhere": float(p2[i]),
                            "difference": float(p1[i] - p2[i]),
                            "cohens_h": float(h[i]),
                            "lift": float(lift),
                            "unstable": bool(unstable[c]),
                            "rule": f"{clusters[c]}{' (unstable)' if unstable[c] else ''}: {feat} — "
                            f"{p1[i]:.0%} of its accounts vs {p2[i]:.0%} "
                            f"elsewhere "
                            f"({verb} often, h = {h[i]:+.2f})",
                        }
                    )
        return pd.DataFrame(
            rows,
            columns=[
                "cluster",
                "kind",
                "feature",
                "share_in_cluster",
                "share_elsewhere",
                "difference",
                "cohens_h",
                "lift",
                "unstable",
                "rule",
            ],
        )

    # -- subway-map hooks ----------------------------------------------------------------------
    def _subway_source(self) -> JourneyLog:
        self._check_fitted("drawing a subway map")
        return self._log

    def _subway_lines(self) -> list[SubwayLine]:
        from ._subway import representative_lines

        self._check_fitted("drawing a subway map")
        # min_stations is not passed on: a cluster's line is its representative journey
        # (representatives_), at any length
        lines = representative_lines(self._log, self._cohorts())
        from dataclasses import replace

        ids = {name: c for c, name in enumerate(_cluster_names(self.n_clusters_))}
        # the legend flags a cluster that does not survive resampling (see cluster_stability_)
        unstable = (self.cluster_stability_ < _UNSTABLE).to_numpy()
        return [
            replace(ln, kind="cluster", name=f"{ln.name} (unstable)" if unstable[ids[ln.name]] else ln.name)
            for ln in sorted(lines, key=lambda ln: ids[ln.name])
        ]

    def _repr_html_(self) -> str:
        if not self.__sklearn_is_fitted__():
            return f"<pre>{html.escape(repr(self))} (not fitted)</pre>"
        s = self.summary()
        rows = "".join(
            f"<tr><td>{r['cluster']}</td><td>{r['accounts']:,}</td><td>{r['share']:.0%}</td>"
            f"<td>{html.escape(' | '.join(r['top_variants'][:2]))}</td><td>{r['median_days']:.1f}</td>"
            f"<td>{html.escape(', '.join(r['characteristic']))}</td></tr>"
            for r in s.to_dict("records")
        )
        return (
            f"<div class='journeymine-clusters'><strong>{html.escape(repr(self))}</strong>: "
            f"{self.n_clusters_} clusters of {len(self.labels_):,} accounts ({self.n_units_:,} distinct "
            "journeys)<table><tr><th>cluster</th><th>accounts</th><th>share</th><th>top variants</th>"
            f"<th>median days</th><th>characteristic steps</th></tr>{rows}</table></div>"
        )

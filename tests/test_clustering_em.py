"""The EM of the Markov mixture runs on components × units arrays for speed; these tests
keep it equal, to the bit, to the straightforward units × components version it replaced
(kept here as the reference)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import journeymine as jm
from journeymine import _clustering as C


def _loglik_ref(model: C._MarkovMixture, start: Any, trans: Any, units: C._Units) -> np.ndarray:
    k = model.log_w.size
    seq = np.asarray(start @ model.log_start.T + trans @ model.log_trans.reshape(k, -1).T)
    n, s1, s2 = units.pace_n[:, None], units.pace_s[:, None], units.pace_sq[:, None]
    gauss = -0.5 * n * np.log(2 * np.pi * model.var) - (s2 - 2 * model.mu * s1 + n * model.mu**2) / (
        2 * model.var
    )
    out: np.ndarray = seq + gauss / units.counts[:, None] + model.log_w
    return out


def _m_step_ref(
    resp: np.ndarray, units: C._Units, start: Any, trans: Any, n_sym: int, alpha: float
) -> C._MarkovMixture:
    k = resp.shape[1]
    wr = resp * units.counts[:, None]
    w = wr.sum(axis=0) + 1e-12
    s = np.asarray(start.T @ wr).T + alpha
    t = np.asarray(trans.T @ wr).T.reshape(k, n_sym, n_sym + 1) + alpha
    n = resp.T @ units.pace_n + 1e-9
    mu = (resp.T @ units.pace_s) / n
    var = (resp.T @ units.pace_sq - 2 * mu * (resp.T @ units.pace_s) + n * mu**2) / n
    return C._MarkovMixture(
        log_w=np.log(w / w.sum()),
        log_start=C._normalise_log(s, 1),
        log_trans=C._normalise_log(t, 2),
        mu=mu,
        var=np.maximum(var, C._MIN_VAR),
    )


def _em_ref(
    model: C._MarkovMixture, start: Any, trans: Any, units: C._Units, n_sym: int, max_iter: int, tol: float
) -> tuple[C._MarkovMixture, float]:
    prev = ll = -np.inf
    for _ in range(max_iter):
        logp = _loglik_ref(model, start, trans, units)
        m = logp.max(axis=1, keepdims=True)
        norm = (m + np.log(np.exp(logp - m).sum(axis=1, keepdims=True)))[:, 0]
        ll = float((units.counts * norm).sum())
        if ll - prev < tol * max(abs(ll), 1.0):
            break
        model = _m_step_ref(np.exp(logp - norm[:, None]), units, start, trans, n_sym, 0.01)
        prev = ll
    return model, ll


def _same(a: C._MarkovMixture, b: C._MarkovMixture) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("log_w", "log_start", "log_trans", "mu", "var"))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 15, 16, 17, 64, 129, 300])
def test_the_sum_over_components_is_numpys(n: int) -> None:
    rng = np.random.default_rng(n)
    x = np.exp(rng.normal(size=(500, n)) * 20)
    got = C._pairwise_rows(list(np.ascontiguousarray(x.T)))
    assert np.array_equal(got, x.sum(axis=1))


@pytest.mark.parametrize("seed", [0, 1])
def test_em_on_components_by_units_equals_the_units_by_components_version(seed: int) -> None:
    log = jm.datasets.demo_b2b(800, random_state=seed)
    alphabet = {a: i for i, a in enumerate([*log.activities, C._OTHER])}
    units = C._units(log, alphabet, C._Baseline.of(log))
    n_sym = len(alphabet)
    start, trans, pace = C._markov_counts(units, n_sym)
    profile = C._seeding_profile(start, trans, pace)
    rng = np.random.default_rng(seed)
    for k in (1, 2, 4, 9):
        resp = C._seed(profile, units.counts, k, rng)
        ours, ref = C._m_step(resp, units, start, trans, n_sym, 0.01), _m_step_ref(resp, units, start, trans, n_sym, 0.01)
        assert _same(ours, ref)
        assert np.array_equal(ours.loglik(start, trans, units), _loglik_ref(ref, start, trans, units))
        fitted, ll = C._em(ours, start, trans, units, n_sym, 0.01, 60, 1e-6)
        fitted_ref, ll_ref = _em_ref(ref, start, trans, units, n_sym, 60, 1e-6)
        assert ll == ll_ref
        assert _same(fitted, fitted_ref)
        assert np.array_equal(
            fitted.labels(start, trans, units), _loglik_ref(fitted_ref, start, trans, units).argmax(axis=1)
        )


@pytest.mark.parametrize("max_iter", [3, 200])
def test_runs_side_by_side_equal_runs_one_at_a_time(max_iter: int) -> None:
    log = jm.datasets.demo_b2b(800, random_state=2)
    alphabet = {a: i for i, a in enumerate([*log.activities, C._OTHER])}
    units = C._units(log, alphabet, C._Baseline.of(log))
    n_sym = len(alphabet)
    start, trans, pace = C._markov_counts(units, n_sym)
    profile = C._seeding_profile(start, trans, pace)
    rng = np.random.default_rng(5)
    for k in (1, 3, 6):
        seeds = [C._m_step(C._seed(profile, units.counts, k, rng), units, start, trans, n_sym, 0.01) for _ in range(7)]
        together = C._em_many(seeds, start, trans, units, n_sym, 0.01, max_iter, C._START_TOL)
        alone = [_em_ref(m, start, trans, units, n_sym, max_iter, C._START_TOL) for m in seeds]
        for (m, ll), (m_ref, ll_ref) in zip(together, alone, strict=True):
            assert ll == ll_ref
            assert _same(m, m_ref)
    assert C._em_many([], start, trans, units, n_sym, 0.01, max_iter, 1e-6) == []

"""Agreement between weighted partitions (``_agreement``), against scikit-learn on the
expanded items: a unit of weight w counts as w accounts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from sklearn.metrics import adjusted_rand_score

from journeymine._agreement import best_jaccard, coassociation_kmeans, mean_pairwise_ari, weighted_ari

_labels = hs.lists(hs.tuples(hs.integers(0, 3), hs.integers(0, 3), hs.integers(1, 5)), min_size=2, max_size=30)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_labels)
def test_weighted_ari_is_sklearns_on_the_expanded_accounts(rows: list[tuple[int, int, int]]) -> None:
    a, b, w = (np.array(c) for c in zip(*rows, strict=True))
    expected = adjusted_rand_score(np.repeat(a, w), np.repeat(b, w))
    assert weighted_ari(a, b, w.astype(float)) == pytest.approx(expected, abs=1e-12)


def test_mean_pairwise_ari_and_its_edge_cases() -> None:
    w = np.array([1.0, 2.0, 3.0, 4.0])
    same = np.array([[0, 0, 1], [0, 0, 1], [1, 1, 0], [1, 1, 0]])
    assert mean_pairwise_ari(same, w) == pytest.approx(1.0)
    assert np.isnan(mean_pairwise_ari(same[:, :1], w))  # one run: no pair
    mixed = np.column_stack([same[:, 0], [0, 1, 0, 1]])
    expected = adjusted_rand_score(np.repeat(mixed[:, 0], [1, 2, 3, 4]), np.repeat(mixed[:, 1], [1, 2, 3, 4]))
    assert mean_pairwise_ari(mixed, w) == pytest.approx(expected)


def test_best_jaccard_by_hand() -> None:
    final = np.array([0, 0, 1, 1, 2])
    other = np.array([0, 0, 0, 1, 1])
    w = np.array([2.0, 1.0, 1.0, 3.0, 1.0])
    # cluster 0 = {0,1} (3) vs other 0 = {0,1,2} (4): 3/4; cluster 1 = {2,3} (4) vs other 1 =
    # {3,4} (4): 3/5; cluster 2 = {4} (1) vs other 1: 1/4; cluster 3 is empty
    out = best_jaccard(final, other, w, 4)
    assert out[:3] == pytest.approx([0.75, 0.6, 0.25]) and np.isnan(out[3])


def test_coassociation_kmeans_finds_what_most_runs_agree_on() -> None:
    truth = np.repeat([0, 1, 2], 20)
    rng = np.random.default_rng(0)
    runs = []
    for r in range(9):
        perm = rng.permutation(3)  # each run names the clusters its own way
        lab = perm[truth].copy()
        if r % 3 == 0:  # a third of the runs disagree on a few items
            lab[rng.choice(60, 6, replace=False)] = rng.integers(0, 3, 6)
        runs.append(lab)
    cons = coassociation_kmeans(np.column_stack(runs), np.ones(60), 3, seed=0)
    assert adjusted_rand_score(truth, cons) == 1.0
    again = coassociation_kmeans(np.column_stack(runs), np.ones(60), 3, seed=0)
    assert (cons == again).all()

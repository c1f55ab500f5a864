"""Agreement between partitions of weighted items, and the consensus of several partitions.

The clusterer partitions *units* (distinct journeys, each standing for ``w`` accounts), so
every measure here counts a unit ``w`` times: the adjusted Rand index and the Jaccard
coefficients are those of the accounts, computed from a clusters × clusters contingency
table of weights, never from an accounts × accounts (or units × units) matrix.

* :func:`weighted_ari` — Hubert and Arabie's adjusted Rand index.
* :func:`mean_pairwise_ari` — the agreement of a set of partitions (``stability_``).
* :func:`best_jaccard` — per cluster, the Jaccard coefficient of its best match in another
  partition (Hennig 2007, "Cluster-wise assessment of cluster stability").
* :func:`coassociation_kmeans` — the consensus of R partitions: weighted k-means on their
  stacked one-hot memberships. The squared distance between two rows is 2·(R − the number
  of partitions that put the two items together), so this is k-means on the
  co-association matrix without forming it (Topchy et al. 2005; Wu et al. 2015, "K-means-
  based consensus clustering"): linear in the items.
"""

from __future__ import annotations

import numpy as np

__all__ = ["best_jaccard", "coassociation_kmeans", "mean_pairwise_ari", "weighted_ari"]


def _contingency(a: np.ndarray, b: np.ndarray, w: np.ndarray, ka: int, kb: int) -> np.ndarray:
    table: np.ndarray = np.bincount(a * kb + b, weights=w, minlength=ka * kb).reshape(ka, kb)
    return table


def _pairs(x: np.ndarray) -> float:
    return float((x * (x - 1) / 2).sum())


def weighted_ari(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    """The adjusted Rand index of two labelings (non-negative ints) of items weighted ``w``.

    Examples
    --------
    >>> import numpy as np
    >>> weighted_ari(np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([2.0, 1.0, 3.0]))
    1.0
    """
    table = _contingency(a, b, w, int(a.max()) + 1, int(b.max()) + 1)
    n = float(w.sum())
    together, sa, sb = _pairs(table), _pairs(table.sum(axis=1)), _pairs(table.sum(axis=0))
    expected = sa * sb / (n * (n - 1) / 2) if n > 1 else 0.0
    top = (sa + sb) / 2
    return 1.0 if top == expected else float((together - expected) / (top - expected))


def mean_pairwise_ari(labels: np.ndarray, w: np.ndarray) -> float:
    """The mean :func:`weighted_ari` over the pairs of columns of ``labels`` (items × runs);
    NaN for fewer than two runs."""
    runs = labels.shape[1]
    pairs = [weighted_ari(labels[:, i], labels[:, j], w) for i in range(runs) for j in range(i + 1, runs)]
    return float(np.mean(pairs)) if pairs else float("nan")


def best_jaccard(final: np.ndarray, other: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """Per cluster ``0 … k-1`` of ``final``: the largest weighted Jaccard coefficient
    |A ∩ B| / |A ∪ B| with a cluster B of ``other`` (NaN for an empty cluster)."""
    table = _contingency(final, other, w, k, int(other.max()) + 1)
    union = table.sum(axis=1)[:, None] + table.sum(axis=0)[None, :] - table
    with np.errstate(invalid="ignore", divide="ignore"):
        jac = np.where(union > 0, table / union, 0.0)
    out: np.ndarray = np.where(table.sum(axis=1) > 0, jac.max(axis=1), np.nan)
    return out


def coassociation_kmeans(
    labels: np.ndarray, w: np.ndarray, k: int, seed: int, n_init: int = 10
) -> np.ndarray:
    """The consensus partition of the runs in ``labels`` (items × runs, each run's labels in
    ``0 … k-1``) into ``k`` clusters: weighted k-means on the one-hot stack."""
    from sklearn.cluster import KMeans

    n, runs = labels.shape
    onehot = np.zeros((n, runs * k), dtype=np.float32)
    onehot[np.arange(n)[:, None], labels + k * np.arange(runs)[None, :]] = 1.0
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(onehot, sample_weight=w)
    out: np.ndarray = np.asarray(km.labels_, dtype=np.int64)
    return out

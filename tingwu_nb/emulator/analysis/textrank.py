"""TF-IDF, TextRank, MMR and topic boundaries over sentences — sparse, numpy/scipy only.

No n×n matrix is ever built: sentence similarity ``S = X Xᵀ`` (rows of ``X`` are L2-normalised
TF-IDF vectors) is applied as two sparse products, so a 24-hour transcript (~25 000 sentences)
costs memory proportional to its words. All rankings round scores to 9 decimals and break ties
by position, so results are identical across runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import sparse

__all__ = ["boundaries", "cosine_to", "mmr", "pagerank", "tfidf"]


def tfidf(
    docs: Sequence[Sequence[str]], queries: Sequence[Sequence[str]] = ()
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """L2-normalised TF-IDF rows for ``docs`` and for ``queries`` in the same space.

    Term frequency is sublinear (``1 + ln tf``); ``idf = ln((1 + N) / (1 + df)) + 1`` over the
    docs only, so a query term absent from every doc keeps the highest weight and lowers the
    query's similarity to everything (a request that does not occur is not matched).
    """
    vocab: dict[str, int] = {}
    for doc in (*docs, *queries):
        for w in doc:
            vocab.setdefault(w, len(vocab))
    n = len(docs)
    df = np.zeros(len(vocab))
    for doc in docs:
        for w in set(doc):
            df[vocab[w]] += 1
    idf = np.log((1 + n) / (1 + df)) + 1

    def build(rows: Sequence[Sequence[str]]) -> sparse.csr_matrix:
        data, cols, ptr = [], [], [0]
        for doc in rows:
            counts: dict[int, int] = {}
            for w in doc:
                counts[vocab[w]] = counts.get(vocab[w], 0) + 1
            for col in sorted(counts):
                cols.append(col)
                data.append((1 + math.log(counts[col])) * idf[col])
            ptr.append(len(cols))
        m = sparse.csr_matrix(
            (np.array(data, float), np.array(cols, int), np.array(ptr, int)), shape=(len(rows), len(vocab))
        )
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.csr_matrix(sparse.diags(1 / norms) @ m)

    return build(docs), build(queries)


def cosine_to(x: sparse.csr_matrix, rows: sparse.csr_matrix) -> np.ndarray:
    """Cosine similarity of every row of ``x`` with the single row ``rows`` (both normalised)."""
    return np.asarray((x @ rows.T).todense()).ravel()


def pagerank(x: sparse.csr_matrix, damping: float = 0.85, iters: int = 100, tol: float = 1e-10) -> np.ndarray:
    """TextRank centrality of each row of ``x`` on the cosine-similarity graph (no self-loops).

    Rows with no similarity to any other row get only the teleport share.
    """
    n = x.shape[0]
    if n == 0:
        return np.zeros(0)
    diag = np.asarray(x.multiply(x).sum(axis=1)).ravel()

    def sim(v: np.ndarray) -> np.ndarray:
        return x @ (x.T @ v) - diag * v

    out = sim(np.ones(n))
    out[out < 1e-12] = 0.0
    safe = np.where(out > 0, out, 1.0)
    dangling = out == 0
    p = np.full(n, 1.0 / n)
    for _ in range(iters):
        spread = sim(np.where(dangling, 0.0, p / safe))
        new = (1 - damping) / n + damping * (spread + p[dangling].sum() / n)
        new /= new.sum()
        if np.abs(new - p).sum() < tol:
            p = new
            break
        p = new
    return np.round(p, 12)


def mmr(
    x: sparse.csr_matrix,
    scores: np.ndarray,
    k: int,
    candidates: Sequence[int] | None = None,
    lam: float = 0.7,
) -> list[int]:
    """Pick ``k`` rows by maximal marginal relevance: high score, low similarity to rows picked.

    ``scores`` are rescaled to [0, 1] first; returns row indices in the order picked.
    """
    pool = list(range(x.shape[0])) if candidates is None else list(candidates)
    if not pool or k <= 0:
        return []
    s = np.asarray(scores, float)[pool]
    span = s.max() - s.min()
    rel = (s - s.min()) / span if span > 0 else np.ones(len(pool))
    sub = x[pool]
    worst = np.zeros(len(pool))
    picked: list[int] = []
    for _ in range(min(k, len(pool))):
        value = np.round(lam * rel - (1 - lam) * worst, 9)
        value[picked] = -np.inf
        best = int(np.argmax(value))  # first maximum: earliest row wins ties
        picked.append(best)
        worst = np.maximum(worst, cosine_to(sub, sub[best]))
    return [pool[i] for i in picked]


def _window_sums(x: sparse.csr_matrix, width: int) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """For each gap g (between rows g-1 and g, g = 1..n-1): the sums of the rows just before and after."""
    n = x.shape[0]
    gaps = np.arange(1, n)
    left_rows, left_cols, right_rows, right_cols = [], [], [], []
    for j, g in enumerate(gaps):
        for i in range(max(0, g - width), g):
            left_rows.append(j)
            left_cols.append(i)
        for i in range(g, min(n, g + width)):
            right_rows.append(j)
            right_cols.append(i)
    shape = (len(gaps), n)
    left = sparse.csr_matrix((np.ones(len(left_rows)), (left_rows, left_cols)), shape=shape)
    right = sparse.csr_matrix((np.ones(len(right_rows)), (right_rows, right_cols)), shape=shape)
    return sparse.csr_matrix(left @ x), sparse.csr_matrix(right @ x)


def boundaries(x: sparse.csr_matrix, k: int, pauses_ms: Sequence[int] | None = None) -> list[int]:
    """Start rows of ``k`` contiguous segments (the first is 0), cut where the topic changes.

    TextTiling: the similarity of the ``w`` sentences before each gap with the ``w`` after it;
    a gap's depth is how far that similarity dips below the nearest peaks on either side. A long
    pause (``pauses_ms[g]`` ≥ 3 s) adds 0.05, and gaps near the evenly spaced positions get up to
    0.02 more, so that equal depths give balanced chapters. Gaps are taken best first, keeping
    every segment at least ``n / (3k)`` rows long; fewer than ``k`` segments if the text is short.
    """
    n = x.shape[0]
    if k <= 1 or n < 2:
        return [0]
    width = max(2, min(10, n // (2 * k)))
    left, right = _window_sums(x, width)
    num = np.asarray(left.multiply(right).sum(axis=1)).ravel()
    den = np.sqrt(
        np.asarray(left.multiply(left).sum(axis=1)).ravel()
        * np.asarray(right.multiply(right).sum(axis=1)).ravel()
    )
    sim = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    m = len(sim)
    depth = np.zeros(m)
    for j in range(m):
        depth[j] = sim[max(0, j - width) : j + 1].max() - sim[j] + sim[j : j + width + 1].max() - sim[j]
    ideal = np.arange(1, k) * n / k
    step = n / k
    score = depth.copy()
    for j in range(m):
        g = j + 1
        score[j] += 0.02 * max(0.0, 1 - np.abs(ideal - g).min() / step)
        if pauses_ms is not None and pauses_ms[g] >= 3000:
            score[j] += 0.05
    min_len = max(1, n // (3 * k))
    order = sorted(range(m), key=lambda j: (-round(float(score[j]), 9), j))
    cuts: list[int] = []
    for j in order:
        g = j + 1
        if g < min_len or n - g < min_len or any(abs(g - c) < min_len for c in cuts):
            continue
        cuts.append(g)
        if len(cuts) == k - 1:
            break
    return [0, *sorted(cuts)]

"""Nearest-prototype search over the identity gallery, exact when small, indexed when large.

The gallery's prototypes live in one (capacity, D) float32 matrix. Up to ``index_from`` stored
identities a query is one matrix product over the used rows (exact). Beyond that, reading the
whole matrix per query is bound by memory bandwidth (100k x 1280 floats is 512 MB), so an
inverted-file index (faiss ``IndexIVFFlat`` on inner products, when faiss-cpu is installed)
proposes ``candidates`` rows per query from ``nprobe`` of its cells, and those are re-scored
exactly from the matrix. Without faiss the search stays exact and linear.

Three things make the IVF work on ReID features (tuned with ``tools/bench_identity.py``, 100k
synthetic identities of 1280 dims):
- the features sit in a narrow cone, where inner-product k-means makes a few huge cells near the
  cone's axis (up to 20x the mean size: a query probes them and scans thousands of rows), so the
  index holds the rows *centred* on the training mean and re-normalised: the cells come out even;
- the IVF works on the centred rows' first ``reduce_to`` (256) principal axes: scanning 1280-dim
  rows was 3 ms of a 6 ms frame; on 256 dims a search costs a fifth, which pays for probing twice
  as many cells (``nprobe`` 128: the indexed search returns the exact nearest for 99.5 % of the
  queries, against 98 % on full rows with nprobe 64), and the candidates are re-scored on the
  full rows anyway;
- a query or a 10-row update is too small for a thread team, which on a 2-core machine cost more
  than the work (a 10-row update 17 ms instead of 1 ms), so faiss runs single-threaded outside
  training.

Rows added or moved since the last batch are searched exactly beside the IVF (their old IVF
entries are ignored), rows of forgotten identities are filtered out by the ``used`` mask, and
a batch goes in once ``flush_at`` rows (1 % of the gallery) are pending: at 100k that is up to
1,000 rows scored exactly per query, well under a millisecond.
"""
from __future__ import annotations

import importlib.util
import math
from contextlib import contextmanager

import numpy as np

from ..vectors import normalize_rows

# optional (brute force without it), and imported only when an index is built: every node
# imports this package through its message conversions, and none but the identity node with a
# large gallery needs faiss and its OpenMP runtime
HAVE_FAISS = importlib.util.find_spec("faiss") is not None


def _faiss():
    import faiss  # type: ignore[import-not-found]  # noqa: PLC0415

    return faiss


@contextmanager
def _one_thread():
    """faiss single-threaded in this thread (OpenMP's thread count is per calling thread)."""
    faiss = _faiss()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class PrototypeIndex:
    """Top-k rows of a prototype matrix by inner product (unit rows: cosine similarity).

    ``matrix`` is owned by the caller (:class:`~.gallery.IdentityGallery`) and may be replaced
    when it grows; rows are updated through :meth:`add_row` / :meth:`moved_row` /
    :meth:`clear_row` so the index follows. Rows not in use must be all-zero (they then never rank above a real match).
    """

    def __init__(self, dim: int, index_from: int = 5000, nprobe: int = 128, candidates: int = 64,
                 use_faiss: bool | None = None, reduce_to: int = 256) -> None:
        if index_from < 1 or nprobe < 1 or candidates < 1:
            raise ValueError(f"index_from, nprobe and candidates must be >= 1, got {index_from}, {nprobe}, "
                             f"{candidates}")
        if use_faiss and not HAVE_FAISS:
            raise ValueError("use_faiss=True but faiss is not installed (pip install faiss-cpu)")
        self.dim = int(dim)
        self.index_from = int(index_from)
        self.nprobe = int(nprobe)
        self.candidates = int(candidates)
        self.use_faiss = HAVE_FAISS if use_faiss is None else bool(use_faiss)
        self._ivf = None  # faiss index over the rows in use, built once the gallery is large
        self._trained_at = 0  # rows in use when the IVF was trained (retrained at 4x)
        self._pending: set[int] = set()  # rows added, moved or freed since the last batch: searched exactly
        self._mean = np.zeros((1, self.dim), np.float32)  # the training rows' mean, taken off every row
        self.reduce_to = min(int(reduce_to), self.dim)
        self._proj: np.ndarray | None = None  # (dim, reduce_to) principal axes of the centred rows

    def _centred(self, rows: np.ndarray) -> np.ndarray:
        """What the IVF holds: rows minus the training mean, on the principal axes, unit length."""
        centred = rows - self._mean
        return normalize_rows(centred if self._proj is None else centred @ self._proj)

    @property
    def indexed(self) -> bool:
        return self._ivf is not None

    @property
    def nbytes(self) -> int:
        """Memory of the IVF: its rows (reduced width) with their ids, the cell centres and the
        projection (0 without an IVF)."""
        if self._ivf is None:
            return 0
        width = self._ivf.d
        proj = 0 if self._proj is None else self._proj.nbytes
        return int(self._ivf.ntotal * (width * 4 + 8) + self._ivf.nlist * width * 4 + proj)

    def add_row(self, row: int) -> None:
        """A new identity's row."""
        self.moved_row(row)

    def moved_row(self, row: int) -> None:
        """A row whose prototype changed: searched exactly until the next batch."""
        if self._ivf is not None:
            self._pending.add(int(row))

    def clear_row(self, row: int) -> None:
        """A row freed (its identity forgotten): the ``used`` mask hides it at once."""
        self.moved_row(row)

    def flush_at(self, n: int) -> int:
        """Pending rows that trigger a batch: 1 % of the identities, at least 64."""
        return max(64, n // 100)

    def _sync(self, matrix: np.ndarray, used: np.ndarray) -> None:
        """Build, retrain or update the IVF so it matches ``matrix[used]``."""
        n = int(used.sum())
        if not self.use_faiss or n < self.index_from:
            self._ivf, self._pending = None, set()
            return
        if self._ivf is None or n > 4 * self._trained_at:
            rows = np.flatnonzero(used)
            nlist = int(min(4096, max(16, 4 * math.sqrt(n))))
            sample = rows if n <= 50 * nlist else np.random.default_rng(0).choice(rows, 50 * nlist, replace=False)
            self._mean = matrix[sample].mean(axis=0, keepdims=True)
            self._proj = None
            if self.reduce_to < self.dim:
                centred = matrix[sample] - self._mean
                _, _, vt = np.linalg.svd(centred[:min(len(centred), 20000)], full_matrices=False)
                self._proj = np.ascontiguousarray(vt[:self.reduce_to].T, np.float32)
            width = self.dim if self._proj is None else self.reduce_to
            faiss = _faiss()
            quantizer = faiss.IndexFlatIP(width)
            ivf = faiss.IndexIVFFlat(quantizer, width, nlist, faiss.METRIC_INNER_PRODUCT)
            ivf.train(self._centred(matrix[sample]))
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # fast remove_ids for updates
            ivf.add_with_ids(self._centred(matrix[rows]), rows.astype(np.int64))
            self._ivf, self._trained_at, self._pending = ivf, n, set()
            return
        if len(self._pending) >= self.flush_at(n):
            pending = np.fromiter(self._pending, np.int64, len(self._pending))
            keep = pending[used[pending]]
            with _one_thread():
                self._ivf.remove_ids(pending)
                if len(keep):
                    self._ivf.add_with_ids(self._centred(matrix[keep]), keep)
            self._pending = set()

    def search(self, matrix: np.ndarray, used: np.ndarray, queries: np.ndarray, k: int
               ) -> tuple[np.ndarray, np.ndarray]:
        """``(rows (Q, k) int64, similarity (Q, k) float32)``, best first; -1 / -inf pad rows
        when fewer than ``k`` are in use. ``queries``: (Q, D) unit rows."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        q = len(queries)
        rows_out = np.full((q, k), -1, np.int64)
        sims_out = np.full((q, k), -np.inf, np.float32)
        n_rows = len(used)
        if q == 0 or n_rows == 0 or not used.any():
            return rows_out, sims_out
        self._sync(matrix, used)
        if self._ivf is None:
            sims = queries @ matrix[:n_rows].T  # (Q, n_rows); unused rows are zero
            sims[:, ~used] = -np.inf
            cand = None
        else:
            self._ivf.nprobe = self.nprobe
            with _one_thread():
                _, cand = self._ivf.search(self._centred(queries), max(self.candidates, k))
            if self._pending:  # rows the IVF does not know as they are now: exactly, old entries ignored
                pending = np.fromiter(self._pending, np.int64, len(self._pending))
                cand = np.where(np.isin(cand, pending), -1, cand)
                cand = np.concatenate([cand, np.broadcast_to(pending, (q, len(pending)))], axis=1)
            safe = np.where(cand < 0, 0, cand)
            sims = np.einsum("qd,qkd->qk", queries, matrix[safe])  # exact re-score
            sims[(cand < 0) | ~used[safe]] = -np.inf
        kk = min(k, sims.shape[1])
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        top_sims = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_sims, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top_sims = np.take_along_axis(top_sims, order, axis=1)
        rows = top if cand is None else np.take_along_axis(cand, top, axis=1)
        rows = np.where(np.isfinite(top_sims), rows, -1)
        rows_out[:, :kk], sims_out[:, :kk] = rows, top_sims
        return rows_out, sims_out

"""``Rows``: which rows of a batch array a compiled kernel reads or adds into."""

from __future__ import annotations

import numpy as np


class Rows:
    """Rows to read from or add into: a slice when they are consecutive (a view: no copy),
    else an index array, with a plan for adding into repeated rows."""

    def __init__(self, rows):
        rows = np.asarray(rows, dtype=np.intp).ravel()
        self.rows = rows
        self.plan = None
        if len(rows) and np.array_equal(rows, np.arange(rows[0], rows[0] + len(rows))):
            self.index = slice(int(rows[0]), int(rows[0]) + len(rows))
        else:
            self.index = rows
            if len(np.unique(rows)) < len(rows):
                # Sort the rows; np.add.reduceat sums each run of equal rows; add once each.
                order = np.argsort(rows, kind="stable")
                ordered = rows[order]
                starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
                self.plan = (order, starts, ordered[starts])

    @property
    def consecutive(self) -> bool:
        """Whether the rows are one slice (reading them makes a view, not a copy)."""
        return isinstance(self.index, slice)

    def add(self, target: np.ndarray, contribution) -> None:
        """``target[rows] += contribution``, summing repeated rows (a plain ``+=`` would
        keep only one of them)."""
        if self.plan is None:
            target[self.index] += contribution
        else:
            order, starts, unique = self.plan
            if np.shape(contribution)[:1] != (len(self.rows),):
                contribution = np.broadcast_to(
                    contribution, (len(self.rows), *np.shape(contribution)[1:]))
            target[unique] += np.add.reduceat(contribution[order], starts, axis=0)


class Block:
    """Indices of a vector that form a regular matrix, ``start + i·step + j`` for i < rows
    and j < cols (a layer's weights in the parameter vector, each neuron's row followed by
    its bias), or ``start + i·step`` for a vector of them: read and written as a view of the
    vector, not gathered and scattered."""

    def __init__(self, start: int, shape: tuple[int, ...], step: int):
        self.start, self.shape, self.step = start, shape, step
        self._last = (None, None)  # (vector, its view): a step reads the same vector often

    @classmethod
    def of(cls, index, length: int) -> Block | None:
        """The block ``index`` (1-D or 2-D) forms in a vector of ``length``, or None."""
        index = np.asarray(index, dtype=np.intp)
        if index.size == 0 or index.ndim not in (1, 2):
            return None
        start = int(index.flat[0])
        rows = index.shape[0]
        step = int(index[1] - index[0]) if index.ndim == 1 and rows > 1 else \
            int(index[1, 0] - index[0, 0]) if rows > 1 else index.shape[-1]
        cols = 1 if index.ndim == 1 else index.shape[1]
        expected = start + step * np.arange(rows)
        if index.ndim == 2:
            expected = expected[:, None] + np.arange(cols)
        if step < cols or not np.array_equal(index, expected) or \
                start + step * (rows - 1) + cols > length:
            return None
        return cls(start, index.shape, step)

    def view(self, vector: np.ndarray) -> np.ndarray:
        """The block's numbers in ``vector`` (a 1-D contiguous array) as a view."""
        last = self._last  # one read: another thread may replace the pair meanwhile
        if last[0] is vector:
            return last[1]
        view = self._view(vector)
        self._last = (vector, view)
        return view

    def _view(self, vector: np.ndarray) -> np.ndarray:
        rows = self.shape[0]
        if len(self.shape) == 1:
            return vector[self.start:self.start + self.step * (rows - 1) + 1:self.step]
        end = self.start + self.step * rows
        if end <= len(vector):  # the cheap form: a slice reshaped, then cut
            return vector[self.start:end].reshape(rows, self.step)[:, :self.shape[1]]
        # the last row ends the vector: stride over it without reading past the end
        return np.lib.stride_tricks.as_strided(vector[self.start:], self.shape,
                                               (self.step * vector.itemsize,
                                                vector.itemsize))

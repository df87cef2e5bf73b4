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

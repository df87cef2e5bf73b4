"""Compile a scalar graph once and run it over whole batches with numpy.

A training step builds the same graph for every example; only the input numbers differ. So
trace the graph once, lower it to a tape in topological order, and run that tape over a batch:
each node holds a numpy vector with one number per example. Nodes with the same op at the same
depth run as one numpy call (gather their inputs, apply the op, scatter the results), so the
number of numpy calls grows with the depth of the graph, not with its size.

Forward values and local derivatives come from the same op table as the eager engine (its
rules are written to work on arrays too), so compiled and eager results agree to rounding.

One pattern is fused further: a ``sum`` node whose terms are products ``w_k · x_k`` of a
parameter and another node, plus at most one other term (a neuron's Σ_k w_k·x_k + b), or a
``wsum`` node (that sum as one node). All such sums at one depth that read the same
x_1…x_K are a layer and run as one kernel: forward, the products are added in the sum's own
order (so the values are the eager engine's to the last bit); backward, the table's rules for
``mul`` (∂(w·x)/∂w = x, ∂(w·x)/∂x = w) and ``sum`` (∂/∂term = 1) through the chain rule are,
as matrices, ``∂W = G Xᵀ`` and ``∂X = Wᵀ G``: two matrix products (tests check fused and
unfused tapes agree). The products get no rows: ``fuse=False`` keeps every node.

The rule: the graph must not depend on the data. A Python ``if`` on a value, or a number
computed from a value and written into the graph as a constant, would make another example's
graph different. :func:`compile` traces two different examples and refuses (``TraceError``,
naming the first node that differs) when their graphs are not the same.
"""

from __future__ import annotations

import threading

import numpy as np

from engine.autodiff import topological_order
from engine.ops import OPS, split_wsum
from engine.value import Value, enable_grad


class TraceError(ValueError):
    """The traced graph depends on the data, so one trace cannot stand for every example."""


class _Rows:
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


class _Group:
    """Nodes with the same op, arity and depth: one numpy call forward, one backward.
    Their results are consecutive rows, so reading and writing them makes no copy."""

    def __init__(self, op: str, out: slice, ins: np.ndarray, arg: np.ndarray | None):
        self.op, self.row, self.out, self.arg = op, OPS[op], out, arg
        if (arg is not None and len(arg) and float(arg[0, 0]).is_integer()
                and np.all(arg.view(np.int64) == arg.view(np.int64)[0])):
            # One whole-number arg for all (x² everywhere): numpy's fast path, which gives
            # C pow's results. (Not for x**0.5: numpy takes a sqrt, and sqrt(-0.0) = -0.0,
            # sqrt(-inf) = nan, where pow gives 0.0 and inf.)
            self.arg = float(arg[0, 0])
        self.arity, self.nodes = ins.shape
        # All inputs as one block of rows (one gather, one scatter), or input by input when
        # those are consecutive rows each (views) and the block is not.
        self.block = _Rows(ins)
        self.needed = [True] * self.arity  # set by the tape: does input j lead to a parameter?
        self.each = None
        if not isinstance(self.block.index, slice):
            each = [_Rows(r) for r in ins]
            if all(isinstance(r.index, slice) for r in each) or self.arity <= 2:
                self.each = each

    def _inputs(self, values: np.ndarray):
        if self.each is None:
            return values[self.block.index].reshape(self.arity, self.nodes, -1)
        return [values[r.index] for r in self.each]

    def forward(self, values: np.ndarray, theta: np.ndarray):
        args = self._inputs(values)
        values[self.out] = self.row.forward(*args, self.arg) if self.row.takes_arg \
            else self.row.forward(*args)
        return args

    def backward(self, values, grads, param_grads, theta, args, params_only) -> None:
        if args is None:
            args = self._inputs(values)
        out = values[self.out]
        locals_ = self.row.local_grads(out, *args, self.arg) if self.row.takes_arg \
            else self.row.local_grads(out, *args)
        upstream = grads[self.out]
        if self.each is not None:
            for rows, local, needed in zip(self.each, locals_, self.needed, strict=True):
                if needed or not params_only:
                    rows.add(grads, upstream * local)
            return
        if all(isinstance(d, float) for d in locals_):  # add, sub, neg, sum: constants
            contribution = np.multiply.outer(locals_, upstream)
        elif all(isinstance(d, np.ndarray) and d.shape == upstream.shape for d in locals_):
            contribution = np.array(locals_) * upstream  # max: one indicator per input
        else:
            contribution = np.empty((self.arity, *upstream.shape))
            for j, local in enumerate(locals_):
                np.multiply(upstream, local, out=contribution[j])
        self.block.add(grads, contribution.reshape(-1, upstream.shape[1]))


_TERMS_BUDGET = 2**17  # numbers (1 MB) of products a layer holds at once


def _ordered_sum(terms: np.ndarray) -> np.ndarray:
    """``terms[0] + terms[1] + …`` along axis 0, added in that order, as the eager ``sum``
    adds. (numpy's reduce adds row after row when a row holds two or more numbers, but sums
    a single column pairwise, so that case is added here one by one; tests check both.)"""
    if terms[0].size >= 2:
        return np.add.reduce(terms, axis=0)
    total = terms[0].copy()
    for term in terms[1:]:
        total += term
    return total


class _Dense:
    """Sums Z_j = Σ_k W_jk·X_k (+ B_j) reading the same X: a layer.

    Forward, the products are added in the order the sum lists them, like the eager engine:
    a matrix product (BLAS) would add in another order, with fused multiply-adds, and a
    pre-activation that eager finds exactly 0 could come out as 1e-17, flipping relu's slope.
    Backward, the derivatives are the table's rules for ``mul`` (∂(w·x)/∂w = x,
    ∂(w·x)/∂x = w) and ``sum`` (∂Σ/∂term = 1) through the chain rule, summed over the sums
    and the batch: as matrices, ∂W = G Xᵀ, ∂X = Wᵀ G and ∂B = G (G: the sums' upstream
    grads), two matrix products (these sums' order only moves the last bits of the grads).
    """

    def __init__(self, out: slice, x, w: np.ndarray, bias_param=None, bias_rows=None,
                 bias_at: int | None = None):
        self.out, self.x = out, _Rows(x)
        self.w_t = np.ascontiguousarray(w.T)  # (K, J) indices into the parameter vector
        self._scratch = threading.local()
        self.w_rows = _Rows(w)
        self.bias_param = None if bias_param is None else _Rows(bias_param)
        self.bias_rows = None if bias_rows is None else _Rows(bias_rows)
        self.bias_at = bias_at  # how many products the sum lists before its other term
        self.needed = [True]  # set by the tape: does some x lead to a parameter?

    def forward(self, values: np.ndarray, theta: np.ndarray):
        x = values[self.x.index]  # (K, batch)
        wt = theta[self.w_t]  # (K, J)
        k, j = wt.shape
        batch = x.shape[1]
        bias = None
        if self.bias_param is not None:
            bias = theta[self.bias_param.index][:, None]  # (J, 1): the same for every column
        elif self.bias_rows is not None:
            bias = values[self.bias_rows.index]
        n, at = (k, k) if bias is None else (k + 1, self.bias_at)
        # Every product at once would take n·J·batch numbers (gigabytes for a big test set):
        # a few columns at a time fit a 1 MB scratch array, one per thread, reused (a fresh
        # one per call would cost page faults on every batch).
        width = min(batch, max(1, _TERMS_BUDGET // (n * j)))
        scratch = getattr(self._scratch, "array", None)
        if scratch is None or len(scratch) < n * j * width:
            scratch = self._scratch.array = np.empty(n * j * width)
        out = values[self.out]  # a view: the sums are written in place
        for c in range(0, batch, width):
            cols = slice(c, min(c + width, batch))
            terms = scratch[:n * j * (cols.stop - c)].reshape(n, j, -1)
            np.multiply(wt[:at, :, None], x[:at, None, cols], out=terms[:at])
            if bias is not None:
                np.multiply(wt[at:, :, None], x[at:, None, cols], out=terms[at + 1:])
                terms[at] = bias if bias.shape[1] == 1 else bias[:, cols]
            out[:, cols] = _ordered_sum(terms)
        return x

    def backward(self, values, grads, param_grads, theta, x, params_only) -> None:
        if x is None:
            x = values[self.x.index]
        upstream = grads[self.out]
        if self.needed[0] or not params_only:  # a first layer's inputs need no grads
            self.x.add(grads, theta[self.w_t] @ upstream)
        self.w_rows.add(param_grads, (upstream @ x.T).ravel())
        if self.bias_param is not None:
            self.bias_param.add(param_grads, upstream.sum(axis=1))
        elif self.bias_rows is not None:
            self.bias_rows.add(grads, upstream)


def _structure(order: list[Value], slots: dict, inputs: set) -> list[tuple]:
    """What must be identical between two traces: ops, wiring, args, and the value of every
    leaf that is not an input (constants, and any Value made from a number of the data).
    Values are compared by their bits, so a nan equals a nan."""
    return [(n.op, tuple(slots[p] for p in n.parents),
             None if n.arg is None else float(n.arg).hex(),
             None if n.parents or n in inputs else float(n.data).hex()) for n in order]


class Tape:
    """A traced graph, ready to run on batches.

    ``inputs`` are the leaves whose values change per example (a column per example);
    ``params`` are leaves whose values are shared by the batch: a vector of them is passed to
    :meth:`forward` and :meth:`backward` (by default read from their ``.data``, so an
    optimizer's updates are seen). Every other leaf and constant keeps its traced value.

    ``values`` has a row per node that is computed or read (``slot[node]`` is its row); the
    products fused into a layer, and parameters read only by layers, have none.
    """

    def __init__(self, output: Value, inputs: list[Value], params: list[Value],
                 fuse: bool = True):
        self.order = topological_order(output)
        position = {node: i for i, node in enumerate(self.order)}
        missing = [i for i, x in enumerate(inputs) if x not in position]
        if missing:
            raise TraceError(f"inputs {missing} do not reach the output")
        both = set(inputs) & set(params)
        if both:
            raise ValueError(f"{len(both)} leaves are both inputs and params (one per "
                             "example or one for the batch: not both)")
        self.params = [p for p in dict.fromkeys(params) if p in position]
        index = {p: i for i, p in enumerate(self.params)}
        # A node's depth: 1 + its deepest input's (0 for leaves); same-depth nodes are
        # independent, so each (depth, op) group can run as one call.
        depth = {}
        uses = dict.fromkeys(self.order, 0)
        uses[output] = 1  # the output is read by the caller
        for node in self.order:
            depth[node] = 1 + max((depth[p] for p in node.parents), default=-1)
            for p in node.parents:
                uses[p] += 1

        layers = self._find_layers(index, uses, depth, output) if fuse else {}
        fused = {m for sums in layers.values() for _, products, _, _ in sums
                 for m, _, _ in products if m is not None}
        dense_out = {s for sums in layers.values() for s, *_ in sums}
        buckets: dict[tuple, list[Value]] = {}
        for node in self.order:
            if node.parents and node not in fused and node not in dense_out:
                buckets.setdefault((depth[node], node.op, len(node.parents)), []).append(node)
        # Run order: by depth (a node only reads shallower nodes); ties keep their order.
        plan = sorted([(level, "group", nodes) for (level, _, _), nodes in buckets.items()]
                      + [(level, "dense", sums) for (level, *_), sums in layers.items()],
                      key=lambda item: item[0])

        # Rows: inputs, then parameters read per example, then constants, then each kernel's
        # results side by side, so that most reads and writes are slices of ``values``.
        inputs_set = set(inputs)
        read = {output}.union(*(n.parents for _, kind, nodes in plan if kind == "group"
                                for n in nodes))
        read.update(x for (_, xs, *_) in layers for x in xs)
        loose = [p for p in self.params if p in read and p not in inputs_set]
        fixed = [n for n in self.order
                 if not n.parents and n not in index and n not in inputs_set]
        rows = [*dict.fromkeys(inputs), *loose, *fixed]
        for _, kind, nodes in plan:
            rows += nodes if kind == "group" else [s for s, *_ in nodes]
        self.slot = {node: row for row, node in enumerate(rows)}
        self.input_slots = np.array([self.slot[x] for x in inputs], dtype=np.intp)
        self._input_rows = _Rows(self.input_slots)
        self.output_slot = self.slot[output]
        self.param_slots = np.array([self.slot[p] for p in loose], dtype=np.intp)
        self.param_index = np.array([index[p] for p in loose], dtype=np.intp)
        self.fixed_slots = np.array([self.slot[n] for n in fixed], dtype=np.intp)
        self.fixed_values = np.array([n.data for n in fixed], dtype=float)
        self.kernels = [self._kernel(kind, nodes, index) for _, kind, nodes in plan]
        # Which nodes have a parameter among their inputs' inputs (or are one): only their
        # grads are needed for the parameters' grads (not a first layer's inputs', say).
        leads = set(index)
        for node in self.order:
            if any(p in leads for p in node.parents):
                leads.add(node)
        for (_, kind, nodes), kernel in zip(plan, self.kernels, strict=True):
            if kind == "group":
                kernel.needed = [any(n.parents[j] in leads for n in nodes)
                                 for j in range(kernel.arity)]
            else:
                kernel.needed = [any(x in leads for _, _, x in nodes[0][1])]

    @staticmethod
    def _find_layers(index: dict, uses: dict, depth: dict, output: Value) -> dict:
        """Sums Σ_k w_k·x_k (+ at most one other term) whose w_k are parameters, grouped by
        (depth, the x nodes in order, the kind of the other term): one layer kernel each.
        A product qualifies only if that sum is its one reader, so it need not be kept."""
        def weight_first(a, b):
            return (a, b) if a in index else (b, a) if b in index else None

        layers: dict[tuple, list] = {}
        for node in depth:
            products, rest = [], []
            if node.op == "sum":
                for term in node.parents:
                    pair = None
                    if term.op == "mul" and uses[term] == 1 and term is not output:
                        pair = weight_first(*term.parents)
                    if pair is None:
                        rest.append(term)
                    else:
                        products.append((term, *pair))
                # Where the other term sits among the terms: the sum adds them in order.
                at = len(products) if not rest else node.parents.index(rest[0])
            elif node.op == "wsum":  # the products are inputs (w₁, x₁, …), b last if any
                ws, xs, rest = split_wsum(node.parents)
                pairs = [weight_first(w, x) for w, x in zip(ws, xs, strict=True)]
                if None in pairs:
                    continue
                products = [(None, w, x) for w, x in pairs]
                rest = list(rest)
                at = len(products)
            else:
                continue
            if not products or len(rest) > 1:
                continue
            bias = rest[0] if rest else None
            kind = None if bias is None else "param" if bias in index else "node"
            key = (depth[node], tuple(x for _, _, x in products), kind, at)
            layers.setdefault(key, []).append((node, products, bias, at))
        return layers

    def _kernel(self, kind: str, nodes: list, index: dict):
        if kind == "group":
            first = self.slot[nodes[0]]
            out = slice(first, first + len(nodes))
            op, arity = nodes[0].op, len(nodes[0].parents)
            ins = np.array([[self.slot[n.parents[j]] for n in nodes] for j in range(arity)],
                           dtype=np.intp).reshape(arity, len(nodes))
            arg = np.array([[n.arg] for n in nodes], dtype=float) if OPS[op].takes_arg \
                else None
            return _Group(op, out, ins, arg)
        sums = nodes
        first = self.slot[sums[0][0]]
        out = slice(first, first + len(sums))
        _, products, bias, at = sums[0]
        x = [self.slot[xk] for _, _, xk in products]
        w = np.array([[index[wk] for _, wk, _ in p] for _, p, _, _ in sums], dtype=np.intp)
        if bias is None:
            return _Dense(out, x, w)
        if bias in index:
            return _Dense(out, x, w, bias_param=[index[b] for _, _, b, _ in sums], bias_at=at)
        return _Dense(out, x, w, bias_rows=[self.slot[b] for _, _, b, _ in sums], bias_at=at)

    def parameter_vector(self) -> np.ndarray:
        """The parameters' current ``.data``, in :attr:`params` order."""
        return np.fromiter((p.data for p in self.params), float, len(self.params))

    def _theta(self, params) -> np.ndarray:
        if params is None:
            return self.parameter_vector()
        theta = np.asarray(params, dtype=float)
        if theta.shape != (len(self.params),):
            raise ValueError(f"params must be a vector of {len(self.params)} numbers, "
                             f"got shape {theta.shape}")
        return theta

    def _start(self, inputs, params) -> tuple[np.ndarray, np.ndarray]:
        inputs = np.asarray(inputs, dtype=float)
        if inputs.ndim != 2 or len(inputs) != len(self.input_slots):
            raise ValueError(f"inputs must have shape ({len(self.input_slots)}, batch), "
                             f"got {inputs.shape}")
        theta = self._theta(params)
        values = np.empty((len(self.slot), inputs.shape[1]))
        if len(self.fixed_slots):
            values[self.fixed_slots] = self.fixed_values[:, None]
        if len(self.param_slots):
            values[self.param_slots] = theta[self.param_index][:, None]
        values[self._input_rows.index] = inputs  # the first rows: a slice
        return values, theta

    def forward(self, inputs: np.ndarray, params=None) -> np.ndarray:
        """Values of every row for a batch: ``inputs`` is (number of inputs, batch size);
        ``params`` the parameter vector (default: the parameters' ``.data``)."""
        values, theta = self._start(inputs, params)
        with np.errstate(all="ignore"):  # IEEE 754, as the eager engine
            for kernel in self.kernels:
                kernel.forward(values, theta)
        return values

    def backward(self, values: np.ndarray, seed: np.ndarray, params=None, saved=None,
                 params_only: bool = False):
        """``(grads, param_grads)`` of Σ_b seed_b · output_b: ``grads`` per row and example,
        ``param_grads`` per parameter, summed over the batch. ``params`` as for forward.
        ``params_only`` skips grads that no parameter's grad needs (the inputs', say): the
        row grads are then incomplete, the parameters' the same."""
        theta = self._theta(params)
        grads = np.zeros_like(values)
        grads[self.output_slot] = seed
        param_grads = np.zeros(len(self.params))
        saved = saved or [None] * len(self.kernels)
        with np.errstate(all="ignore"):
            for kernel, inputs in zip(reversed(self.kernels), reversed(saved), strict=True):
                kernel.backward(values, grads, param_grads, theta, inputs, params_only)
        if len(self.param_slots):
            param_grads[self.param_index] += grads[self.param_slots].sum(axis=1)
        return grads, param_grads

    def run(self, inputs: np.ndarray, seed: np.ndarray, params=None,
            params_only: bool = False):
        """:meth:`forward` then :meth:`backward` in one go (the backward pass reuses the
        inputs the forward pass gathered): ``(values, grads, param_grads)``."""
        values, theta = self._start(inputs, params)
        with np.errstate(all="ignore"):
            saved = [kernel.forward(values, theta) for kernel in self.kernels]
            return (values, *self.backward(values, seed, theta, saved, params_only))

    @property
    def numpy_calls(self) -> int:
        """How many fused groups run per pass (a proxy for the numpy calls made)."""
        return len(self.kernels)


def compile(output_fn, example_inputs: list, params: list[Value], check_with=None,  # noqa: A001
            fuse: bool = True) -> Tape:
    """Trace ``output_fn(input_values) -> Value`` once and return a :class:`Tape`.

    ``example_inputs`` are numbers for one example. If ``check_with`` (numbers for another
    example) is given, the function is traced again on it and the two graphs must be the same,
    or :class:`TraceError` names the first node that differs. ``fuse=False`` runs layers node
    by node instead of as layer kernels (slower; every node then has a row).
    """
    def trace(numbers):
        leaves = [Value(float(x), label=f"in{i}") for i, x in enumerate(numbers)]
        out = output_fn(leaves)
        if not isinstance(out, Value):
            raise TypeError(f"compile: the function must return a Value, got "
                            f"{type(out).__name__}")
        return out, leaves

    with enable_grad():  # a trace must record, even inside no_grad()
        out, leaves = trace(example_inputs)
    tape = Tape(out, leaves, params, fuse=fuse)
    if check_with is not None:
        with enable_grad():
            other, other_leaves = trace(check_with)
        other_order = topological_order(other)
        other_slots = {n: i for i, n in enumerate(other_order)}
        a = _structure(tape.order, {n: i for i, n in enumerate(tape.order)}, set(leaves))
        b = _structure(other_order, other_slots, set(other_leaves))
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                raise TraceError(
                    f"the graph depends on the data, so it cannot be compiled: node {i} is "
                    f"{_describe(x)} for one example and {_describe(y)} for another. Write the "
                    "function without Python `if`s on values or numbers taken from "
                    "`.data` (use ops such as relu and max instead)")
        if len(a) != len(b):
            raise TraceError(f"the graph depends on the data, so it cannot be compiled: "
                             f"{len(a)} nodes for one example, {len(b)} for another")
    return tape


def _describe(entry: tuple) -> str:
    op, parents, arg, bits = entry
    if bits is not None:
        return f"{'the constant' if op == 'const' else 'a leaf holding'} {float.fromhex(bits)!r}"
    arg = None if arg is None else float.fromhex(arg)
    return f"op {op or 'leaf'!r}" + (f" with arg {arg!r}" if arg is not None else "") + (
        f" reading nodes {list(parents)}" if parents else "")

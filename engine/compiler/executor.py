"""The executor: a tape's training pass written once as a straight-line Python function of numpy
calls (``Tape.program.source`` shows it), run by ``Tape.run(..., params_only=True, reuse=True)``.

The kernels (``kernel.py``, ``layer.py``) run a tape in a loop that, at every batch, reads
each kernel's rows, checks its cases and gathers what it needs. The executor asks each kernel
once what it does and writes that down as lines: a layer is ``np.matmul(W, x, out=z)`` and
``z += b`` forward, ``gx += W.T @ gz``, ``np.matmul(gz, x.T, out=dW)`` and
``np.add.reduce(gz, 1, None, db)`` (Σ over the batch) backward, W and b views of the
parameter vector; an op group calls its row of the op table on its input rows (the table
stays the one source of each op's maths); a kernel without a template is called as it is.
Every row range is a view made once per workspace (the arrays a tape keeps per batch size and
thread), so a line is one numpy call.

Exactness, cheaper (``engine.compiler.exactness`` states the rules): a layer whose biases
are parameters and whose inputs are exact, or within one bound E_in each, gets one bound for
every neuron and example of the batch,

    E = S²·‖(W, b)‖_F·(2γ·√(‖X‖_F² + 1) + (1 + 2γ)·√K·E_in) + 2n·TINY·S²

(γ = γ_{K+1}, S = SAFETY), at least ``layer_bound``'s bound of each entry, since
‖w_j‖·‖x_b‖ + |b_j| ≤ ‖(w_j, b_j)‖·‖(x_b, 1)‖ (Cauchy–Schwarz) ≤ ‖(W, b)‖_F·√(‖X‖_F² + 1):
two dot products instead of the per-entry norms and their outer product. relu, abs and neg
pass it on unchanged (their ``carry`` is ``EXACT``); relu and abs check min |z| > E. Every
other bound and check runs as the kernels run it, on bounds filled in from E where needed.
Each check returns False from the function as soon as it could fail, before any grad is
touched, and the tape then runs the kernels' own pass, which computes the unsure examples
again the eager way. A bound never smaller than the kernels' own flags no example they would
not: so the executor's numbers are the kernels' numbers, bit for bit, whichever way it goes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from engine.compiler import forms
from engine.compiler.exactness import EXACT, BoundsPlan, batch_bound, near_zero
from engine.compiler.forms import same_bits
from engine.compiler.kernel import Kernel, OpGroup
from engine.compiler.layer import NeuronLayer
from engine.compiler.plan import RowLayout
from engine.compiler.rows import Block, Rows
from engine.ops import ordered_sum


@dataclass
class Writer:
    """The generated function as it is written: ``bind`` lines (views made once per
    workspace), ``body`` lines (the step), the objects they name, and what the forward lines
    have found out: each row's one-for-all bound (the name of a float), and which rows of
    ``errors`` hold theirs."""

    bind: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    costs: list[int] = field(default_factory=list)  # each body line's numpy calls
    names: dict[str, object] = field(default_factory=lambda: {"np": np, "sqrt": math.sqrt})
    views: dict[tuple, str] = field(default_factory=dict)
    scalar: dict[int, str] = field(default_factory=dict)
    written: set[int] = field(default_factory=set)  # the rows of `errors` given their bound
    calls: int = 0
    generic_bounds: bool = False
    templated: set[int] = field(default_factory=set)  # the layers written as lines
    nan_free: set[int] = field(default_factory=set)  # the groups whose inputs hold no nan
    constants: dict[int, float] = field(default_factory=dict)  # the constants' rows

    def const(self, prefix: str, obj: object) -> str:
        """A name for ``obj`` in the function's namespace."""
        name = f"{prefix}{len(self.names)}"
        self.names[name] = obj
        return name

    def rows(self, array: str, rows: Rows | slice | int) -> str:
        """An expression for ``array[rows]``: a view made once per workspace when the rows
        are consecutive (or one row), else a gather at each step."""
        if isinstance(rows, Rows):
            if not rows.consecutive:
                return f"{array}[{self.const('rows', rows.index)}]"
            rows = rows.index
        key = (array, rows.start, rows.stop) if isinstance(rows, slice) else (array, rows)
        if key not in self.views:
            text = f"{key[1]}:{key[2]}" if len(key) == 3 else str(rows)
            self.views[key] = name = f"{array[0]}{'_'.join(map(str, key[1:]))}"
            self.bind.append(f"{name} = {array}[{text}]")
        return self.views[key]

    def emit(self, line: str, calls: int = 1) -> None:
        """A line of the step, which makes ``calls`` numpy calls."""
        self.insert(len(self.body), line, calls)

    def insert(self, at: int, line: str, calls: int = 1) -> None:
        """A line of the step at body line ``at``."""
        self.body.insert(at, line)
        self.costs.insert(at, calls)
        self.calls += calls

    def drop_unread_inputs(self) -> None:
        """Remove each group's ``a{k} = …`` line (its inputs, as one name) that no other line
        reads: a group written in a numpy form names its rows itself."""
        text = "\n".join(self.body)
        kept = []
        for line, calls in zip(self.body, self.costs, strict=True):
            name = re.match(r"(a\d+) = ", line)
            if name and len(re.findall(rf"\b{name[1]}\b", text)) == 1:
                self.calls -= calls
            else:
                kept.append((line, calls))
        self.body, self.costs = [line for line, _ in kept], [calls for _, calls in kept]

    def bound_of(self, rows: np.ndarray, zero: set[int]) -> str | None:
        """The name of the one bound all of ``rows`` carry ("0.0" for exact rows only), or
        None when some row's bound is an array the kernels wrote."""
        names = {self.scalar.get(r) for r in rows.tolist() if r not in zero}
        if not names:
            return "0.0"
        return names.pop() if len(names) == 1 and None not in names else None

    def write_bounds(self, rows: np.ndarray) -> None:
        """Fill ``errors`` for those of ``rows`` that carry a one-for-all bound, before a
        kernel's own rule reads them: every row that carries the bound and is not written yet
        (a bound is passed on to new rows after it was first written: neg of a relu)."""
        for name in sorted({self.scalar[r] for r in rows.tolist() if r in self.scalar}):
            unwritten = [r for r, n in self.scalar.items() if n == name and r not in self.written]
            if unwritten:
                self.written.update(unwritten)
                self.emit(f"{self.target('errors', Rows(unwritten))} = {name}")

    def target(self, array: str, rows: Rows) -> str:
        """``array[rows]`` to assign to: a view's ``[...]``, or the array indexed."""
        return f"{self.rows(array, rows)}[...]" if rows.consecutive else \
            f"{array}[{self.const('rows', rows.index)}]"


@dataclass(frozen=True)
class Program:
    """A tape's generated training pass: ``source`` (the text), ``calls`` (numpy calls per
    step, at most), and :meth:`bind`, which makes the step for one workspace's arrays."""

    source: str
    names: dict[str, object]
    calls: int

    @cached_property
    def code(self):
        """The source, compiled (once: a tape binds it again for each batch size)."""
        return compile(self.source, "<glassgrad tape>", "exec")

    def bind(self, values, grads, param_grads, errors) -> Callable[[np.ndarray, np.ndarray], bool]:
        """``step(theta, seed)``: True when it ran forward and backward into these arrays;
        False when some check could fail (nothing reliable is then in ``grads``)."""
        scope: dict[str, Any] = dict(self.names)
        exec(self.code, scope)  # noqa: S102 - the text write_program wrote
        return scope["bind"](values, grads, param_grads, errors)


def write_program(kernels: list[Kernel], bounds: BoundsPlan, layout: RowLayout,
                  first_written: int, n_params: int) -> Program:
    """The :class:`Program` of a tape's kernels (planned as ``bounds`` says)."""
    w = Writer(constants=dict(zip(layout.const_slots.tolist(), layout.const_values.tolist(),
                                  strict=True)))
    w.emit("# forward", 0)
    zero = set(bounds.zero_rows.tolist())
    saved = [_forward(w, k, kernel, bounds, zero, n_params) for k, kernel in enumerate(kernels)]
    if w.generic_bounds and len(bounds.zero_rows):
        w.insert(1, f"errors[{w.const('zero', bounds.zero_rows)}] = 0.0")
    out = w.rows("values", layout.output_slot)
    # The sum is finite only if every number is (a nan or ∞ stays in a sum); if not, each
    # number is looked at (finite numbers can overflow their sum).
    w.names["isfinite"] = math.isfinite
    w.emit(f"if not (isfinite(np.add.reduce({out}, None)) or np.isfinite({out}).all()): "
           "return False  # eager decides a nan or ∞", 2)
    w.emit("# backward: the chain rule, last kernel first")
    w.emit(f"{w.rows('grads', slice(first_written, len(layout.slot)))}[...] = 0.0")
    w.emit(f"{w.rows('grads', layout.output_slot)}[...] = seed")
    if not _writes_every_param_grad(w, kernels, layout, n_params):
        w.emit("param_grads[...] = 0.0")
    for k in reversed(range(len(kernels))):
        _backward(w, k, kernels[k], saved[k])
    if len(layout.param_slots):
        w.emit(f"param_grads[{w.const('at', layout.param_index)}] += "
               f"grads[{w.const('slots', layout.param_slots)}].sum(axis=1)", 3)
    w.emit("return True", 0)
    w.drop_unread_inputs()
    source = "\n".join(["def bind(values, grads, param_grads, errors):",
                        *(f"    {line}" for line in w.bind),
                        "    def step(theta, seed):",
                        *(f"        {line}" for line in w.body),
                        "    return step", ""])
    return Program(source, w.names, w.calls)


def _writes_every_param_grad(w: Writer, kernels: list[Kernel], layout: RowLayout,
                             n_params: int) -> bool:
    """Whether the backward lines write (not add) every parameter's grad: each is a
    weight or bias of a layer written as lines that owns its grads."""
    layers = {k: kernel for k, kernel in enumerate(kernels) if isinstance(kernel, NeuronLayer)}
    owned = [k for k in w.templated if layers[k].params.owns_grads]
    writers = {k for k, kernel in enumerate(kernels) if len(kernel.param_indices())}
    if len(layout.param_slots) or not writers <= set(owned):
        return False
    written = np.zeros(n_params, dtype=bool)
    for k in owned:
        written[kernels[k].param_indices()] = True
    return bool(written.all())


# --- forward ---------------------------------------------------------------------------------

def _forward(w: Writer, k: int, kernel: Kernel, bounds: BoundsPlan, zero: set[int],
             n_params: int) -> str | None:
    """Kernel k's forward lines, then its bound and check; returns the name of what it read
    (its inputs), for its backward lines."""
    layer = kernel if isinstance(kernel, NeuronLayer) else None
    views = None if layer is None else _layer_views(layer, n_params)
    if layer is not None and views is not None:
        saved = _layer_forward(w, k, layer, *views)
        if bounds.bounded[k] and _layer_bound(w, k, layer, bounds.input_bounds[k], zero):
            return saved
    elif isinstance(kernel, OpGroup):
        saved = _group_forward(w, k, kernel)
        if _passes_bound(w, k, kernel, bounds, zero):
            return saved
    else:
        saved = f"saved{k}"
        w.emit(f"{saved} = {w.const('kernel', kernel)}.forward(values, theta)")
    _generic_bound(w, k, kernel, bounds, saved)
    return saved


def _layer_views(layer: NeuronLayer, n_params: int) -> tuple[str, str | None] | None:
    """The expressions of W and B (or None: no bias) as views of ``theta``, when the layer's
    weights form a block that ends inside the vector and its biases are parameters in a
    block, or None."""
    params, bias = layer.params, layer.bias
    block = params.w_block
    if block is None or bias.rows is not None or (bias.params is not None
                                                  and params.b_block is None):
        return None
    (rows, cols), start, step = block.shape, block.start, block.step
    if start + step * rows > n_params:
        return None
    weights = f"theta[{start}:{start + step * rows}].reshape({rows}, {step})"
    weights += f"[:, :{cols}]" if step != cols else ""
    if params.b_block is None:
        return weights, None
    b = params.b_block
    return weights, f"theta[{b.start}:{b.start + b.step * (rows - 1) + 1}:{b.step}][:, None]"


def _layer_forward(w: Writer, k: int, layer: NeuronLayer, weights: str,
                   biases: str | None) -> str:
    """Layer k's z = W·x + B as lines, with W and B the expressions of _layer_views."""
    w.templated.add(k)
    w.emit(f"W{k} = {weights}", 2)
    x = w.rows("values", layer.x)
    if not layer.x.consecutive:
        w.emit(f"x{k} = {x}")
        x = f"x{k}"
    z = w.rows("values", layer.out)
    w.emit(f"np.matmul(W{k}, {x}, out={z})")
    if biases is not None:
        w.emit(f"B{k} = {biases}", 2)
        w.emit(f"{z}[...] += B{k}")
    return x


def _layer_bound(w: Writer, k: int, layer: NeuronLayer, inexact: bool, zero: set[int]) -> bool:
    """Layer k's one bound for the batch, ``E{k}``, if its inputs allow (see the module
    docstring); False if not (the layer's own rule then runs)."""
    inputs = w.bound_of(layer.x.rows, zero) if inexact else "0.0"
    if inputs is None:
        return False
    block = layer.params.w_block
    assert block is not None  # _layer_views said so
    rows, cols = block.shape
    end = block.start + block.step * rows
    w.emit(f"t{k} = theta[{block.start}:{end}]")
    norm, count = f"np.dot(t{k}, t{k})", end - block.start
    b = layer.params.b_block
    if b is not None and not block.start <= b.start <= b.start + b.step * (rows - 1) < end:
        norm, count = norm + f" + np.dot(B{k}[:, 0], B{k}[:, 0])", count + rows  # apart
    x = f"x{k}" if not layer.x.consecutive else w.rows("values", layer.x)
    carried = "" if inputs == "0.0" else f", {inputs}"
    w.names["batch_bound"] = batch_bound
    w.emit(f"E{k} = batch_bound({norm}, {count}, {x}, {cols}{carried})  # ≥ every |z − eager's|",
           3)
    for r in range(layer.out.start, layer.out.stop):
        w.scalar[r] = f"E{k}"
    return True


def _group_inputs(w: Writer, group: OpGroup) -> list[str] | None:
    """An expression for each input's rows, or None when they are read as one block (arity,
    nodes, batch)."""
    inputs = group.inputs
    if inputs.each is not None:
        return [w.rows("values", rows) for rows in inputs.each]
    if inputs.block.consecutive and inputs.arity == 1:
        return [w.rows("values", inputs.block)]
    return None


def _block(w: Writer, array: str, group: OpGroup) -> str:
    """An expression for a group's input rows as one (arity, nodes, batch) array: a view
    made once per workspace when they are consecutive, else a gather at each step."""
    inputs = group.inputs
    if not inputs.block.consecutive:
        return f"{w.const('inputs', inputs)}.read({array})"
    rows = w.rows(array, inputs.block)
    key = (rows, inputs.arity)
    if key not in w.views:
        w.views[key] = name = f"{rows}_by{inputs.arity}"
        w.bind.append(f"{name} = {rows}.reshape({inputs.arity}, {inputs.nodes}, -1)")
    return w.views[key]


def _group_forward(w: Writer, k: int, group: OpGroup) -> str:
    """The table's rule on the group's input rows, into its rows (in a form of fewer calls
    where ``engine.compiler.forms`` finds the rule gives the same numbers)."""
    row, arg = w.const(group.row.name, group.row), w.const("arg", group.arg)
    each, out, arity = _group_inputs(w, group), w.rows("values", group.out), group.inputs.arity
    if each is None:
        w.emit(f"a{k} = {_block(w, 'values', group)}", 0 if group.inputs.block.consecutive else 1)
    else:
        w.emit(f"a{k} = ({', '.join(each)},)", 0)
    if each is None and forms.is_ordered_sum(group.row, arity, group.arg):
        # numpy's reduce adds row after row (into the rows, with out=) where a row holds two
        # numbers or more, which a batch of two or more gives; else ordered_sum's own way.
        w.names["ordered_sum"] = ordered_sum
        w.bind.append(f"rowwise{k} = {group.inputs.nodes} * values.shape[1] >= 2")
        w.emit(f"if rowwise{k}: np.add.reduce(a{k}, 0, None, {out})  # {group.row.name}: "
               "added in order", 1)
        w.emit(f"else: {out}[...] = ordered_sum(a{k})", 0)
    elif each is not None and forms.is_rectifier(group.row, arity, group.arg):
        w.emit(f"np.maximum({each[0]}, 0.0, out={out})  # {group.row.name}")
        w.emit(f"{out}[...] += 0.0  # −0 made +0")
    elif each is not None and (ufunc := forms.ufunc_of(group.row, arity, group.arg)):
        operands = [*each, arg] if group.row.takes_arg else each
        w.emit(f"np.{ufunc.__name__}({', '.join(operands)}, out={out})  # {group.row.name}")
    else:
        w.emit(f"{out}[...] = {row}.compute(a{k}, {arg})", 2)
    return f"a{k}"


def _passes_bound(w: Writer, k: int, group: OpGroup, bounds: BoundsPlan, zero: set[int]) -> bool:
    """For relu, abs and neg on inputs with one bound E: the check min |x| > E (relu, abs),
    and E passed on; False for any other group (its own rules then run)."""
    if not (bounds.bounded[k] or bounds.checks[k]) or group.rule.carry is not EXACT:
        return not (bounds.bounded[k] or bounds.checks[k])
    each = _group_inputs(w, group)
    name = w.bound_of(group.input_rows, zero)
    if each is None or name is None or name == "0.0" or group.checks_poles:
        return False
    if bounds.checks[k]:
        if group.rule.kink is not near_zero:
            return False
        scratch = w.rows("errors", group.out)
        w.emit(f"np.abs({each[0]}, out={scratch})")
        w.emit(f"if not {scratch}.min() > {name}: return False  # a kink within reach")
        w.nan_free.add(k)  # a nan fails that check too
    if bounds.bounded[k]:
        for r in range(group.out.start, group.out.stop):
            w.scalar[r] = name
    return True


def _generic_bound(w: Writer, k: int, kernel: Kernel, bounds: BoundsPlan, saved: str) -> None:
    """Kernel k's own bound and check, on ``errors`` (one-for-all bounds written in first)."""
    if not (bounds.bounded[k] or bounds.checks[k]):
        return
    w.generic_bounds = True
    name = w.const("kernel", kernel)
    w.write_bounds(kernel.input_rows)
    if bounds.bounded[k]:
        inputs = "errors" if bounds.input_bounds[k] else "None"
        w.emit(f"{name}.bound(values, errors, theta, {saved}, {inputs})")
    if bounds.checks[k]:
        w.emit(f"if {name}.unsure(values, errors, {saved}).any(): return False", 2)


# --- backward --------------------------------------------------------------------------------

def _backward(w: Writer, k: int, kernel: Kernel, saved: str | None) -> None:
    """Kernel k's backward lines: its inputs' and parameters' grads from its own."""
    if k in w.templated and isinstance(kernel, NeuronLayer):
        _layer_backward(w, k, kernel, saved or "")
    elif isinstance(kernel, OpGroup):
        _group_backward(w, k, kernel)
    else:
        w.emit(f"{w.const('kernel', kernel)}.backward(values, grads, param_grads, theta, "
               f"{saved}, True, False)")


def _layer_backward(w: Writer, k: int, layer: NeuronLayer, x: str) -> None:
    """∂X = Wᵀ G (when an input leads to a parameter), ∂W = G Xᵀ, ∂B = Σ_b G."""
    g = w.rows("grads", layer.out)
    if layer.inputs_need_grads:
        if layer.x.consecutive:
            w.emit(f"{w.rows('grads', layer.x)}[...] += W{k}.T @ {g}", 2)
        else:
            w.emit(f"{w.const('rows', layer.x)}.add(grads, W{k}.T @ {g})", 3)
    params = layer.params
    dw = _block_view(w, params.w_block)
    if params.owns_grads:
        w.emit(f"np.matmul({g}, {x}.T, out={dw})")
    else:
        w.emit(f"{dw}[...] += {g} @ {x}.T", 2)
    if params.b_block is not None:
        db = _block_view(w, params.b_block)
        if params.owns_grads:
            w.emit(f"np.add.reduce({g}, 1, None, {db})  # Σ over the batch")
        else:
            w.emit(f"{db}[...] += {g}.sum(axis=1)", 2)


def _block_view(w: Writer, block: Block | None) -> str:
    """A view of ``param_grads`` made once per workspace."""
    name = w.const("block", block)
    w.bind.append(f"d{name} = {name}.view(param_grads)")
    return f"d{name}"


def _group_backward(w: Writer, k: int, group: OpGroup) -> None:
    """The table's local derivatives times the group's grads, into its inputs' grads (the
    rows ``GroupInputs.add_grads`` adds into, in its order); a local derivative that the
    table gives as a constant is written in as one."""
    out, g = w.rows("values", group.out), w.rows("grads", group.out)
    inputs, fixed = group.inputs, constant_locals(group, w.constants)
    if (k in w.nan_free and inputs.block.consecutive
            and forms.has_step_slope(group.row, inputs.arity, group.arg)):
        x = (_group_inputs(w, group) or [""])[0]
        w.emit(f"{w.rows('grads', inputs.block)}[...] += {g} * ({x} > 0)  "
               f"# {group.row.name}'s slope: 1 above 0", 3)
        return
    if inputs.each is not None:
        pairs = [(j, rows) for j, rows in enumerate(inputs.each) if group.feeds_params[j]]
    elif inputs.block.consecutive and inputs.arity == 1:
        pairs = [(0, inputs.block)]  # one block of rows: added whether or not it leads on
    elif inputs.block.consecutive and len(set(fixed)) == 1 and fixed[0] is not None:
        w.emit(f"{_block(w, 'grads', group)}[...] += {_times(g, fixed[0])}", 2)  # sum
        return
    else:
        pairs = []
    needed = any(fixed[j] is None for j, _ in pairs) and not (
        pairs and forms.slope_scale(group.row, inputs.arity, group.arg) is not None)
    if needed or not (pairs or inputs.each is not None):
        w.emit(f"d{k} = {w.const(group.row.name, group.row)}.derivatives({out}, a{k}, "
               f"{w.const('arg', group.arg)})")
    if not pairs and inputs.each is None:
        w.emit(f"{w.const('inputs', inputs)}.add_grads(grads, d{k}, {g}, True, "
               f"{group.feeds_params!r}, True)", 3)
    scale = forms.slope_scale(group.row, inputs.arity, group.arg) if pairs else None
    for j, rows in pairs:
        c = fixed[j]
        product = f"{g} * d{k}[{j}]" if c is None else _times(g, c)
        if scale is not None:  # the rule's c·x, without its wrapper
            product = f"{g} * ({scale!r} * {(_group_inputs(w, group) or [''])[0]})"
        if rows.consecutive and rows.plan is None:
            w.emit(f"{w.rows('grads', rows)}[...] += {product}", 2)
        else:
            w.emit(f"{w.const('rows', rows)}.add(grads, {product})", 3)


def _times(g: str, c: float) -> str:
    """``g · c`` for a constant c: g itself for 1 (the same bits), −g for −1."""
    return g if c == 1.0 else f"-{g}" if c == -1.0 else f"{g} * {c!r}"


def constant_locals(group: OpGroup, constants: dict[int, float]) -> list[float | None]:
    """Each input's local derivative where the op table gives one number whatever the
    inputs that are not constant rows (add's 1 and 1, sub's 1 and −1, sum's 1s, x/10's 0.1),
    else None: asked of the table's rule on two sets of random inputs (the constants' rows
    holding their numbers)."""
    rng = np.random.default_rng(0)
    rows = group.inputs.block.rows.reshape(group.inputs.arity, group.inputs.nodes)
    probes = []
    with np.errstate(all="ignore"):
        for signs in ((-1.0, 1.0), (-1.0, 1.0), (-1.0, 1.0), (1.0,), (-1.0,)):
            xs = [np.array([[constants[r]] * 16 for r in ins]) if all(r in constants for r in ins)
                  else rng.choice(signs, (len(ins), 16)) * rng.uniform(0.1, 3.0, (len(ins), 16))
                  for ins in rows.tolist()]
            probes.append(group.row.derivatives(group.row.compute(xs, group.arg), xs,
                                                group.arg))
    found: list[float | None] = []
    for answers in zip(*probes, strict=True):
        first = np.asarray(answers[0], dtype=float)
        same = first.size and np.isfinite(first.flat[0]) and all(
            same_bits(np.broadcast_to(a, np.shape(answers[0])), np.full(first.shape, first.flat[0]))
            for a in answers)
        found.append(float(first.flat[0]) if same else None)
    return found

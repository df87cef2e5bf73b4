"""Value as plain data: construction, operators, the recorded graph, errors, IEEE policy."""

import math

import numpy as np
import pytest

import engine
from engine import Value, no_grad


def test_fields_and_defaults():
    v = Value(3, label="x")
    assert (v.data, v.grad, v.label, v.op, v.parents, v.arg) == (3.0, 0.0, "x", "", (), None)
    assert type(v.data) is float and type(v.grad) is float
    assert v.is_leaf


def test_slots_only():
    v = Value(1.0)
    assert not hasattr(v, "__dict__")
    with pytest.raises(AttributeError):
        v.colour = "red"


@pytest.mark.parametrize("number", [np.float64(1.5), np.float32(1.5), np.int64(2), 2, True])
def test_numbers_and_numpy_scalars_are_stored_as_python_floats(number):
    v = Value(number)
    assert type(v.data) is float and v.data == float(number)


@pytest.mark.parametrize("bad, name", [
    ("abc", "str"), (None, "NoneType"), ([1.0], "list"), ((1.0,), "tuple"),
    (1 + 2j, "complex"), (np.array(1.0), "ndarray"), (np.array([1.0, 2.0]), "ndarray"),
])
def test_bad_data_is_a_type_error_naming_the_type(bad, name):
    with pytest.raises(TypeError, match=f"Value data must be a real number.*got {name}"):
        Value(bad)


def test_value_of_value_and_bad_label():
    with pytest.raises(TypeError, match="already a Value"):
        Value(Value(1.0))
    with pytest.raises(TypeError, match="label must be a str, got int"):
        Value(1.0, label=3)


def test_operators_record_the_op_the_user_wrote():
    a, b = Value(6.0, label="a"), Value(3.0, label="b")
    cases = {
        "add": (a + b, 9.0), "sub": (a - b, 3.0), "mul": (a * b, 18.0), "div": (a / b, 2.0),
        "vpow": (a ** b, 216.0),
    }
    for op, (v, data) in cases.items():
        assert (v.op, v.parents, v.data) == (op, (a, b), data)
    neg = -a
    assert (neg.op, neg.parents, neg.data) == ("neg", (a,), -6.0)
    # No hidden constants: a − b is one sub node, −a is one neg node.
    assert all(p.op == "" for p in (a - b).parents)


def test_numbers_on_either_side_become_constant_nodes():
    a = Value(4.0, label="a")
    for v, op, data, const_position in [
        (a + 2, "add", 6.0, 1), (2 + a, "add", 6.0, 0), (a - 1, "sub", 3.0, 1),
        (1 - a, "sub", -3.0, 0), (a * 3, "mul", 12.0, 1), (3 * a, "mul", 12.0, 0),
        (a / 2, "div", 2.0, 1), (2 / a, "div", 0.5, 0),
    ]:
        assert (v.op, v.data) == (op, data)
        c = v.parents[const_position]
        assert c.op == "const" and c.parents == () and c.arg == c.data
        assert v.parents[1 - const_position] is a


def test_powers_keep_the_constant_as_arg():
    a = Value(3.0)
    sq = a ** 2
    assert (sq.op, sq.parents, sq.arg, sq.data) == ("pow", (a,), 2, 9.0)
    r = 2 ** a
    assert (r.op, r.parents, r.arg, r.data) == ("rpow", (a,), 2, 8.0)
    h = a ** 0.5
    assert h.arg == 0.5 and h.data == pytest.approx(math.sqrt(3.0), rel=1e-15)


def test_duplicate_parents_are_kept_in_order():
    a = Value(3.0)
    assert (a * a).parents == (a, a)
    b = Value(1.0)
    assert (b - a).parents == (b, a)


def test_unary_methods():
    x = Value(0.5)
    assert x.exp().data == math.exp(0.5) and x.exp().op == "exp"
    assert x.log().data == math.log(0.5)
    assert x.tanh().data == math.tanh(0.5)
    assert x.sigmoid().data == pytest.approx(1 / (1 + math.exp(-0.5)), rel=1e-15)
    assert Value(-2.0).relu().data == 0.0 and Value(2.0).relu().data == 2.0


@pytest.mark.parametrize("other", ["a", None, [1.0], {"x": 1}])
def test_unsupported_operands_get_pythons_type_error(other):
    v = Value(1.0)
    for fn in (lambda: v + other, lambda: other + v, lambda: v * other, lambda: v - other,
               lambda: v / other, lambda: v ** other):
        with pytest.raises(TypeError):
            fn()
    # NotImplemented (not an error from inside the engine) is what Python turns into that.
    assert v.__add__(other) is NotImplemented
    assert v.__pow__(other) is NotImplemented and v.__rpow__(other) is NotImplemented


def test_numpy_scalars_work_on_either_side():
    v = Value(3.0)
    r = np.float64(2.0) * v
    assert isinstance(r, Value) and r.data == 6.0 and r.parents[1] is v
    assert (v + np.float32(0.5)).data == 3.5
    assert isinstance(r.parents[0].data, float)


def test_repr_is_readable():
    v = Value(0.70710678, label="o")
    assert repr(v) == "Value(data=0.707107, grad=0, label='o')"
    t = (Value(1.0) * 2).tanh()
    assert repr(t) == "Value(data=0.964028, grad=0, op='tanh')"


def test_sum_is_one_nary_node():
    a, b = Value(1.0), Value(2.0)
    s = engine.sum([a, b, 3, a])
    assert s.op == "sum" and s.data == 7.0 and len(s.parents) == 4
    assert s.parents[0] is a and s.parents[3] is a and s.parents[2].op == "const"
    s.backward()
    assert (a.grad, b.grad) == (2.0, 1.0)
    assert engine.sum(iter([a])).data == 1.0  # any iterable, one item is fine


def test_sum_errors():
    with pytest.raises(ValueError, match="at least one"):
        engine.sum([])
    with pytest.raises(TypeError, match="item 1 must be a Value or a real number, got str"):
        engine.sum([Value(1.0), "x"])


def test_builtin_sum_still_works_on_values():
    a, b = Value(1.0), Value(2.0)
    assert sum([a, b]).data == 3.0


def test_no_grad_records_no_parents_and_restores():
    a = Value(2.0)
    with no_grad():
        b = a * 3
        with no_grad():
            pass
        c = b.tanh()
    assert (b.op, b.parents, c.op, c.parents) == ("", (), "", ())
    assert b.data == 6.0
    assert (a * 3).parents[0] is a
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError("boom")
    assert (a * 3).op == "mul"  # restored after an exception too


# --- Numerical policy: IEEE 754, never a Python exception from inside an op. ----------------

@pytest.mark.parametrize("make, expected", [
    (lambda: Value(0.0).log(), -math.inf),
    (lambda: Value(-1.0).log(), math.nan),
    (lambda: Value(1.0) / 0, math.inf),
    (lambda: Value(-1.0) / 0, -math.inf),
    (lambda: Value(0.0) / 0, math.nan),
    (lambda: 1 / Value(0.0), math.inf),
    (lambda: Value(1000.0).exp(), math.inf),
    (lambda: Value(-1000.0).exp(), 0.0),
    (lambda: Value(-8.0) ** (1 / 3), math.nan),
    (lambda: Value(0.0) ** -1, math.inf),
    (lambda: Value(10.0) ** 1000, math.inf),
    (lambda: 10 ** Value(1000.0), math.inf),
    (lambda: Value(-8.0) ** Value(0.5), math.nan),
    (lambda: Value(math.nan).relu(), math.nan),
    (lambda: Value(-math.inf).relu(), 0.0),
])
def test_ieee_policy(make, expected):
    v = make()
    assert isinstance(v.data, float)
    if math.isnan(expected):
        assert math.isnan(v.data)
    else:
        assert v.data == expected


def test_backward_through_singular_points_follows_ieee_too():
    x = Value(0.0)
    x.log().backward()  # ∂ ln x/∂x = 1/x at 0
    assert x.grad == math.inf
    y = Value(0.0)
    (1 / y).backward()
    assert y.grad == -math.inf  # −out/y = −inf/0
    z = Value(0.0)
    (z ** 0.5).backward()  # 0.5 · 0^−0.5
    assert z.grad == math.inf


# --- Regressions found in review ---------------------------------------------------------------

def test_powers_at_base_zero_have_pytorchs_grads():
    x = Value(0.0)
    (x ** 0).backward()  # x⁰ is constant: 0, not 0·0⁻¹ = nan
    assert x.grad == 0.0
    y = Value(1.0)
    (0.0 ** y).backward()  # ∂(0^y)/∂y = 0^y·ln 0, taken as its limit 0 for y ≥ 0
    assert y.grad == 0.0
    a, b = Value(0.0), Value(2.0)
    (a ** b).backward()
    assert (a.grad, b.grad) == (0.0, 0.0)
    c, d = Value(0.0), Value(0.0)
    (c ** d).backward()
    assert (c.grad, d.grad) == (0.0, 0.0)
    z = Value(0.0)
    third = z ** 2
    for _ in range(3):
        (third,) = engine.grad(third, [z], create_graph=True)
    assert third.data == 0.0  # d³(x²)/dx³ = 0, not nan


def test_relu_passes_a_nan_on_in_backward():
    x = Value(math.nan)
    x.relu().backward()
    assert math.isnan(x.grad)


def test_huge_integers_round_to_infinity_and_numpy_bools_are_numbers():
    assert Value(10 ** 400).data == math.inf and Value(-(10 ** 400)).data == -math.inf
    assert (Value(1.0) + 10 ** 400).data == math.inf
    assert Value(np.bool_(True)).data == 1.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: engine.apply("nope", Value(1.0)), ValueError, "unknown op 'nope'; the op table"),
    (lambda: engine.apply("add", Value(1.0)), ValueError, "op 'add' takes 2 inputs, got 1"),
    (lambda: engine.apply("sum"), ValueError, "op 'sum' takes one or more inputs, got 0"),
    (lambda: engine.apply("tanh", 1.0), TypeError, "input 0 must be a Value, got float"),
    (lambda: engine.apply("pow", Value(1.0)), ValueError, "op 'pow' needs arg"),
    (lambda: engine.apply("exp", Value(1.0), arg=2), ValueError, "op 'exp' takes no arg"),
    (lambda: engine.sum(5), TypeError, "engine.sum expects an iterable of Values or numbers"),
    (lambda: engine.backward_steps("abc"), TypeError, "backward needs a Value, got str"),
])
def test_clear_errors_from_public_functions(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_apply_computes_every_op_by_name():
    x = Value(2.0)
    assert engine.apply("pow", x, arg=3).data == 8.0
    assert engine.apply("sum", x, x, x).data == 6.0


def test_no_grad_is_reentrant_and_a_decorator():
    switch = no_grad()
    with switch:
        with switch:
            pass
        assert (Value(1.0) * 2).parents == ()
    assert (Value(1.0) * 2).op == "mul"  # both levels restored

    @no_grad()
    def evaluate(v):
        return v * 2

    assert evaluate(Value(1.0)).parents == () and (Value(1.0) * 2).op == "mul"
    with no_grad(), engine.enable_grad():
        assert (Value(1.0) * 2).op == "mul"


def test_create_graph_records_even_inside_no_grad():
    x = Value(2.0)
    y = x ** 3
    with no_grad():
        (g,) = engine.grad(y, [x], create_graph=True)
    assert engine.grad(g, [x]) == [12.0]  # 6x at 2


def test_weighted_sum_records_the_same_graph_as_a_sum_of_products():
    w = [Value(0.5, label="w0"), Value(-1.5, label="w1")]
    x = [Value(2.0, label="x0"), Value(3.0, label="x1")]
    b = Value(0.25, label="b")
    fast = engine.weighted_sum(w, x, b)
    slow = engine.sum([w[0] * x[0], w[1] * x[1], b])
    assert fast.data == slow.data == 0.5 * 2.0 + -1.5 * 3.0 + 0.25
    assert fast.op == "sum" and [p.op for p in fast.parents] == ["mul", "mul", ""]
    assert [p.parents for p in fast.parents[:2]] == [(w[0], x[0]), (w[1], x[1])]
    assert fast.parents[2] is b
    fast.backward()
    assert [v.grad for v in (*w, *x, b)] == [2.0, 3.0, 0.5, -1.5, 1.0]
    # Numbers become constants (as in engine.sum); no bias is allowed.
    plain = engine.weighted_sum([2, w[0]], [x[0], 4.0])
    assert plain.data == 2 * 2.0 + 0.5 * 4.0 and plain.parents[0].parents[0].op == "const"
    with no_grad():
        assert engine.weighted_sum(w, x).parents == ()
    with engine.detect_anomaly(), pytest.raises(engine.AnomalyError, match="op 'mul'"):
        engine.weighted_sum([Value(1e300)], [Value(1e300)])


@pytest.mark.parametrize("args, error, message", [
    (([Value(1.0)], [Value(1.0), Value(2.0)]), ValueError, "1 weights for 2 inputs"),
    (([], []), ValueError, "needs at least one"),
    ((["a"], [Value(1.0)]), TypeError, "weights: item 0 must be a Value or a real number"),
    (([Value(1.0)], [Value(1.0)], "b"), TypeError, "bias: item 0 must be a Value"),
])
def test_weighted_sum_errors(args, error, message):
    with pytest.raises(error, match=message):
        engine.weighted_sum(*args)


def test_weighted_sum_takes_any_iterables_and_names_a_bad_argument():
    w, x = (Value(2.0), Value(3.0)), iter([Value(5.0), 7])
    assert engine.weighted_sum(w, x).data == 2.0 * 5.0 + 3.0 * 7
    with pytest.raises(TypeError, match="weights expects an iterable of Values or numbers, "
                                        "got Value"):
        engine.weighted_sum(Value(1.0), [Value(1.0)])


def test_weighted_sum_of_no_products_is_the_bias_whatever_the_iterable():
    b = Value(0.5)
    for empty in ([], (), iter([])):
        assert engine.weighted_sum(empty, empty, b).data == 0.5


def test_star_import_hides_no_builtin():
    import builtins

    namespace = {}
    exec("from engine import *", namespace)
    assert not {name for name in namespace if hasattr(builtins, name)} - {"__builtins__"}
    assert engine.sum([Value(1.0), 2]).op == "sum" and engine.max([1, Value(2.0)]).data == 2.0


def test_item_and_float():
    v = Value(2.5) * 2
    assert v.item() == 5.0 and float(v) == 5.0 and type(v.item()) is float


def test_public_names_that_moved_keep_working():
    import nn
    from engine.compiler.compile import compile as old_name
    from engine.compiler.compile import trace

    assert old_name is trace  # the documented alias
    assert nn.compile_step is nn.compiled.compile_step


def test_no_cycle_collection_pauses_the_collector_and_restores_it():
    import gc

    assert gc.isenabled()
    pause = engine.no_cycle_collection()
    with pause:
        assert not gc.isenabled()
        with pause:  # re-entrant
            assert not gc.isenabled()
        assert not gc.isenabled()
        x = Value(1.0)
        for _ in range(1000):
            x = x * 0.5 + 0.5
        x.backward()  # the backward pass's own pause leaves the outer one in place
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), engine.no_cycle_collection():
        raise KeyError("inside")
    assert gc.isenabled()  # restored on an exception too
    gc.disable()
    try:
        with engine.no_cycle_collection():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()

    @engine.no_cycle_collection()
    def build():
        return gc.isenabled()

    assert build() is False and gc.isenabled()


def _backward_in_threads(threads: int = 8, calls: int = 2000) -> None:
    """The issue's reproducer: several threads each running many small backward passes."""
    import threading

    def work():
        for i in range(calls):
            (Value(float(i)) * Value(2.0) + 1.0).backward()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


@pytest.mark.slow
def test_backward_in_many_threads_never_leaves_the_collector_off():
    # Each pause used to read the switch and put back what it read: one thread could read
    # "off" while another had it paused and restore "off" for good (most runs of this did).
    import gc
    import sys

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show sooner
    try:
        for run in range(10):
            _backward_in_threads(calls=500)
            assert gc.isenabled(), f"run {run}: the cycle collector was left off"
        gc.disable()  # a user's own choice is kept, however the threads interleave
        try:
            _backward_in_threads(threads=4, calls=300)
            assert not gc.isenabled()
        finally:
            gc.enable()
    finally:
        sys.setswitchinterval(interval)


SPECIAL = [0.0, -0.0, 1.5, -2.25, 5e-324, -1e308, 1e308, math.inf, -math.inf, math.nan, 3]


@pytest.mark.parametrize("x", SPECIAL)
@pytest.mark.parametrize("y", SPECIAL)
def test_the_written_out_arithmetic_is_the_table_to_the_bit(x, y):
    # +, −, ×, unary − compute in place what the op table's forward computes (they run once
    # per node of every step); numbers on either side, and a network's products.
    import engine.ops as ops

    def same(v, op, *args):
        assert v.op == op and float.hex(v.data) == float.hex(float(ops.OPS[op].forward(*args)))

    for op, f in (("add", lambda a, b: a + b), ("sub", lambda a, b: a - b),
                  ("mul", lambda a, b: a * b)):
        same(f(Value(x), Value(y)), op, float(x), float(y))
        same(f(Value(x), y), op, float(x), float(y))
        same(f(x, Value(y)), op, float(x), float(y))
    same(-Value(x), "neg", float(x))
    (term,) = engine.weighted_sum([Value(x)], [Value(y)]).parents
    same(term, "mul", float(x), float(y))

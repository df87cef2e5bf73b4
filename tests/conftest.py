"""Shared test fixtures."""

from engine import Value


def labelled_example():
    """o = tanh(a·b + c) with a=2, b=−3, c=10, every node labelled, not yet backpropagated.

    Returns (o, (a, b, c, d, e)) where d = a·b and e = d + c.
    """
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    d = a * b
    d.label = "d"
    e = d + c
    e.label = "e"
    o = e.tanh()
    o.label = "o"
    return o, (a, b, c, d, e)

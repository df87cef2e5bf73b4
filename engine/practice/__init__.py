"""Practice mode: the backward pass as questions, answered before each number is revealed.

For every step of the backward pass, in order, and every input that needs a grad, two
questions: the local derivative ∂node/∂input, then that input's grad after the step,
input.grad + node.grad × ∂node/∂input. An answer is a number or a fraction (``-3/4``),
right within a relative tolerance. A first wrong answer gets a hint that names what to use
(which rule, which factor, which grad), never the number, and a known mistake (the upstream
grad forgotten, ``=`` for ``+=``, a sign, tanh's derivative written with its input) is named;
the answer comes after a second wrong try, or on request (``?``). A question missed is asked
again a few questions later, and the end says which kinds of step went wrong. The questions
are computed on a copy of the graph: nothing of the user's graph changes. The questions and their
answers are in ``engine.practice.question``; the session that asks them is in
``engine.practice.session``.

    >>> from engine import Value, practice
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> d = a * b; d.label = "d"
    >>> session = practice(d, answers=["-3", "-3", "2", "2"])
    d = a × b = -6
    ∂d/∂a = ?   (the rule: b)
      -3: right.
    a.grad = ?   (it was 0; d.grad = 1)
      -3: right.
    ∂d/∂b = ?   (the rule: a)
      2: right.
    b.grad = ?   (it was 0; d.grad = 1)
      2: right.
    4 of 4 right.
"""


from engine.practice.question import (
    RTOL,
    Mistake,
    Question,
    check,
    mistake_of,
    parse,
    questions,
    step_questions,
)
from engine.practice.session import REASK_AFTER, SHOW, Session, exercises, practice

__all__ = ["REASK_AFTER", "RTOL", "SHOW", "Mistake", "Question", "Session", "check",
           "exercises", "mistake_of", "parse", "practice", "questions", "step_questions"]

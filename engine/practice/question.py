"""Practice mode's questions: what is asked at each backward step, the right answer, and the
mistakes a learner is likely to make (named, so that a hint can say which factor is off).

For every step and every input that needs a grad, two questions: the local derivative
∂node/∂input, then that input's grad after the step, input.grad + node.grad × ∂node/∂input.
An answer is a number or a fraction (``-3/4``), right within a relative tolerance ``RTOL``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from engine.autodiff import Step, backward_steps, copy_graph
from engine.node import Node
from engine.ops import OPS
from engine.text import formula, formula_names

RTOL = 1e-3  # an answer worked out by hand, to three or four digits, is right
_FRACTION = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?)\s*/\s*([+-]?\d+(?:\.\d*)?)\s*$")


class Mistake(NamedTuple):
    """A likely wrong answer: its ``value``, the mistake's ``name`` and what to say (no number)."""

    value: float
    name: str  # "upstream", "assign", "early", "sign", "input", "local"
    words: str


@dataclass(frozen=True)
class Question:
    """One question: ``prompt`` (``∂o/∂e = ?``), a ``hint``, the ``answer``, and the numbers
    a wrong answer is compared with to say which factor is off."""

    step: int
    kind: str  # "local" (∂node/∂input) or "grad" (the input's grad after the step)
    prompt: str
    hint: str
    answer: float
    node_grad: float  # the node's grad, passed on
    local: float  # ∂node/∂input
    before: float  # the input's grad before this step
    names: tuple[str, str]  # the node's and the input's
    op: str = ""  # the node's op (engine.ops)
    position: int = 0  # which input of the node
    x: float = math.nan  # the input's value
    about: str = ""  # what the node is: ``out = tanh(v4) = 0.4621``

    @property
    def topic(self) -> str:
        """The kind of step, for the summary: ``the local derivative of a product``."""
        called = OPS[self.op].teach.called(self.op)
        if self.kind == "local":
            return f"the local derivative of {called}"
        return f"the grad passed back through {called}"

    def explain(self) -> str:
        """The right answer, worked out."""
        n, p = self.names
        if self.kind == "local":
            value = f"{self.answer:.4g}"
            if self.hint.replace("−", "-") == value:  # a rule that is a number: "∂v/∂a = 1"
                return f"{self.prompt[:-4]} = {value}"
            return f"{self.prompt[:-4]} = {self.hint} = {value}"
        return (f"{p}.grad = {self.before:.4g} + {n}.grad × ∂{n}/∂{p} = {self.before:.4g} + "
                f"{self.node_grad:.4g} × {self.local:.4g} = {self.answer:.4g}")

    def nudge(self) -> str:
        """The hint for a first wrong answer: what to use, never the number."""
        n, p = self.names
        if self.kind == "grad":
            return (f"by the chain rule, {p}.grad += {n}.grad × ∂{n}/∂{p}, so multiply the "
                    f"upstream grad, {n}.grad, by the local derivative ∂{n}/∂{p} and add what "
                    f"{p}.grad held before this step")
        return OPS[self.op].teach.rule(self.op, self.position, n, p, self.hint)

    def mistakes(self) -> list[Mistake]:
        """The likely wrong answers, each named, the first of equal values kept: the one place
        that knows them (``check`` and the stepper page both use it)."""
        n, p = self.names
        wrong_locals = _wrong_locals(self)
        if self.kind == "local":
            found = [Mistake(value, name, words) for value, name, words in wrong_locals]
        else:
            found = [Mistake(self.before + self.node_grad * value, name, words)
                     for value, name, words in wrong_locals]
            contribution = self.node_grad * self.local
            if self.before != 0:
                found.append(Mistake(contribution, "assign", (
                    f"that is this step's contribution alone, as if {p}.grad = …; {p} is used "
                    f"more than once and its grad adds up (+=): add what {p}.grad held")))
            upstream = (f"that is ∂{n}/∂{p} alone: the upstream grad is left out; {p}.grad gets "
                        f"{n}.grad × ∂{n}/∂{p}")
            found += [Mistake(self.local, "upstream", upstream),
                      Mistake(self.before + self.local, "upstream", upstream),
                      Mistake(self.before, "early", (
                          f"that is {p}.grad before this step: read it after the step has added "
                          f"{n}.grad × ∂{n}/∂{p}")),
                      Mistake(self.node_grad, "local", (
                          f"that is {n}.grad alone: multiply it by the local derivative "
                          f"∂{n}/∂{p}"))]
        kept: list[Mistake] = []
        for mistake in found:
            if not _close(mistake.value, self.answer) and not any(
                    _close(mistake.value, k.value) for k in kept):
                kept.append(mistake)
        return kept


def _wrong_locals(q: Question) -> list[tuple[float, str, str]]:
    """Wrong local derivatives a learner is likely to use, with the op table's words for them
    (its row's ``teach``): the derivative written with the input for the output (tanh, σ), and
    the sign flipped."""
    n, p = q.names
    teach = OPS[q.op].teach
    found = []
    if teach.with_input is not None:
        found.append((teach.with_input(q.x), "input",
                      teach.with_input_words.format(n=n, p=p)))
    if q.local:
        found.append((-q.local, "sign", teach.sign(q.position, n, p)))
    return found


def questions(root: Node) -> list[Question]:
    """Every question of ``root``'s backward pass, in order (leaf grads start from 0)."""
    work, twin = copy_graph(root)
    for node in twin.values():
        if not node.parents:
            node.grad = 0.0
    return step_questions(backward_steps(work))


def step_questions(steps: Iterable[Step]) -> list[Question]:
    """The questions of these backward steps, in their order, each node named as the step
    names it (the stepper page asks about the very steps it shows)."""
    found = []
    for step in steps:
        names, node = step.names, step.node
        row, words = OPS[node.op], formula_names(node, names)
        n = names(node)
        about = f"{n} = {formula(node, names)} = {node.data + 0.0:.4g}"  # (no -0: the step's)
        for i, (parent, local, after) in enumerate(
                zip(node.parents, step.local_grads, step.parent_grads, strict=True)):
            if parent.op == "const":  # a constant needs no grad
                continue
            p = names(parent)
            before = after - step.grad * local
            both = (step.grad, local, before, (n, p), node.op, i, parent.data, about)
            found.append(Question(step.index, "local", f"∂{n}/∂{p} = ?", row.write_grad(i, words),
                                  local, *both))
            found.append(Question(step.index, "grad", f"{p}.grad = ?",
                                  f"it was {before:.4g}; {n}.grad = {step.grad:.4g}", after,
                                  *both))
    return found


def parse(text: str) -> float:
    """A number or a fraction, as a learner writes it: ``0.75``, ``-3/4``, ``1e-3``."""
    fraction = _FRACTION.match(text)
    if fraction:
        top, bottom = (float(x) for x in fraction.groups())
        if bottom == 0:
            raise ValueError(f"{text!r} divides by 0")
        return top / bottom
    try:
        return float(text.strip().replace("−", "-"))
    except ValueError:
        raise ValueError(f"{text!r} is not a number: write one like 0.75 or -3/4") from None


def _close(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=RTOL, abs_tol=1e-9)


def mistake_of(question: Question, value: float) -> Mistake | None:
    """The known mistake ``value`` is, if any."""
    return next((s for s in question.mistakes() if _close(value, s.value)), None)


def check(question: Question, text: str, first: bool = True) -> tuple[bool, str]:
    """(right?, what to say) for the answer ``text``: on a ``first`` wrong try the mistake's
    name or a hint, never the number; on the second the answer, worked out."""
    try:
        value = parse(text)
    except ValueError as e:
        return False, str(e)
    if _close(value, question.answer):
        return True, f"{text.strip()}: right."
    mistake = mistake_of(question, value)
    if first:
        words = mistake.words if mistake else question.nudge()
        return False, f"{text.strip()}: not quite: {words}."
    return False, (f"{text.strip()}: not quite{': ' + mistake.words if mistake else ''}. "
                   f"The answer: {question.explain()}.")

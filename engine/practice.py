"""Practice mode: the backward pass as questions, answered before each number is revealed.

For every step of the backward pass, in order, and every input that needs a grad, two
questions: the local derivative ∂node/∂input, then that input's grad after the step,
input.grad + node.grad × ∂node/∂input. An answer is a number or a fraction (``-3/4``),
right within a relative tolerance; a wrong one is told which factor of the chain rule is off.
The questions are computed on a copy of the graph: nothing of the user's graph changes.

    >>> from engine import Value, practice
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> d = a * b; d.label = "d"
    >>> session = practice(d, answers=["-3", "-3", "2", "2"])
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

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from engine.autodiff import backward_steps, copy_graph, topological_order
from engine.node import Node
from engine.ops import OPS
from engine.text import NodeNames, formula, written

RTOL = 1e-3  # an answer worked out by hand, to three or four digits, is right
_FRACTION = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?)\s*/\s*([+-]?\d+(?:\.\d*)?)\s*$")


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

    def explain(self) -> str:
        """The right answer, worked out."""
        n, p = self.names
        if self.kind == "local":
            return f"{self.prompt[:-4]} = {self.hint} = {self.answer:.4g}"
        return (f"{p}.grad = {self.before:.4g} + {n}.grad × ∂{n}/∂{p} = {self.before:.4g} + "
                f"{self.node_grad:.4g} × {self.local:.4g} = {self.answer:.4g}")

    def slips(self) -> list[tuple[float, str]]:
        """The likely wrong answers, each with what to say, most likely first: the one place
        that knows them (``check`` and the stepper page both use it)."""
        n, p = self.names
        if self.kind == "local":
            return [(-self.answer, f"the sign is off: {self.explain()}")] if self.answer else []
        contribution = self.node_grad * self.local
        found = []
        if self.before != 0:
            found.append((contribution, f"that is this step's contribution; {p}.grad already "
                                        f"held {self.before:.4g}, and grads add up"))
        found.append((self.local, f"that is ∂{n}/∂{p} alone; {p}.grad needs {n}.grad × that: "
                                  f"{self.node_grad:.4g} × {self.local:.4g} = "
                                  f"{contribution:.4g}"))
        found.append((self.node_grad, f"that is {n}.grad alone; multiply it by ∂{n}/∂{p} = "
                                      f"{self.local:.4g}"))
        return found

    def otherwise(self) -> str:
        """What to say to a wrong answer that is none of the slips."""
        return self.explain() if self.kind == "local" else "the chain rule: " + self.explain()


def questions(root: Node) -> list[Question]:
    """Every question of ``root``'s backward pass, in order (leaf grads start from 0)."""
    work, twin = copy_graph(root)
    for node in twin.values():
        if not node.parents:
            node.grad = 0.0
    found = []
    for step in backward_steps(work):
        names, node = step.names, step.node
        row, words = OPS[node.op], written(node, names)
        n = names(node)
        for i, (parent, local, after) in enumerate(
                zip(node.parents, step.local_grads, step.parent_grads, strict=True)):
            if parent.op == "const":  # a constant needs no grad
                continue
            p = names(parent)
            before = after - step.grad * local
            found.append(Question(step.index, "local", f"∂{n}/∂{p} = ?", row.write_grad(i, words),
                                  local, step.grad, local, before, (n, p)))
            found.append(Question(step.index, "grad", f"{p}.grad = ?",
                                  f"it was {before:.4g}; {n}.grad = {step.grad:.4g}", after,
                                  step.grad, local, before, (n, p)))
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


def check(question: Question, text: str) -> tuple[bool, str]:
    """(right?, what to say) for the answer ``text``."""
    try:
        value = parse(text)
    except ValueError as e:
        return False, str(e)
    if _close(value, question.answer):
        return True, f"{text.strip()}: right."
    why = next((words for slip, words in question.slips() if _close(value, slip)),
               question.otherwise())
    return False, f"{text.strip()}: not quite, {why}."


@dataclass
class Session:
    """What a practice run did: how many questions, how many right first time."""

    asked: int = 0
    right: int = 0

    def __repr__(self) -> str:
        return f"{self.right} of {self.asked} right."


def practice(root: Node, answers: Iterable[str] | None = None,
             ask: Callable[[str], str] | None = None,
             say: Callable[[str], None] = print) -> Session:
    """Ask every question of ``root``'s backward pass in order (in a REPL or a notebook),
    checking each answer and revealing the right one when it is wrong. ``answers``: give
    them in advance instead (for a script, or a test); ``ask`` reads an answer (default:
    ``input``). An empty answer, or the end of the input, ends the session."""
    ask = ask or input  # looked up now, so that a replaced input() is the one used
    given = iter(answers) if answers is not None else None
    session = Session()
    for question in questions(root):
        prompt = f"{question.prompt}   ({'the rule: ' if question.kind == 'local' else ''}" \
                 f"{question.hint})"
        if given is None:
            try:
                text = ask(prompt + " ")
            except EOFError:  # the input ended (Ctrl-D, or a file piped in): as an empty answer
                say("")
                text = ""
        else:
            text = next(given, "")
            say(prompt)
        if not text.strip():
            say("(stopped)")
            break
        ok, words = check(question, text)
        session.asked += 1
        session.right += ok
        say("  " + words)
    say(repr(session))
    return session


def exercises(root: Node, title: str = "Backpropagation, by hand") -> str:
    """The questions of ``root``'s backward pass as a Markdown sheet for a class, the answers
    worked out at the end."""
    qs = questions(root)
    order = topological_order(root)
    names = NodeNames(order)
    forward = [f"- {names(n)} = {formula(n, names) + ' = ' if n.parents else ''}{n.data:.4g}"
               for n in order if n.op != "const"]
    lines = [f"# {title}", "", "The forward pass:", "", *forward, "",
             f"Work backward from {names(root)} (its grad is 1), one node at a time. For each "
             "step give the local derivative, then the input's new grad.", ""]
    lines += [f"{k}. {q.prompt}" for k, q in enumerate(qs, start=1)]
    lines += ["", "## Answers", ""]
    lines += [f"{k}. {q.explain()}" for k, q in enumerate(qs, start=1)]
    return "\n".join(lines) + "\n"

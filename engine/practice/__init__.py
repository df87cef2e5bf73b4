"""Practice mode: the backward pass as questions, answered before each number is revealed.

For every step of the backward pass, in order, and every input that needs a grad, two
questions: the local derivative ∂node/∂input, then that input's grad after the step,
input.grad + node.grad × ∂node/∂input. An answer is a number or a fraction (``-3/4``),
right within a relative tolerance. A first wrong answer gets a hint that names what to use
(which rule, which factor, which grad), never the number, and a known slip (the upstream
grad forgotten, ``=`` for ``+=``, a sign, tanh's derivative written with its input) is named;
the answer comes after a second wrong try, or on request (``?``). A question missed is asked
again a few questions later, and the end says which kinds of step went wrong. The questions
are computed on a copy of the graph: nothing of the user's graph changes.

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

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from engine.autodiff import Step, backward_steps, copy_graph, topological_order
from engine.node import Node
from engine.ops import OPS
from engine.text import NodeNames, formula, written

RTOL = 1e-3  # an answer worked out by hand, to three or four digits, is right
REASK_AFTER = 3  # a missed question comes back after this many other questions
SHOW = ("?", "show", "show me")  # what a learner types at the command line to see the answer
_FRACTION = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?)\s*/\s*([+-]?\d+(?:\.\d*)?)\s*$")


class Slip(NamedTuple):
    """A likely wrong answer: its ``value``, the slip's ``name`` and what to say (no number)."""

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

    def slips(self) -> list[Slip]:
        """The likely wrong answers, each named, the first of equal values kept: the one place
        that knows them (``check`` and the stepper page both use it)."""
        n, p = self.names
        wrong_locals = _wrong_locals(self)
        if self.kind == "local":
            found = [Slip(value, name, words) for value, name, words in wrong_locals]
        else:
            found = [Slip(self.before + self.node_grad * value, name, words)
                     for value, name, words in wrong_locals]
            contribution = self.node_grad * self.local
            if self.before != 0:
                found.append(Slip(contribution, "assign", (
                    f"that is this step's contribution alone, as if {p}.grad = …; {p} is used "
                    f"more than once and its grad adds up (+=): add what {p}.grad held")))
            upstream = (f"that is ∂{n}/∂{p} alone: the upstream grad is left out; {p}.grad gets "
                        f"{n}.grad × ∂{n}/∂{p}")
            found += [Slip(self.local, "upstream", upstream),
                      Slip(self.before + self.local, "upstream", upstream),
                      Slip(self.before, "early", (
                          f"that is {p}.grad before this step: read it after the step has added "
                          f"{n}.grad × ∂{n}/∂{p}")),
                      Slip(self.node_grad, "local", (
                          f"that is {n}.grad alone: multiply it by the local derivative "
                          f"∂{n}/∂{p}"))]
        kept: list[Slip] = []
        for slip in found:
            if not _close(slip.value, self.answer) and not any(
                    _close(slip.value, k.value) for k in kept):
                kept.append(slip)
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
        row, words = OPS[node.op], written(node, names)
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


def slip_of(question: Question, value: float) -> Slip | None:
    """The known slip ``value`` is, if any."""
    return next((s for s in question.slips() if _close(value, s.value)), None)


def check(question: Question, text: str, first: bool = True) -> tuple[bool, str]:
    """(right?, what to say) for the answer ``text``: on a ``first`` wrong try the slip's
    name or a hint, never the number; on the second the answer, worked out."""
    try:
        value = parse(text)
    except ValueError as e:
        return False, str(e)
    if _close(value, question.answer):
        return True, f"{text.strip()}: right."
    slip = slip_of(question, value)
    if first:
        return False, f"{text.strip()}: not quite: {slip.words if slip else question.nudge()}."
    return False, (f"{text.strip()}: not quite{': ' + slip.words if slip else ''}. "
                   f"The answer: {question.explain()}.")


@dataclass
class Session:
    """What a practice run did: how many questions, how many right first time, and for each
    kind of step (``the local derivative of tanh``) how many were wrong of how many asked."""

    asked: int = 0
    right: int = 0
    topics: dict[str, list[int]] = field(default_factory=dict)  # topic: [wrong, asked]
    again: list[int] = field(default_factory=lambda: [0, 0])  # asked again: [right, asked]

    def record(self, question: Question, ok: bool, again: bool) -> None:
        """Count one question's outcome (a re-asked one apart: it is not a first try)."""
        if again:
            self.again[0] += ok
            self.again[1] += 1
            return
        self.asked += 1
        self.right += ok
        tally = self.topics.setdefault(question.topic, [0, 0])
        tally[0] += not ok
        tally[1] += 1

    def summary(self) -> list[str]:
        """The lines said at the end: the score, then what went wrong, by kind of step."""
        lines = [repr(self)]
        wrong = [f"{topic}: {w} of {n} wrong" for topic, (w, n) in self.topics.items() if w]
        if wrong:
            lines.append("Went wrong: " + "; ".join(wrong) + ".")
        if self.again[1]:
            lines.append(f"Asked again: {self.again[0]} of {self.again[1]} right.")
        return lines

    def __repr__(self) -> str:
        return f"{self.right} of {self.asked} right."


def _order(qs: list[Question], missed: list[tuple[int, Question]], done: list[int]
           ) -> Iterator[tuple[Question, bool]]:
    """The questions in order, each one ``missed`` coming back once ``REASK_AFTER`` others
    have been asked (or at the end): (question, asked again?)."""
    for question in qs:
        while missed and missed[0][0] <= done[0]:
            yield missed.pop(0)[1], True
        yield question, False
    while missed:
        yield missed.pop(0)[1], True


def practice(root: Node, answers: Iterable[str] | None = None,
             ask: Callable[[str], str] | None = None,
             say: Callable[[str], None] = print) -> Session:
    """Ask every question of ``root``'s backward pass in order (in a REPL or a notebook), two
    tries each: a wrong first answer gets a hint, the second the answer (``?``, ``show`` or
    ``show me`` asks for it at once); a missed question is asked again later. Before a step's
    first question, what its node is (``out = tanh(v4) = 0.4621``). ``answers``: give them in
    advance instead (for a script, or a test); ``ask`` reads an answer (default: ``input``).
    An empty answer, or the end of the input, ends the session with its summary."""
    ask = ask or input  # looked up now, so that a replaced input() is the one used
    given = iter(answers) if answers is not None else None

    def read(prompt: str) -> str:
        if given is not None:
            say(prompt)
            return next(given, "")
        try:
            return ask(prompt + " ")
        except EOFError:  # the input ended (Ctrl-D, or a file piped in): as an empty answer
            say("")
            return ""

    session, missed, done, told = Session(), [], [0], set()
    for question, again in _order(questions(root), missed, done):
        if not again and question.step not in told:  # first, what the step's node is
            told.add(question.step)
            say(question.about)
        ok = _ask(question, again, read, say)
        if ok is None:
            say("(stopped)")
            break
        session.record(question, ok, again)
        done[0] += 1
        if not ok and not again:
            missed.append((done[0] + REASK_AFTER, question))
    for line in session.summary():
        say(line)
    return session


def _ask(question: Question, again: bool, read: Callable[[str], str],
         say: Callable[[str], None]) -> bool | None:
    """One question, two tries: right at the first? None when the learner stopped."""
    hint = ("the rule: " if question.kind == "local" else "") + question.hint
    prompt = f"{'again: ' if again else ''}{question.prompt}   ({hint})"
    tries = 0
    while True:
        text = read(prompt)
        if not text.strip():
            return None
        if text.strip().lower() in SHOW:
            say(f"  the answer: {question.explain()}.")
            return False
        try:
            parse(text)
        except ValueError as e:  # not a try: say what to write, and ask again
            say(f"  {e}")
            continue
        ok, words = check(question, text, first=tries == 0)
        tries += 1
        if ok or tries == 2:
            say("  " + words)
            return ok and tries == 1
        say(f"  {words} Try again (or ? for the answer).")
        prompt = "  your second try:"


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

"""A practice session: the questions of a backward pass asked in order at the command line
(or from answers given in advance), two tries each, a missed one asked again later, and a
summary by kind of step; and the same questions as a Markdown sheet for a class."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from engine.autodiff import topological_order
from engine.node import Node
from engine.practice.question import Question, check, parse, questions
from engine.text import NodeNames, formula

REASK_AFTER = 3  # a missed question comes back after this many other questions
SHOW = ("?", "show", "show me")  # what a learner types at the command line to see the answer


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


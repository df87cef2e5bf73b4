"""Practice mode: the backward pass as questions, with answers checked and mistakes named."""

import subprocess
import sys

import pytest

import engine
from engine import Value, topological_order
from engine.practice import check, parse, questions
from tests.conftest import labelled_example


def test_every_local_derivative_and_grad_is_asked_in_backward_order():
    o, _ = labelled_example()
    qs = questions(o)
    assert [q.prompt for q in qs] == [
        "∂o/∂e = ?", "e.grad = ?", "∂e/∂d = ?", "d.grad = ?", "∂e/∂c = ?", "c.grad = ?",
        "∂d/∂a = ?", "a.grad = ?", "∂d/∂b = ?", "b.grad = ?"]
    steps = list(engine.backward_steps(labelled_example()[0]))
    assert qs[0].answer == steps[0].local_grads[0] and qs[-1].answer == steps[2].parent_grads[1]
    assert qs[0].hint == "1 − o²"


def test_answers_may_be_fractions_and_are_checked_to_a_tolerance():
    assert parse("-3/4") == -0.75 and parse(" 0.5 ") == 0.5 and parse("−2") == -2.0
    with pytest.raises(ValueError, match="not a number"):
        parse("three")
    with pytest.raises(ValueError, match="divides by 0"):
        parse("1/0")
    x = Value(4.0, label="x")
    y = x ** 0.5
    y.label = "y"
    local = questions(y)[0]  # ∂y/∂x = 0.5·x^(−0.5) = 1/4
    assert check(local, "1/4")[0] and check(local, "0.2501")[0] and not check(local, "0.26")[0]


def named(question, answer):
    """What is said to a first wrong ``answer``, checked to give no number of the answer."""
    ok, words = check(question, str(answer))
    assert not ok and f"{question.answer:.4g}" not in words.split(":", 1)[1], words
    return words


def graph(build):
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    out = build(a, b)
    out.label = "o"
    return {q.prompt: q for q in questions(out)}


def test_a_first_wrong_answer_gets_a_hint_naming_what_to_use_not_the_number():
    o, _ = labelled_example()
    qs = {q.prompt: q for q in questions(o)}
    words = named(qs["∂d/∂a = ?"], 7)  # no slip: the rule and the factor
    assert "for a product, ∂d/∂a is the other factor, b; use its value" in words
    words = named(qs["a.grad = ?"], 7)
    assert "multiply the upstream grad, d.grad, by the local derivative ∂d/∂a" in words
    assert "tanh's derivative is written with its output, 1 − o²" in named(qs["∂o/∂e = ?"], 7)
    ok, words = check(qs["a.grad = ?"], "7", first=False)  # the second try: the answer
    assert not ok and "The answer: a.grad = 0 + d.grad × ∂d/∂a" in words and "-0.004023" in words


def test_each_known_slip_is_named_in_its_own_words():
    o, _ = labelled_example()
    qs = {q.prompt: q for q in questions(o)}
    a_grad = qs["a.grad = ?"]
    assert "∂d/∂a alone: the upstream grad is left out" in named(a_grad, -3)  # upstream
    assert "that is d.grad alone: multiply it by" in named(a_grad, a_grad.node_grad)
    a = Value(3.0, label="a")
    y = a * a  # a used twice: its second step adds to the first
    y.label = "y"
    again = [q for q in questions(y) if q.kind == "grad"][1]
    assert "this step's contribution alone, as if a.grad = …" in named(again, 3)  # = for +=
    assert check(again, "6")[0]
    early = [q for q in questions(y) if q.kind == "grad"][0]
    assert "that is a.grad before this step" in named(early, 0)  # read before its step
    sub = graph(lambda a, b: a - b)
    assert "the sign of a subtraction" in named(sub["∂o/∂b = ?"], 1)
    assert "the sign of a subtraction" in named(sub["b.grad = ?"], 1)
    assert "a is the one subtracted from, so ∂o/∂a is positive" in named(sub["∂o/∂a = ?"], -1)
    div = graph(lambda a, b: a / b)
    assert "the sign of a division" in named(div["∂o/∂b = ?"], 2 / 9)
    assert "the sign of a division" in named(div["∂o/∂a = ?"], 1 / 3)
    assert "the sign of a negation" in named(graph(lambda a, b: -a)["∂o/∂a = ?"], 1)
    tanh = graph(lambda a, b: (a * 0.3).tanh())
    assert "that is 1 − v2², with tanh's input" in named(tanh["∂o/∂v2 = ?"], 1 - 0.6 ** 2)
    sigmoid = graph(lambda a, b: (a * 0.3).sigmoid())
    assert "that is v2·(1 − v2), with σ's input" in named(sigmoid["∂o/∂v2 = ?"], 0.6 * 0.4)
    assert "with σ's input" in named(sigmoid["v2.grad = ?"], 0.6 * 0.4)


def test_two_tries_then_the_answer_and_a_missed_question_is_asked_again():
    o, _ = labelled_example()
    qs = questions(o)
    said = []
    right = [f"{q.answer:.6g}" for q in qs]
    # q0 wrong twice, q1 right, q2 right at the second try, q3 shown on request ("?"), the
    # rest right; each missed one comes back once three others have been asked.
    answers = ["0.5", "0.6", right[1], "7", right[2], "?", right[0], right[4], right[2],
               right[3], *right[5:]]
    session = engine.practice(o, answers=answers, say=said.append)
    text = "\n".join(said)
    first = said.index(qs[0].prompt + "   (the rule: 1 − o²)")
    assert "Try again (or ? for the answer)." in said[first + 1]  # the hint, then a try
    assert "1 − o²" in said[first + 1] and f"{qs[0].answer:.4g}" not in said[first + 1]
    assert "The answer: ∂o/∂e = 1 − o² = " in said[first + 3]
    assert f"  the answer: {qs[3].explain()}." in said
    asked = [line for line in said if line.endswith(")") and "= ?" in line]
    assert [line.split("   ")[0] for line in asked] == [
        *(q.prompt for q in qs[:4]), "again: " + qs[0].prompt, qs[4].prompt,
        "again: " + qs[2].prompt, "again: " + qs[3].prompt, *(q.prompt for q in qs[5:])]
    assert (session.asked, session.right) == (10, 7) and session.again == [3, 3]
    assert said[-3:] == [
        "7 of 10 right.", "Went wrong: the local derivative of tanh: 1 of 1 wrong; the local "
        "derivative of a sum: 1 of 2 wrong; the grad passed back through a sum: 1 of 2 wrong.",
        "Asked again: 3 of 3 right."], text


def test_a_session_keeps_score_and_changes_nothing():
    o, leaves = labelled_example()
    o.backward()
    before = [(n.data, n.grad) for n in topological_order(o)]
    said = []
    session = engine.practice(o, answers=["0.001341", "1", "2", ""], say=said.append)
    assert (session.asked, session.right) == (2, 1) and "(stopped)" in said
    assert [(n.data, n.grad) for n in topological_order(o)] == before


def test_a_teacher_exports_the_exercises_with_answers():
    o, _ = labelled_example()
    sheet = engine.exercises(o, title="tanh(a·b + c)")
    assert sheet.startswith("# tanh(a·b + c)\n") and "1. ∂o/∂e = ?" in sheet
    answers = sheet.split("## Answers")[1]
    assert "8. a.grad = 0 + d.grad × ∂d/∂a = 0 + 0.001341 × -3 = -0.004023" in answers


def test_the_command_line_writes_a_sheet_and_practises(tmp_path, capsys, monkeypatch):
    from engine.viz import cli

    sheet = tmp_path / "sheet.md"
    assert cli.main(["tanh(a*b)", "a=1", "b=2", "--exercises", str(sheet)]) == 0
    text = sheet.read_text()
    assert "- v2 = a × b = 2" in text and "3. ∂v2/∂a = ?" in text and "3. ∂v2/∂a = b = 2" in text
    answers = iter(["0.0707", "1", "0.5", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert cli.main(["tanh(a*b)", "a=1", "b=2", "--practice"]) == 0
    out = capsys.readouterr().out
    assert "that is out.grad alone" in out and "1 of 2 right." in out
    assert "Went wrong: the grad passed back through tanh: 1 of 1 wrong." in out


def test_the_end_of_the_input_gives_the_summary_and_exit_0():
    # Two tries at the command line, then the input ends in the middle of a question.
    done = subprocess.run([sys.executable, "-m", "engine.viz", "tanh(a*b)", "a=1", "b=2",
                           "--practice"], input="1\n0.5\n0.0707\n", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "1: not quite: tanh's derivative is written with its output" in done.stdout
    assert "0.5: not quite. The answer: ∂out/∂v2 = 1 − out² = 0.07065." in done.stdout
    assert "(stopped)\n1 of 2 right.\nWent wrong: the local derivative of tanh: 1 of 1 wrong."\
        in done.stdout


def page_data(root, **options):
    """The stepper page's data (its steps and quiz), as the page reads it."""
    import json
    import re

    from engine.viz.html import stepper_page

    page = stepper_page(root, **options)
    found = re.search(r'<script id="data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def test_the_page_asks_about_the_node_of_the_step_on_screen_in_a_collapsed_network():
    """The page's quiz was the engine's pass (its order, its v-names) while its steps go layer by
    layer with the picture's names: step 3, 'v34 = output 1 − -1', was asked ∂v34/∂v32."""
    from engine.practice import REASK_AFTER
    from nn import MLP

    m = MLP(2, [2, 2], rng=0)
    outs = m([Value(0.5, label="x0"), Value(-1.0, label="x1")])
    loss = sum(((o - t) ** 2 for o, t in zip(outs, [1, -1], strict=True)), Value(0.0))
    data = page_data(loss, collapse=True)
    backward = [text for kind, text, *_ in data["steps"] if kind == "b"]
    assert len(data["quiz"]) > 10 and data["reask"] == REASK_AFTER
    for k, text in enumerate(backward, start=1):
        node, rest = text.split(": ", 1)[1].split(" = ", 1)
        for prompt, *_, about in data["quiz"].get(str(k), []):
            assert text.split(": ", 1)[1].startswith(about), (text, about)
            if prompt.startswith("∂"):
                assert prompt.startswith(f"∂{node}/∂"), (text, prompt)


def test_hints_read_as_one_sentence_and_topics_name_the_op_in_words():
    o, _ = labelled_example()
    qs = {q.prompt: q for q in questions(o)}
    words = check(qs["∂e/∂c = ?"], "7")[1]  # a sum
    assert words == ("7: not quite: a sum passes its grad on as it is, so ∂e/∂c is how much e "
                     "moves when c moves by 1.")
    words = check(qs["a.grad = ?"], "7")[1]
    assert words.count(":") == 2 and words.startswith("7: not quite: by the chain rule, ")
    assert qs["∂d/∂a = ?"].topic == "the local derivative of a product"
    assert qs["c.grad = ?"].topic == "the grad passed back through a sum"
    x, w = Value(2.0, label="x"), Value(0.5, label="w")
    z = engine.weighted_sum([w], [x], fused=True)
    assert questions(z)[0].topic == "the local derivative of a neuron's weighted sum"
    assert questions(x ** 2)[0].topic == "the local derivative of a power"
    assert questions((x * 1).sigmoid())[0].topic == "the local derivative of σ"


def test_the_command_line_says_what_each_node_is_and_takes_show_me():
    done = subprocess.run([sys.executable, "-m", "engine.viz", "tanh(a*b)", "a=1", "b=2",
                           "--practice"], input="show me\n0.0707\n", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "not a number" not in done.stdout, done.stdout
    lines = done.stdout.splitlines()
    assert lines[0].startswith("out = tanh(v2) = 0.964")
    assert lines[1].startswith("∂out/∂v2 = ?")
    assert lines[1].endswith("  the answer: ∂out/∂v2 = 1 − out² = 0.07065.")  # (input()'s
    assert "v2 = a × b = 2" in lines  # prompt, echoed without a newline), then the next step


def test_a_worked_answer_whose_rule_is_a_number_says_it_once():
    """∂v/∂a of a sum is 1: the worked answer said "∂v4/∂v2 = 1 = 1"."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    local = [q for q in questions(a - b) if q.kind == "local"]
    assert [q.explain() for q in local] == ["∂v2/∂a = 1", "∂v2/∂b = -1"]

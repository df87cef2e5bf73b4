"""Practice mode: the backward pass as questions, with answers checked and mistakes named."""

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


def test_a_wrong_answer_is_told_which_factor_is_off():
    o, _ = labelled_example()
    qs = {q.prompt: q for q in questions(o)}
    a_grad, d_local = qs["a.grad = ?"], qs["∂d/∂a = ?"]
    ok, words = check(a_grad, "-3")  # ∂d/∂a alone, without d.grad
    assert not ok and "that is ∂d/∂a alone; a.grad needs d.grad × that" in words
    ok, words = check(a_grad, str(a_grad.node_grad))
    assert not ok and "that is d.grad alone; multiply it by ∂d/∂a = -3" in words
    ok, words = check(d_local, "3")
    assert not ok and "the sign is off" in words and "∂d/∂a = b = -3" in words
    # A leaf read twice: the second step adds to what the first gave.
    a = Value(3.0, label="a")
    y = a * a
    y.label = "y"
    second = [q for q in questions(y) if q.kind == "grad"][1]
    ok, words = check(second, "3")
    assert not ok and "a.grad already held 3, and grads add up" in words
    assert check(second, "6")[0]


def test_a_session_keeps_score_and_changes_nothing():
    o, leaves = labelled_example()
    o.backward()
    before = [(n.data, n.grad) for n in topological_order(o)]
    said = []
    session = engine.practice(o, answers=["0.001341", "1", ""], say=said.append)
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
    answers = iter(["0.0707", "1", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert cli.main(["tanh(a*b)", "a=1", "b=2", "--practice"]) == 0
    out = capsys.readouterr().out
    assert "that is out.grad alone" in out and "1 of 2 right." in out

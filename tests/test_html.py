"""The HTML stepper, tested in a real browser (headless Chromium driven by Playwright)."""

import time

import pytest

from engine import Value, backward_steps, topological_order
from engine.viz import export_html
from engine.viz.dot import number_text
from engine.viz.expr import build
from nn import MLP, cross_entropy
from tests.browser import axe_violations, needs_chromium

pytest.importorskip("playwright.sync_api")
pytestmark = [needs_chromium, pytest.mark.needs_dot]


def open_page(browser, path):
    page = browser.new_page(viewport={"width": 1300, "height": 800})
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    return page, requests, errors


def test_every_step_shows_the_engines_numbers(browser, tmp_path):
    text = "tanh(a*b + c) * a"
    out = build(text, {"a": 2, "b": -3, "c": 6.5})
    path = export_html(out, tmp_path / "stepper.html", title=text)
    # The engine's own pass on an identical graph, for comparison.
    twin = build(text, {"a": 2, "b": -3, "c": 6.5})
    order = topological_order(twin)
    expected_steps = [repr(s) for s in backward_steps(twin)]
    forward = [n for n in order if n.op != "const"]

    page, requests, errors = open_page(browser, path)
    assert page.evaluate("stepper.steps()") == len(forward) + len(expected_steps)
    ids = {n: f"#f-n{i}" for i, n in enumerate(order)}
    assert page.text_content(ids[forward[0]] + "-data") == "data"  # blank before stepping
    page.click("#next")  # leaf steps are skipped unless asked for: the first op is shown
    first = next(k for k, n in enumerate(forward, start=1) if n.parents)
    assert page.inner_text("#status") == f"forward {first} of {len(forward)}"
    assert page.text_content(ids[forward[0]] + "-data") == f"data {number_text(forward[0].data)}"
    page.click("#reset")
    page.check("#leaves")  # now every step, leaves too
    for k, node in enumerate(forward, start=1):
        page.click("#next")
        assert page.text_content(ids[node] + "-data") == f"data {number_text(node.data)}"
        assert page.inner_text("#explain").startswith(f"forward {k} of {len(forward)}")
    for k, expected in enumerate(expected_steps):
        page.keyboard.press("ArrowRight")
        assert page.inner_text("#explain") == expected
        assert page.inner_text("#status") == f"backward {k + 1} of {len(expected_steps)}"
    for node in order:  # at the end every grad is the engine's
        if node.op != "const":
            assert page.text_content(ids[node] + "-grad") == f"grad {number_text(node.grad)}"
    highlighted = page.evaluate("[...document.querySelectorAll('.current')].map(e => e.id)")
    assert highlighted  # the last step's node is highlighted
    page.keyboard.press("ArrowLeft")  # back one step restores what it replaced
    assert page.inner_text("#explain") == expected_steps[-2]
    page.keyboard.press("Home")
    assert page.text_content(ids[order[-1]] + "-grad") == "grad"
    assert requests == [path.as_uri()] and errors == []
    page.close()


def digit_loss():
    """The loss of MLP(64, [16, 16, 10]) reading the digits' image 3, its inputs labelled."""
    from demos.digits.data import load_digits

    model = MLP(64, [16, 16, 10], rng=0)
    inputs = load_digits().inputs[3]
    return cross_entropy(model([Value(float(v), label=f"x{i}") for i, v in enumerate(inputs)]),
                         3)


@pytest.mark.slow
def test_an_mlp_sized_graph_stays_responsive(browser, tmp_path):
    loss = digit_loss()
    path = export_html(loss, tmp_path / "mlp.html")
    page, requests, errors = open_page(browser, path)
    steps = page.evaluate("stepper.steps()")
    assert steps > 3000
    assert page.text_content("#f-inputs-grad") == "grad"  # nothing known before the pass
    started = time.perf_counter()
    page.evaluate("stepper.end()")
    assert time.perf_counter() - started < 10  # every step applied, the tab did not freeze
    assert page.evaluate("stepper.done()") == steps
    # The page computed on a copy; the same pass on the user's graph gives its numbers.
    assert all(node.grad == 0.0 for node in topological_order(loss))
    loss.backward()
    grads = [x.grad for x in topological_order(loss) if x.label.startswith("x")]
    low, high = number_text(min(grads)), number_text(max(grads))
    assert page.text_content("#f-inputs-grad") == f"grad {low} … {high}"
    # Collapsed: each neuron shows the engine's grad of its activation.
    from engine.viz import find_neurons

    for neuron in find_neurons(topological_order(loss)):
        assert page.text_content(f"#f-neuron{neuron.index}-grad") == \
            f"grad {number_text(neuron.out.grad)}"
    for node in topological_order(loss):  # the page's pass starts from zero leaf grads
        if not node.parents:
            node.grad = 0.0
    # The last step, layer by layer, is hidden layer 1's first product: its parts named
    # short under the line naming its neuron, its weight's grad the engine's (the engine's
    # own pass on the user's graph).
    last = page.inner_text("#explain")
    assert last.startswith("step 1539 of 1539: product 0 = w.0 × x0 = ")
    assert page.inner_text("#where").startswith("In hidden layer 1, neuron 0 "
                                                "(layers.0.neurons.0): ")
    steps = list(backward_steps(loss))
    weight = next(p for p in topological_order(loss) if p.label == "layers.0.neurons.0.w.0")
    line = next(k for k in last.splitlines() if "  w.0.grad += " in k)
    assert line.endswith(f"→ {weight.grad + 0.0:.4g}") and len(steps) == 1539
    page.screenshot(path=str(tmp_path / "shot.png"))
    assert (tmp_path / "shot.png").read_bytes().startswith(b"\x89PNG")
    assert requests == [path.as_uri()] and errors == []
    page.close()


def test_pages_and_frames_change_nothing_in_the_users_graph(tmp_path):
    # Between backward() and optimizer.step() the grads must stay as they are: the pictures
    # and pages run their own pass on a copy of the graph.
    from engine.viz import backward_frames, show

    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    out = (a * b + a).tanh() * 0.5
    out.backward()
    out.backward()  # leaf grads accumulated twice: a pass from zero would differ
    before = [(n.data, n.grad) for n in topological_order(out)]
    export_html(out, tmp_path / "page.html")
    backward_frames(out, tmp_path / "frames", format="dot")
    inline = show(out)._repr_html_()
    assert [(n.data, n.grad) for n in topological_order(out)] == before
    assert inline.startswith("<iframe srcdoc=") and "&lt;script" in inline


def test_cli_writes_the_page(tmp_path, capsys):
    from engine.viz import cli

    assert cli.main(["x*x + 1", "x=3", "--html", str(tmp_path / "p.html")]) == 0
    page = (tmp_path / "p.html").read_text()
    assert "<svg" in page and "stepper" in page and "src=" not in page
    assert "https://" not in page and "http://" not in page.replace(
        "http://www.w3.org", "")  # only XML namespace names, never a fetched address


def test_labels_cannot_break_the_page(browser, tmp_path):
    a = Value(2.0, label="<!--<script>")
    b = Value(3.0, label="data x")  # a label that looks like a field
    c = Value(1.0, label="@DATA@")
    out = (a * b + c).tanh()
    out.label = "grad y"
    path = export_html(out, tmp_path / "odd.html", title="@SVG@ </script>")
    page, requests, errors = open_page(browser, path)
    assert errors == [] and page.evaluate("typeof stepper") == "object"
    order = topological_order(out)
    ids = {n: f"#f-n{i}" for i, n in enumerate(order)}
    assert page.text_content(ids[b] + "-data") == "data"  # blank at the start, not "data x"
    page.evaluate("stepper.end()")
    assert page.text_content(ids[b] + "-data") == "data 3.0000"
    assert page.text_content(ids[out] + "-grad") == "grad 1.0000"
    labels = page.evaluate("[...document.querySelectorAll('text')].map(t => t.textContent)")
    assert {"<!--<script>", "data x", "@DATA@", "grad y"} <= set(labels)
    page.close()


def test_a_leaf_root_shows_its_grad(browser, tmp_path):
    path = export_html(Value(5.0, label="r"), tmp_path / "leaf.html")
    page, _, errors = open_page(browser, path)
    page.evaluate("stepper.end()")
    assert page.text_content("#f-n0-grad") == "grad 1.0000" and errors == []
    page.close()


def test_a_graph_through_log_0_makes_a_working_page(browser, tmp_path):
    """A quiz answer of -inf made the page's data NaN/Infinity, which JSON.parse refuses: the
    page was dead. Such questions are left out; the page's data is strict JSON."""
    a = Value(0.0, label="a")
    out = a.log() * Value(2.0, label="b")
    path = export_html(out, tmp_path / "log0.html")
    page, _, errors = open_page(browser, path)
    assert errors == [] and page.evaluate("typeof stepper") == "object"
    assert page.evaluate("Object.values(DATA.quiz).flat().every(q => isFinite(q[2]))")
    page.evaluate("stepper.end()")
    ids = {n: f"#f-n{i}" for i, n in enumerate(topological_order(out))}
    assert page.text_content(ids[out] + "-data") == "data -inf"
    page.close()


def test_the_inline_stepper_steps_inside_a_saved_page(browser, tmp_path):
    # What a notebook saves (or nbconvert writes) for engine.viz.show(out): the iframe alone
    # must step, with no kernel and no request.
    from engine.viz import show

    out = build("tanh(a*b + c)", {"a": 2, "b": -3, "c": 6.5})
    saved = tmp_path / "notebook.html"
    saved.write_text(f"<!DOCTYPE html><html><body><h1>a saved notebook</h1>"
                     f"{show(out, height=500)._repr_html_()}</body></html>", encoding="utf-8")
    page, requests, errors = open_page(browser, saved)
    frame = page.frame_locator("iframe")
    frame.locator("#next").click()  # the first step that is not a leaf
    assert frame.locator("#explain").inner_text().startswith("forward 3 of 6: v2 = a × b")
    frame.locator("#end").click()
    steps = list(backward_steps(build("tanh(a*b + c)", {"a": 2, "b": -3, "c": 6.5})))
    assert frame.locator("#explain").inner_text() == repr(steps[-1])
    assert requests == [saved.as_uri()] and errors == []
    page.close()


@pytest.mark.slow
def test_a_digit_networks_page_is_small_and_reaches_any_neuron_in_a_few_clicks(browser,
                                                                               tmp_path):
    loss = digit_loss()
    path = export_html(loss, tmp_path / "mlp.html")
    # 1.15 MB; 1.87 MB while the steps named each part of a neuron in full ("hidden layer 1,
    # neuron 0: its product with input 14 = layers.0.neurons.0.w.14 × x14"); 1.16 MB with
    # the short names inside a neuron ("product 14 = w.14 × x14") and the find index.
    assert path.stat().st_size < 1_500_000
    page, requests, errors = open_page(browser, path)
    started = time.perf_counter()
    page.reload()
    page.wait_for_load_state("load")
    assert time.perf_counter() - started < 1.0
    assert page.evaluate("stepper.steps()") == 4624
    # Outputs by class, in order; the loss's parts by name; no "-0" anywhere.
    texts = "[...document.querySelectorAll('text')].map(t => t.textContent)"
    labels = [t for t in page.evaluate(texts) if t.startswith("output ")]
    assert labels == [f"output '{k}'" for k in range(10)]  # the explorer's names
    svg = page.inner_html("#graph")
    assert all(f">{name}<" in svg for name in ("loss", "logsumexp", "zmax", "Σexp"))
    page.click("#end")
    assert not any(t in ("-0", "grad -0.0000") or t.endswith(" -0")
                   for t in page.evaluate(texts))
    # Any output neuron's backward step: the start of the backward pass, then a few jumps.
    page.click("#reset")
    page.click("#backward")
    assert page.inner_text("#status") == "backward 1 of 1539"
    clicks = 0
    while "(layers.2.neurons.3)" not in page.inner_text("#where") and clicks < 12:
        page.click("#next-neuron")
        clicks += 1
    assert clicks < 12 and page.inner_text("#status").startswith("backward ")
    current = page.evaluate("[...document.querySelectorAll('.current')].map(e => "
                            "e.getBoundingClientRect().top)")
    assert current and all(0 <= y <= 900 for y in current)  # scrolled into view
    assert page.locator(".changed").count() == 0 or page.locator(".current").count() > 0
    page.click("#next-layer")  # on to hidden layer 2: its first step, a neuron's relu
    assert "= relu(" in page.inner_text("#explain")
    assert set(requests) == {path.as_uri()} and errors == []  # (loaded twice: the reload)
    page.close()


def test_local_derivatives_appear_on_the_edges_at_their_step(browser, tmp_path):
    out = build("tanh(a*b + c) * a", {"a": 2, "b": -3, "c": 6.5})
    path = export_html(out, tmp_path / "edges.html")
    page, requests, errors = open_page(browser, path)
    labels = "[...document.querySelectorAll('[id^=\"f-e-\"]')].map(e => e.textContent)"
    assert set(page.evaluate(labels)) == {"∂"}  # nothing known before the backward pass
    page.click("#backward")  # the first backward step: the output's two input edges
    first = [t for t in page.evaluate(labels) if t != "∂"]
    step = next(iter(backward_steps(build("tanh(a*b + c) * a", {"a": 2, "b": -3, "c": 6.5}))))
    assert sorted(first) == sorted(f"∂={number_text(g)}" for g in step.local_grads)
    page.click("#end")
    shown = page.evaluate(labels)
    assert "∂" not in shown and len(shown) == 7  # ×, +, tanh, × : seven inputs in all
    assert requests == [path.as_uri()] and errors == []
    page.close()


PRACTICE = "tanh(a*b + c)", {"a": 2, "b": -3, "c": 6.5}


def practice_page(browser, tmp_path):
    """The practice page of tanh(a*b + c), at its first question; its questions, the engine's."""
    from engine.practice import questions

    path = export_html(build(*PRACTICE), tmp_path / "practice.html")
    page, requests, errors = open_page(browser, path)
    page.check("#practice")
    page.click("#backward")  # to the forward pass's end: the first backward step is asked
    return page, errors, questions(build(*PRACTICE))


def asked(page, question, again=False):
    """Wait until ``question`` is the one asked, stepping on (→) once a step is applied."""
    prefix = ("Again, from backward 1 of 3: " if again else "") + question.prompt
    shown = f"document.getElementById('question').textContent.startsWith({prefix!r})"
    closed = "document.getElementById('quiz').classList.contains('hidden')"
    page.wait_for_function(f"{closed} || {shown}", timeout=5000)
    if page.evaluate(closed):
        page.click("#next")
    page.wait_for_function(f"!{closed} && {shown}", timeout=5000)


def answer(page, text):
    page.fill("#answer", text)
    page.press("#answer", "Enter")
    return page.inner_text("#verdict")


def test_practice_on_the_page_hints_first_then_gives_the_answer(browser, tmp_path):
    page, errors, expected = practice_page(browser, tmp_path)
    assert page.is_visible("#quiz") and page.inner_text("#status") == "backward 1 of 3 (your turn)"
    assert page.inner_text("#question").startswith(expected[0].prompt)
    assert answer(page, f"{expected[0].answer:.6g}").endswith("right.")
    asked(page, expected[1])
    words = answer(page, "7")  # no slip: the chain rule, in words; no number
    assert words == "7: not quite: " + expected[1].nudge() + ". Try again, or press show me."
    assert f"{expected[1].answer:.4g}" not in words
    words = answer(page, "1")  # the second try, o.grad alone: the slip named, then the answer
    assert "that is out.grad alone: multiply it by the local derivative ∂out/∂v4" in words
    assert words.endswith(f"The answer: {expected[1].explain()}.")
    page.wait_for_timeout(1000)  # the worked answer stays to be read: no move on by itself
    assert page.evaluate("stepper.done()") == 6 and page.inner_text("#check") == "go on ▶"
    assert not page.is_visible("#reveal")
    page.press("#answer", "Enter")  # read: go on
    page.wait_for_function("document.getElementById('status').textContent === "
                           "'backward 1 of 3'", timeout=5000)
    assert page.evaluate("stepper.done()") == 6 + 1  # the first backward step applied
    asked(page, expected[2])
    page.click("#reveal")  # on request: the worked answer
    assert page.inner_text("#verdict") == expected[2].explain()
    assert errors == []
    page.close()


def test_a_slip_is_named_on_the_page(browser, tmp_path):
    page, errors, expected = practice_page(browser, tmp_path)
    assert expected[0].prompt == "∂out/∂v4 = ?"  # 1 − out², written with v4 = a·b + c = 0.5
    words = answer(page, f"{1 - 0.5 ** 2:.6g}")
    assert words == ("0.75: not quite: that is 1 − v4², with tanh's input; tanh's derivative "
                     "is written with its output, 1 − out². Try again, or press show me.")
    assert errors == []
    page.close()


def test_a_second_enter_or_show_me_never_skips_a_question(browser, tmp_path):
    page, errors, expected = practice_page(browser, tmp_path)
    page.fill("#answer", f"{expected[0].answer:.6g}")
    page.press("#answer", "Enter")
    page.press("#answer", "Enter")  # a second Enter on a right answer
    asked(page, expected[1])
    page.wait_for_timeout(800)  # both presses' moves on would have happened by now
    assert page.inner_text("#question").startswith(expected[1].prompt)
    assert page.evaluate("stepper.done()") == 6
    page.evaluate("document.getElementById('reveal').click(); "
                  "document.getElementById('reveal').click()")  # a double "show me"
    page.click("#check")  # "go on ▶"
    page.wait_for_function("document.getElementById('status').textContent === "
                           "'backward 1 of 3'", timeout=5000)
    page.wait_for_timeout(800)  # a second press's move on would have happened by now
    assert page.evaluate("stepper.done()") == 7 and not page.is_visible("#quiz")
    asked(page, expected[2])  # the next step's first question, none skipped
    page.click("#reveal")
    page.press("#answer", "Enter")
    page.press("#answer", "Enter")  # a double "go on": the second checks the next question
    asked(page, expected[3])
    assert page.inner_text("#check") == "check" and page.is_visible("#reveal")
    assert errors == []
    page.close()


def test_show_me_then_end_throws_nothing(browser, tmp_path):
    page, errors, _ = practice_page(browser, tmp_path)
    page.click("#reveal")
    page.keyboard.press("End")  # with the worked answer open
    page.wait_for_timeout(800)
    assert errors == [] and page.evaluate("stepper.done()") == 9
    assert not page.is_visible("#quiz")
    page.close()


def test_a_missed_question_comes_back_and_the_end_says_what_went_wrong(browser, tmp_path):
    page, errors, expected = practice_page(browser, tmp_path)
    page.click("#reveal")  # the first question missed
    page.click("#check")  # go on
    for q in expected[1:4]:
        asked(page, q)
        assert answer(page, f"{q.answer:.6g}").endswith("right.")
    asked(page, expected[0], again=True)  # after three others
    assert page.inner_text("#status") == "backward 2 of 3 (your turn)"
    assert answer(page, f"{expected[0].answer:.6g}").endswith("right.")
    for q in expected[4:]:
        asked(page, q)
        assert answer(page, f"{q.answer:.6g}").endswith("right.")
    page.wait_for_function("stepper.done() === 9", timeout=5000)
    assert page.inner_text("#practice-summary") == (
        "Practice: 9 of 10 right. Went wrong: the local derivative of tanh: 1 of 1 wrong. "
        "Asked again: 1 of 1 right.")
    assert errors == []
    page.close()


def field_texts(page):
    """Every text of the drawing, joined: what the learner can read in the picture."""
    return page.evaluate("[...document.querySelectorAll('#graph svg text')]"
                         ".map(t => t.textContent).join(' | ')")


def test_a_question_asked_again_shows_the_picture_before_its_step(browser, tmp_path):
    """Asked again after its step was applied, ∂out/∂v4 was on screen (its edge read ∂=0.7864,
    v4's grad 0.7864): the picture goes back to before that step while it is open."""
    page, errors, expected = practice_page(browser, tmp_path)
    assert page.inner_text("#explain") == ("Your turn, backward 1 of 3: out = tanh(v4) = 0.4621."
                                           " Work out each local derivative and grad.")
    page.click("#reveal")  # the first question missed
    page.click("#check")  # go on
    for q in expected[1:4]:
        asked(page, q)
        answer(page, f"{q.answer:.6g}")
    asked(page, expected[0], again=True)
    shown = number_text(expected[0].answer)
    assert shown == "0.7864" and shown not in field_texts(page), field_texts(page)
    assert page.evaluate("stepper.done()") == 6  # before backward 1
    assert page.inner_text("#explain").startswith("Asked again, from backward 1 of 3: out = ")
    assert answer(page, f"{expected[0].answer:.6g}").endswith("right.")
    asked(page, expected[4])  # back where the learner was: backward 2, applied up to it
    assert page.evaluate("stepper.done()") == 7 and shown in field_texts(page)
    assert errors == []
    page.close()


def test_stepping_back_and_on_asks_no_question_twice_and_end_sums_up(browser, tmp_path):
    """← then → with a question open asked the step's answered questions again and counted
    them again (13 of 13 right for 10 questions); End never showed the summary."""
    page, errors, expected = practice_page(browser, tmp_path)
    answer(page, f"{expected[0].answer:.6g}")
    asked(page, expected[1])
    page.click("#prev")
    page.click("#next")
    asked(page, expected[1])  # not the first again
    for q in expected[1:]:
        asked(page, q)
        assert answer(page, f"{q.answer:.6g}").endswith("right.")
    page.wait_for_function("stepper.done() === 9", timeout=5000)
    assert page.inner_text("#practice-summary") == "Practice: 10 of 10 right."
    page.close()
    page, errors, expected = practice_page(browser, tmp_path)
    answer(page, f"{expected[0].answer:.6g}")
    asked(page, expected[1])
    page.click("#end")
    assert page.evaluate("stepper.done()") == 9
    assert page.inner_text("#practice-summary") == "Practice: 1 of 1 right."
    assert errors == []
    page.close()


def test_a_last_backward_step_without_questions_ends_with_the_summary(browser, tmp_path):
    out = build("2*3 + tanh(a)", {"a": 1})  # the last step, v2 = 2 × 3, asks nothing
    page, _, errors = open_page(browser, export_html(out, tmp_path / "const.html"))
    page.check("#practice")
    page.click("#backward")
    from engine.practice import questions
    expected = questions(out)
    assert len(expected) == 6 and "v2" not in expected[-1].prompt  # v4 = tanh(a)'s last
    for q in expected:
        asked(page, q)
        assert answer(page, f"{q.answer:.6g}").endswith("right.")
    page.wait_for_function("document.getElementById('quiz').classList.contains('hidden') && "
                           "stepper.done() === 6", timeout=5000)
    page.click("#next")  # the last step
    assert page.evaluate("stepper.done()") == page.evaluate("stepper.steps()")
    assert page.inner_text("#practice-summary") == "Practice: 6 of 6 right."
    assert errors == []
    page.close()


def stepper_states(page):
    """The stepper's states worth checking: the start, mid-way, a practice question open, the
    end."""
    yield "start"
    page.evaluate("stepper.goTo(Math.floor(stepper.steps() / 2))")
    yield "mid-way"
    if page.is_visible("#practice"):
        page.check("#practice")
        page.click("#backward")
        page.fill("#answer", "3/4")
        page.click("#check")  # a wrong answer's verdict shown too
        yield "a practice question"
        page.uncheck("#practice")
    page.evaluate("stepper.end()")
    yield "the end"


@pytest.mark.parametrize("size", [(1280, 900), (390, 844)])
def test_axe_finds_nothing_on_the_stepper_of_an_expression(browser, tmp_path, size):
    path = export_html(build("tanh(a*b + c)", {"a": 2, "b": -3, "c": 6.5}),
                       tmp_path / "small.html", title="tanh(a*b + c)")
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(path.as_uri())
    for state in stepper_states(page):
        assert axe_violations(page) == [], state
    page.close()


@pytest.mark.slow
def test_axe_finds_nothing_on_the_stepper_of_an_mlp(browser, tmp_path):
    loss = digit_loss()
    page, _, errors = open_page(browser, export_html(loss, tmp_path / "mlp.html"))
    for state in stepper_states(page):
        assert axe_violations(page) == [], state
    assert errors == []
    page.close()


def test_arrow_keys_step_whatever_control_has_focus_except_a_text_field(browser, tmp_path):
    """→ did nothing while a checkbox had focus (after a click on "show the leaf steps")."""
    path = export_html(build("tanh(a*b + c)", {"a": 2, "b": -3, "c": 6.5}),
                       tmp_path / "keys.html")
    page, _, errors = open_page(browser, path)
    page.check("#leaves")  # the checkbox has focus now
    assert page.evaluate("document.activeElement.id") == "leaves"
    for key, done in [("ArrowRight", 1), ("ArrowRight", 2), ("ArrowLeft", 1), ("End", 6 + 3),
                      ("Home", 0)]:
        page.keyboard.press(key)
        assert page.evaluate("stepper.done()") == done, key
    page.keyboard.press(" ")  # space on a checkbox ticks it, as everywhere: it does not play
    assert not page.is_checked("#leaves") and page.inner_text("#play") == "▶ play"
    page.focus("#speed")  # in the speed menu, → steps too (↑ and ↓ choose a speed)
    page.keyboard.press("ArrowRight")
    assert page.evaluate("stepper.done()") == 3  # leaf steps are skipped again: the first op
    assert page.input_value("#speed") == "400"  # (the speed is as it was)
    page.focus("#next")
    page.keyboard.press(" ")  # space on a button presses that button
    assert page.evaluate("stepper.done()") == 5 and page.inner_text("#play") == "▶ play"
    assert errors == []
    page.close()


def test_keys_typed_into_the_answer_field_never_step(browser, tmp_path):
    path = export_html(build("tanh(a*b + c)", {"a": 2, "b": -3, "c": 6.5}),
                       tmp_path / "typing.html")
    page, _, errors = open_page(browser, path)
    page.check("#practice")
    page.click("#backward")  # a question: the answer field has focus
    assert page.evaluate("document.activeElement.id") == "answer"
    done = page.evaluate("stepper.done()")
    page.keyboard.type("-3/4")
    for key in ["ArrowLeft", "ArrowLeft", "Home", "ArrowRight", "End", " ", "Backspace"]:
        page.keyboard.press(key)
    page.keyboard.type("5")
    assert page.input_value("#answer") == "-3/45"  # the caret moved; the space was deleted
    assert page.evaluate("stepper.done()") == done and page.is_visible("#quiz")
    assert page.inner_text("#play") == "▶ play" and errors == []
    page.close()


def test_axe_finds_nothing_on_a_notebook_page_holding_the_stepper(browser, tmp_path):
    """The inline stepper's frame had no title (axe's frame-title): a screen reader entering it
    said only "frame"."""
    from engine.viz import show

    out = build("tanh(a*b + c)", {"a": 2, "b": -3, "c": 6.5})
    saved = tmp_path / "notebook.html"
    saved.write_text('<!DOCTYPE html><html lang="en"><head><title>a notebook</title></head>'
                     f'<body><main><h1>a saved notebook</h1>{show(out)._repr_html_()}</main>'
                     "</body></html>", encoding="utf-8")
    page, _, errors = open_page(browser, saved)
    assert axe_violations(page) == [] and errors == []
    assert page.get_attribute("iframe", "title") == "glassgrad: step through backprop"
    page.close()


def test_the_current_and_the_changed_nodes_differ_in_line_style_not_only_in_colour(browser,
                                                                                   tmp_path):
    """Orange "current" and green "changed" outlines look alike to a red-green colour-blind
    learner: the changed ones are dashed."""
    path = export_html(build("tanh(a*b + c)", {"a": 2, "b": -3, "c": 6.5}),
                       tmp_path / "styles.html")
    page, _, errors = open_page(browser, path)
    page.evaluate("stepper.end()")  # v2 = a × b is current, a and b changed
    dashes = ("[...document.querySelectorAll('.%s polygon, .%s ellipse')]"
              ".map(e => getComputedStyle(e).strokeDasharray)")
    current, changed = (page.evaluate(dashes % (c, c)) for c in ("current", "changed"))
    assert current and set(current) == {"none"}
    assert changed and "none" not in changed
    assert errors == []
    page.close()


@pytest.mark.slow
def test_a_neuron_has_the_explorers_name_in_the_steppers_drawing_and_step_text(browser, data,
                                                                              tmp_path):
    """One name per neuron (issue 22): the explorer's "hidden layer 2, neuron 5" and "output
    '3'" were "neuron 21" and "output 3" in the stepper; the engine's label comes second."""
    import json
    import re

    from demos.how_it_works import cli, explorer
    from demos.how_it_works.readings import backprop
    from tests.conftest import image

    model = MLP(64, [16, 16, 10], rng=0)
    x, pixels = image(data, 3)
    run = explorer.Run("untrained", 3, backprop(model, x, pixels, 3), "", ())
    shown = explorer.data([run])["passes"]["untrained/3"]["neurons"]  # [0] is the pixels
    path = tmp_path / "stepper.html"
    cli.write_stepper(model, x, 3, path)  # what `python -m demos.how_it_works --html` writes
    text = path.read_text(encoding="utf-8")
    page_data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)'
                                     r"</script>", text, re.S).group(1))
    by_label = {label: name for name, label, _ in page_data["neurons"]}
    page, _, errors = open_page(browser, path)
    drawn = set(page.evaluate("[...document.querySelectorAll('#graph text')]"
                              ".map(t => t.textContent)"))
    titles = set(page.evaluate("[...document.querySelectorAll('#graph g.node > title')]"
                               ".map(t => t.textContent.split('\\n')[0])"))  # a tooltip
    assert len(by_label) == 42
    for layer, row in enumerate(shown[1:]):
        for j, item in enumerate(row):
            label = f"layers.{layer}.neurons.{j}"
            assert by_label[label] == item["name"], label
            assert item["name"] in drawn and f"{item['name']} ({label})" in titles
    # (a tooltip's second line says what the steps inside the neuron call its parts)
    assert by_label["layers.1.neurons.5"] == "hidden layer 2, neuron 5"
    assert by_label["layers.2.neurons.3"] == "output '3'"
    # At a step inside a neuron, its name and label stand over the engine's step text.
    page.click("#backward")
    for _ in range(40):
        if "hidden layer 2, neuron 5 " in page.inner_text("#where"):
            break
        page.click("#next-neuron")
    assert page.inner_text("#where") == ("In hidden layer 2, neuron 5 (layers.1.neurons.5): z is "
                                         "its weighted sum, product k = w.k × input k "
                                         "(k = 0 … 15), b its bias")  # the step text's names
    current = page.evaluate("[...document.querySelectorAll('.current > title')]"
                            ".map(t => t.textContent)")
    assert current == ["hidden layer 2, neuron 5 (layers.1.neurons.5)\nz is its weighted "
                       "sum, product k = w.k × input k (k = 0 … 15), b its bias"]
    assert errors == []
    page.close()


def measure(page) -> dict:
    """What a reader sees of the stepper, in CSS px: its step text's size, the drawing's
    smallest text, its controls' smallest sides, and how far the page scrolls sideways."""
    return page.evaluate("""() => {
      const px = (e) => parseFloat(getComputedStyle(e).fontSize);
      const texts = [...document.querySelectorAll('#graph svg text')].map(
        (t) => parseFloat(t.getAttribute('font-size')) * t.getScreenCTM().a);
      const controls = [...document.querySelectorAll('button, select, input')]
        .filter((e) => e.offsetParent).map((e) => e.getBoundingClientRect());
      return {explain: px(document.getElementById('explain')),
              where: px(document.getElementById('where') || document.body),
              text: Math.min(...texts),
              width: Math.min(...controls.map((r) => r.width)),
              height: Math.min(...controls.map((r) => r.height)),
              sideways: document.documentElement.scrollWidth - innerWidth,
              drawing: document.querySelector('#graph svg').getBoundingClientRect().width};
    }""")


@pytest.mark.parametrize("mlp", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_a_projector_reads_the_step_text_the_graph_and_the_controls(browser, tmp_path, mlp):
    """At 1280x900 the step text is 16 px and the controls at least 28 px (13.6 px and 13 px
    checkboxes before); the graph's smallest text is 14 px (12 px: Graphviz's pt drawn as px),
    and at 200% zoom (640x450 at device scale 2) it is as many CSS px, twice the device px."""
    root = digit_loss() if mlp else build("tanh(a*b + c)", {"a": 2, "b": -3, "c": 6.5})
    path = export_html(root, tmp_path / "projector.html")
    sizes = {}
    for name, options in {"1280": {"viewport": {"width": 1280, "height": 900}},
                          "zoom": {"viewport": {"width": 640, "height": 450},
                                   "device_scale_factor": 2}}.items():
        page = browser.new_page(**options)
        page.goto(path.as_uri())
        page.evaluate("stepper.goTo(Math.floor(stepper.steps() * 0.8))")
        sizes[name] = measure(page)
        page.close()
    big = sizes["1280"]
    assert big["explain"] >= 16 and big["where"] >= 16
    assert big["width"] >= 28 and big["height"] >= 28
    assert big["text"] >= 14 - 0.01 and big["sideways"] == 0
    zoom = sizes["zoom"]  # CSS px at device scale 2: at least as many is twice as large
    assert zoom["text"] >= big["text"] - 0.01 and zoom["drawing"] >= big["drawing"] - 1
    assert zoom["sideways"] == 0


@pytest.mark.parametrize("mlp", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_a_phone_shows_the_stepper_without_sideways_scrolling(browser, tmp_path, mlp):
    """At 390x844 (no viewport tag before: laid out at 980 px and shrunk to 40%) nothing
    scrolls sideways but the graph, in its own labelled, focusable region; every control is
    at least 24x24 px; the stepping works by touch."""
    root = digit_loss() if mlp else build("tanh(a*b + c)", {"a": 2, "b": -3, "c": 6.5})
    path = export_html(root, tmp_path / "phone.html")
    text = path.read_text(encoding="utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=3,
                            is_mobile=True, has_touch=True)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    for _ in range(3):
        page.tap("#next")
    assert page.evaluate("stepper.done()") >= 3
    sizes = measure(page)
    assert sizes["sideways"] == 0 and sizes["width"] >= 24 and sizes["height"] >= 24
    assert sizes["explain"] >= 16 and sizes["text"] >= 14 - 0.01
    graph = page.locator("#graph")
    assert graph.get_attribute("tabindex") == "0" and graph.get_attribute("aria-label")
    assert page.evaluate("document.getElementById('graph').scrollWidth") > 390
    assert axe_violations(page) == [] and errors == []
    page.close()


@pytest.mark.slow
def test_the_stepper_opens_on_the_first_steps_node(browser, tmp_path):
    """A tall graph (an MLP reading a digit, 16 neurons a column) opened on a blank band of
    330 px at 1280x900: the start scrolls the graph to where the first step will be."""
    path = export_html(digit_loss(), tmp_path / "start.html")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri())
    seen = page.evaluate("""() => {
      const first = document.getElementById(steps[0].highlight[0]);
      const r = first.getBoundingClientRect();
      const box = document.getElementById('graph').getBoundingClientRect();
      return r.top >= box.top && r.bottom <= box.bottom && r.left >= box.left &&
             r.right <= box.right; }""")
    assert seen
    page.close()

"""``export_html``: one self-contained page to step through a forward and backward pass.

The page holds the graph as inline SVG (drawn by Graphviz), a little CSS and vanilla JS, and
the engine's own pass as JSON data: for every step, its explanation (for a backward step, the
same text ``engine.backward_steps`` prints) and the texts it changes in the picture, with the
texts they replace. The page only swaps those texts: it computes nothing that could disagree
with the engine. It makes no network request and opens by double-click.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import graphviz

from engine.autodiff import backward_steps, copy_graph, topological_order
from engine.files import atomic_write
from engine.neuron import Neuron
from engine.node import Node
from engine.text import NodeNames, forward_text
from engine.viz.dot import draw_dot, grad_field, neuron_fields, number_text, resolve_collapse
from engine.viz.render import GraphvizMissingError

_TEXT = re.compile(r"(<text\b[^>]*)>([^<]*)</text>")
_NODE = re.compile(r'<g id="node\d+" class="node">\s*<title>([^<]+)</title>(.*?)</g>', re.S)


def _tag_fields(svg: str) -> str:
    """Give each node group an id, and the texts the page updates an id each.

    Fields are found by their place in the record, never by what they say (a label may read
    "data x"): a value is ``label | data | grad`` (so data and grad are its last two texts), a
    collapsed neuron ``neuron k | Σ | activation | grad``, the inputs summary
    ``count | data | grad``.
    """
    def node(match):
        title, body = match.group(1), match.group(2)
        name = html.unescape(title)
        texts = list(_TEXT.finditer(body))
        fields: dict[int, str] = {}
        if re.fullmatch(r"neuron\d+", name) and len(texts) == 4:
            fields = {1: "sum", 2: "act", 3: "grad"}
        elif (re.fullmatch(r"n\d+", name) or name == "inputs") and len(texts) >= 2:
            fields = {len(texts) - 2: "data", len(texts) - 1: "grad"}
        pieces, last = [], 0
        for i, m in enumerate(texts):
            if i in fields:
                pieces += [body[last:m.start()],
                           f'{m.group(1)} id="f-{name}-{fields[i]}">{m.group(2)}</text>']
                last = m.end()
        pieces.append(body[last:])
        return f'<g id="g-{name}" class="node"><title>{title}</title>{"".join(pieces)}</g>'

    return _NODE.sub(node, svg)


class _Fields:
    """Which texts of the page show a node's data and grad, and what they say now."""

    def __init__(self, order: list[Node], neurons: list[Neuron]):
        self.owner = {m: n for n in neurons for m in n.members}
        self.index = {node: i for i, node in enumerate(order)}
        self.current: dict[str, str] = {}
        for node in order:
            for f in self.of(node, "data"):
                self.current[f] = "Σ" if f.endswith("-sum") else "→" if f.endswith("-act") \
                    else "data"
            for f in self.of(node, "grad"):
                self.current[f] = "grad"
        self.initial = dict(self.current)

    def of(self, node: Node, kind: str) -> list[str]:
        """The ids of the page texts showing ``kind`` ("data"/"grad") of ``node``."""
        n = self.owner.get(node)
        if n is None:
            return [f"f-n{self.index[node]}-{kind}"]
        neuron = f"neuron{n.index}"
        if kind == "data":
            return ([f"f-{neuron}-sum"] if node is n.total else []) + (
                [f"f-{neuron}-act"] if node is n.out else [])
        return [f"f-{neuron}-grad"] if node is n.out else []

    def data_text(self, node: Node, field: str) -> str:
        n = self.owner.get(node)
        if n is not None and field.endswith("-sum"):
            return neuron_fields(n)[0]
        if n is not None and field.endswith("-act"):
            return neuron_fields(n)[1]
        return f"data {number_text(node.data)}"

    def drawn(self, node: Node) -> list[str]:
        """The ids of the drawn groups that stand for ``node``."""
        n = self.owner.get(node)
        if n is not None:
            return [f"g-neuron{n.index}"]
        ids = [f"g-n{self.index[node]}"]
        return ids + ([f"g-n{self.index[node]}_op"] if node.parents else [])

    def change(self, f: str, new: str, changes: list) -> None:
        """Set text ``f`` to ``new``, noting [id, new, old] in ``changes`` if it changed."""
        if f in self.current and self.current[f] != new:
            changes.append([f, new, self.current[f]])
            self.current[f] = new

    def show_grad(self, node: Node, grad: float, changes: list) -> None:
        for f in self.of(node, "grad"):
            self.change(f, grad_field(grad), changes)


def _steps(root: Node, order: list[Node], neurons: list[Neuron]) -> tuple[dict, list[dict]]:
    """(initial field texts, steps) of the pass over ``order``, as the page shows them, with
    ``neurons`` drawn collapsed. Runs the backward pass (leaf grads from zero), so afterwards
    every node holds the grads the final picture shows."""
    fields, names = _Fields(order, neurons), NodeNames(order)
    steps = []
    shown = [node for node in order if node.op != "const"]  # a constant is shown from the start
    for k, node in enumerate(shown, start=1):
        changes: list = []
        for f in fields.of(node, "data"):
            fields.change(f, fields.data_text(node, f), changes)
        steps.append({"text": forward_text(node, k, len(shown), names),
                      "highlight": fields.drawn(node), "changes": changes})
    # Backward, from zero: leaf grads are reset first, so the page shows this pass alone.
    for node in order:
        if not node.parents:
            node.grad = 0.0
    for step in backward_steps(root):
        changes = []
        if step.index == 1:  # the pass starts by setting the output's grad
            fields.show_grad(root, root.grad, changes)
        for parent, new in zip(step.parents, step.parent_grads, strict=True):
            fields.show_grad(parent, new, changes)
        steps.append({"text": repr(step), "highlight": fields.drawn(step.node),
                      "changes": changes})
    if not root.parents:  # the output is a leaf: backward only sets its grad
        changes = []
        fields.show_grad(root, root.grad, changes)
        steps.append({"text": f"backward: {names(root)} is a leaf, so its grad is just the "
                              f"seed, {root.grad:g}",
                      "highlight": fields.drawn(root), "changes": changes})
    return fields.initial, steps


def _summary_fields(svg: str, initial: dict, steps: list[dict]) -> None:
    """The collapsed view's inputs summary: blank at the start, its data range shown once the
    forward pass is through, its grad range at the last backward step."""
    for field, blank in (("data", "data"), ("grad", "grad")):
        match = re.search(rf'id="f-inputs-{field}">([^<]*)</text>', svg)
        if match is None:
            continue
        final = html.unescape(match.group(1))
        initial[f"f-inputs-{field}"] = blank
        forward = [s for s in steps if s["text"].startswith("forward")]
        target = forward[-1] if field == "data" else steps[-1]
        target["changes"].append([f"f-inputs-{field}", final, blank])


def export_html(root: Node, path, *, title: str | None = None, collapse="auto",
                rankdir: str = "LR") -> Path:
    """Write a self-contained HTML page that steps through ``root``'s forward and backward pass.

    Controls: step forward (→), step back (←), play/pause (space), reset (Home), jump to the
    end (End). Above 250 nodes the graph is drawn collapsed (a node per neuron), as by
    :func:`draw_dot`; every engine step is still there, its text shown beside the picture.
    The page shows one pass, from leaf grads of 0, computed on a copy of the graph: no
    ``.data`` or ``.grad`` of ``root``'s graph changes (call it between ``backward()`` and
    ``optimizer.step()`` safely).
    """
    return atomic_write(path, stepper_page(root, title=title, collapse=collapse,
                                           rankdir=rankdir), "HTML page")


class Inline:
    """A page shown inside a notebook cell: an iframe whose ``srcdoc`` is the whole page, so
    it works in a saved notebook, after nbconvert to HTML, and with no kernel running."""

    def __init__(self, page: str, height: int):
        self.page, self.height = page, height

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.page, quote=True)}" '
                f'style="width: 100%; height: {self.height}px; border: 1px solid #dddddd" '
                f'sandbox="allow-scripts"></iframe>')


def show(root: Node, *, height: int = 620, title: str | None = None, collapse="auto",
         rankdir: str = "LR") -> Inline:
    """The stepper of :func:`export_html`, inline in a notebook: ``engine.viz.show(loss)``.
    Like the page, it changes nothing in ``root``'s graph."""
    if isinstance(height, bool) or not isinstance(height, int) or height < 100:
        raise ValueError(f"height must be a whole number of pixels ≥ 100, got {height!r}")
    return Inline(stepper_page(root, title=title, collapse=collapse, rankdir=rankdir), height)


def stepper_page(root: Node, *, title: str | None = None, collapse="auto",
                 rankdir: str = "LR") -> str:
    """The stepper's HTML, computed on a copy of ``root``'s graph (see :func:`export_html`)."""
    if not isinstance(root, Node):
        raise TypeError(f"the stepper needs a Value, got {type(root).__name__}")
    work, _ = copy_graph(root)
    order = topological_order(work)
    collapsed, neurons = resolve_collapse(order, collapse)
    collapsed = collapsed and bool(neurons)  # the page can only collapse real neurons
    # The steps first: their pass leaves every grad of the copy final, which the picture then
    # shows (and the page blanks at load).
    initial, steps = _steps(work, order, neurons if collapsed else [])
    dot = draw_dot(work, collapse=collapsed, rankdir=rankdir, local_derivatives=False)
    try:
        svg = dot.pipe(format="svg").decode("utf-8")
    except graphviz.ExecutableNotFound:
        raise GraphvizMissingError() from None
    svg = _tag_fields(svg[svg.index("<svg"):])
    _summary_fields(svg, initial, steps)
    # In a <script> block only "<", ">" and "&" can end or confuse it: write them as \u escapes.
    data = json.dumps({"initial": initial, "steps": steps}, ensure_ascii=False)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    parts = {"TITLE": html.escape(title or "glassgrad: step through backprop"), "SVG": svg,
             "DATA": data}
    # One pass over the template, so no inserted text is ever read as a placeholder.
    return re.sub(r"@(TITLE|SVG|DATA)@", lambda m: parts[m.group(1)], _PAGE)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>@TITLE@</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 0; color: #222; }
header { position: sticky; top: 0; background: #fafafa; border-bottom: 1px solid #ddd;
         padding: .6em 1em; z-index: 1; }
button { font-size: 1em; margin-right: .3em; padding: .2em .7em; }
#status { margin-left: 1em; font-weight: bold; }
#explain { font-family: Menlo, Consolas, monospace; font-size: .85em; white-space: pre;
           margin: .5em 0 0; min-height: 3.6em; overflow-x: auto; }
#graph { padding: 1em; overflow: auto; }
#graph svg { max-width: none; height: auto; }
.current polygon, .current path, .current ellipse { stroke: #ff7f0e !important;
                                                    stroke-width: 4 !important; }
</style></head><body>
<header>
<h1 style="font-size:1.2em;margin:0 0 .4em">@TITLE@</h1>
<button id="reset" title="Home">|◀ reset</button><button id="prev" title="←">◀ back</button><button
 id="play" title="space">▶ play</button><button id="next" title="→">step ▶</button><button
 id="end" title="End">end ▶|</button><span id="status"></span>
<div id="explain">Press step (or →) to run the forward pass, one node at a time, then the
backward pass, one chain-rule step at a time.</div>
</header>
<div id="graph">@SVG@</div>
<script id="data" type="application/json">@DATA@</script>
<script>
"use strict";
// Every number shown comes from this data, written by the engine; the page only swaps texts.
const DATA = JSON.parse(document.getElementById("data").textContent);
const steps = DATA.steps;
const explain = document.getElementById("explain");
const status = document.getElementById("status");
let done = 0;        // how many steps are applied
let marked = [];     // ids of the highlighted groups
let timer = null;

function setText(id, text) {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
}
function mark(ids) {
  for (const id of marked) document.getElementById(id)?.classList.remove("current");
  marked = ids;
  for (const id of marked) document.getElementById(id)?.classList.add("current");
}
function show() {
  const phase = done === 0 ? "start" : steps[done - 1].text.startsWith("forward") ?
    "forward" : "backward";
  status.textContent = `step ${done} of ${steps.length} (${phase})`;
  if (done > 0) explain.textContent = steps[done - 1].text;
  mark(done > 0 ? steps[done - 1].highlight : []);
}
function next() {
  if (done >= steps.length) { pause(); return false; }
  for (const [id, text] of steps[done].changes) setText(id, text);
  done += 1; show(); return true;
}
function prev() {
  if (done === 0) return false;
  done -= 1;
  for (const [id, , old] of steps[done].changes) setText(id, old);
  show(); return true;
}
function reset() {
  pause();
  for (const [id, text] of Object.entries(DATA.initial)) setText(id, text);
  done = 0; explain.textContent = "Start: no values computed yet."; show();
}
function end() { pause(); while (next()) {} }
function pause() { clearInterval(timer); timer = null;
                   document.getElementById("play").textContent = "▶ play"; }
function play() {
  if (timer) { pause(); return; }
  timer = setInterval(next, 400);
  document.getElementById("play").textContent = "⏸ pause";
}
document.getElementById("next").onclick = () => { pause(); next(); };
document.getElementById("prev").onclick = () => { pause(); prev(); };
document.getElementById("play").onclick = play;
document.getElementById("reset").onclick = reset;
document.getElementById("end").onclick = end;
document.addEventListener("keydown", (e) => {
  const keys = { ArrowRight: () => { pause(); next(); }, ArrowLeft: () => { pause(); prev(); },
                 " ": play, Home: reset, End: end };
  if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
});
window.stepper = { next, prev, reset, end, steps: () => steps.length, done: () => done };
reset();
</script>
</body></html>
"""

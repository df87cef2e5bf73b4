"""``export_html``: one self-contained page to step through a forward and backward pass.

The page holds the graph as inline SVG (drawn by Graphviz), a little CSS and vanilla JS (the
template files stepper.html, stepper.css and stepper.js beside this module, inlined), and
the engine's own pass as JSON data: for every step, its explanation (for a backward step, the
same text ``engine.backward_steps`` prints, each node named as the picture names it; in a
collapsed picture, layer by layer) and the texts it changes in the picture, with the texts they
replace. The page only swaps those texts: it computes nothing that could disagree
with the engine. It makes no network request and opens by double-click.
"""

from __future__ import annotations

import functools
import html
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from importlib import resources
from pathlib import Path

from engine.autodiff import Step, copy_graph, local_grads, pass_on, topological_order
from engine.neuron import FoundNeuron
from engine.node import Node
from engine.practice import REASK_AFTER, RTOL, step_questions
from engine.system.files import atomic_write, json_text
from engine.text import NodeNames, forward_text
from engine.viz import style
from engine.viz.dot import (
    COLLAPSE_ABOVE,
    draw_dot,
    grad_field,
    layered_order,
    network_names,
    neuron_fields,
    neuron_names,
    neuron_title,
    number_text,
    parts_legend,
    pipe,
    resolve_collapse,
)
from engine.viz.find import find_index

_TEXT = re.compile(r"(<text\b[^>]*)>([^<]*)</text>")
_NODE = re.compile(r'<g id="node\d+" class="node">\s*<title>([^<]+)</title>(.*?)</g>', re.S)
_EDGE = re.compile(r'<g id="edge\d+" class="edge">\s*<title>([^<]+)</title>(.*?)</g>', re.S)


def _tag_fields(svg: str, titles: dict[str, str]) -> str:
    """Give each node group an id, and the texts the page updates an id each; a node named
    in ``titles`` (a neuron) gets that title (its tooltip) instead of its DOT id.

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
        if name in titles:
            title = html.escape(titles[name], quote=False)
        return f'<g id="g-{name}" class="node"><title>{title}</title>{"".join(pieces)}</g>'

    svg = _NODE.sub(node, svg)
    seen: dict[str, int] = {}

    def edge(match):  # its label, the local derivative: f-e-TAIL-HEAD-k (k: a*a has two)
        title, body = html.unescape(match.group(1)), match.group(2)
        tail, _, head = title.partition("->")
        k = seen.get(title, 0)
        seen[title] = k + 1
        body = _TEXT.sub(lambda t: f'{t.group(1)} id="f-e-{tail}-{head}-{k}">{t.group(2)}'
                                   f"</text>", body, count=1)
        return f'<g class="edge"><title>{match.group(1)}</title>{body}</g>'

    return _EDGE.sub(edge, svg)


class _Fields:
    """Which texts of the page show a node's data and grad, and what they say now."""

    def __init__(self, order: list[Node], neurons: list[FoundNeuron]):
        self.owner = {m: n for n in neurons for m in n.members}
        self.index = {node: i for i, node in enumerate(order)}
        self.current: dict[str, str] = {}
        for node in order:
            for f in self.edges(node):  # a local derivative is shown at its backward step
                self.current[f] = "∂"
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

    def edges(self, node: Node) -> list[str]:
        """The ids of the labels of the edges into ``node``'s op, one per input in order
        (none for a node drawn inside a collapsed neuron)."""
        if node in self.owner or not node.parents:
            return []
        head = f"n{self.index[node]}_op"
        seen: dict[str, int] = {}
        ids: list[str] = []
        for parent in node.parents:
            n = self.owner.get(parent)
            tail = f"neuron{n.index}" if n is not None else f"n{self.index[parent]}"
            k = seen.get(tail, 0)
            seen[tail] = k + 1
            ids.append(f"f-e-{tail}-{head}-{k}")
        return ids

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

    def show_grad(self, node: Node, grad: float, changes: list, scale: float = 0.0) -> None:
        for f in self.of(node, "grad"):
            self.change(f, grad_field(grad, scale), changes)

    def neuron(self, node: Node) -> int:
        """The index of the drawn neuron ``node`` is part of, for the page's jumps, or −1."""
        n = self.owner.get(node)
        return -1 if n is None else n.index


def _steps(root: Node, order: list[Node], neurons: list[FoundNeuron],
           taken: list[Step] | None = None) -> tuple[dict, list[list], list[Node]]:
    """(initial field texts, steps, the node of each step) of the pass over ``order``, as the
    page shows them, with ``neurons`` drawn collapsed: layer by layer (:func:`layered_order`),
    forward then backward, each node named as the picture names it. Runs the backward pass
    (leaf grads from zero), so afterwards every node holds the grads the final picture shows.
    The engine's backward steps shown are appended to ``taken`` (practice asks about them)."""
    fields = _Fields(order, neurons)
    names = network_names(order, neurons)  # inside a neuron, its parts' short names
    walk, layer_of = layered_order(order, neurons)
    steps = []
    shown = [node for node in walk if node.op != "const"]  # a constant is shown from the start
    nodes = list(shown)
    for k, node in enumerate(shown, start=1):
        changes: list = []
        for f in fields.of(node, "data"):
            fields.change(f, fields.data_text(node, f), changes)
        steps.append(_Step("l" if not node.parents else "f",
                           forward_text(node, k, len(shown),
                                        names.inside(fields.owner.get(node))), fields.drawn(node),
                           changes, [], fields.neuron(node), layer_of[node]))
    for step in _backward(root, walk, names, fields.owner):
        if taken is not None:
            taken.append(step)
        changes = []
        if step.index == 1:  # the pass starts by setting the output's grad
            fields.show_grad(root, root.grad, changes)
        scale = max([abs(step.grad), *map(abs, step.parent_grads)])
        for parent, new in zip(step.parents, step.parent_grads, strict=True):
            fields.show_grad(parent, new, changes, scale)
        for f, local in zip(fields.edges(step.node), step.local_grads, strict=False):
            fields.change(f, f"∂={number_text(local)}", changes)
        nodes.append(step.node)
        current = fields.drawn(step.node)
        changed = [g for p in step.parents if p.op != "const" for g in fields.drawn(p)
                   if g not in current]  # (inside a collapsed neuron, that is the neuron)
        steps.append(_Step("b", repr(step), current, changes, list(dict.fromkeys(changed)),
                           fields.neuron(step.node), layer_of[step.node]))
    if not root.parents:  # the output is a leaf: backward only sets its grad
        changes = []
        fields.show_grad(root, root.grad, changes)
        nodes.append(root)
        steps.append(_Step("b", f"step 1 of 1: {names(root)} is a leaf, so its grad is just "
                                f"the seed, {root.grad:g}", fields.drawn(root), changes, [],
                           -1, 0))
    return fields.initial, [list(astuple(s)) for s in steps], nodes


def _backward(root: Node, walk: list[Node], names: NodeNames,
              owner: dict[Node, FoundNeuron]) -> Iterator[Step]:
    """The engine's backward pass of ``root`` (:class:`engine.autodiff.Step`, its text),
    taken in the reverse of ``walk``, any topological order (the page's goes layer by layer),
    from grads of zero. A node's step comes only once every node reading it has passed its
    grad on (checked), so each grad it passes on is complete. A step inside a neuron (by
    ``owner``) names that neuron's parts short (:meth:`NodeNames.inside`)."""
    interior = [node for node in walk if node.parents]
    unread = Counter(p for node in interior for p in node.parents)  # reads still to come
    for node in walk:
        node.grad = 0.0
    root.grad = 1.0
    for index, node in enumerate(reversed(interior), start=1):
        if unread[node]:
            raise AssertionError(f"step {index}: {names(node)}'s grad is not complete")
        g, locals_ = node.grad, local_grads(node)
        after = pass_on(node, g, locals_)  # the engine's chain-rule step
        unread.subtract(node.parents)
        yield Step(node, g, locals_, after, index, len(interior), names.inside(owner.get(node)))


@dataclass(frozen=True)
class _Step:
    """One step of the page, sent as a list in this order (keys for 4,624 steps would
    weigh more than their numbers): "l" a leaf's forward step, "f" another forward step,
    "b" a backward step; its text (the engine's); the drawn groups to highlight; the texts
    it changes, [id, new, old]; the groups whose grad it changed; its neuron and layer."""

    kind: str
    text: str
    highlight: list
    changes: list
    changed: list
    neuron: int
    layer: int


DEFAULT_TITLE = "glassgrad: step through backprop"
PRACTICE_LIMIT = 400  # questions: above it the page offers no practice (it would weigh MBs)


def _quiz(steps: list[Step]) -> dict | None:
    """Practice mode's questions for the page, by backward step: [prompt, hint, answer,
    worked answer, the hint for a first wrong try, [[mistake, what to say], …], the kind of step
    for the summary, what the step's node is] (``engine.practice``'s own), or None for a graph
    with too many. They are asked of the page's own backward ``steps`` (its order, its names).
    A question whose answer is not finite (a graph through log 0) is left out: no one types
    -inf, and the page's data is strict JSON."""
    found = step_questions(steps)
    if len(found) > PRACTICE_LIMIT:
        return None
    by_step: dict[int, list] = {}
    for q in found:
        if not math.isfinite(q.answer):
            continue
        by_step.setdefault(q.step, []).append(
            [q.prompt, ("the rule: " if q.kind == "local" else "") + q.hint, q.answer,
             q.explain(), q.nudge(),
             [[s.value, s.words] for s in q.mistakes() if math.isfinite(s.value)], q.topic,
             q.about])
    return {str(k): v for k, v in by_step.items()}


def _summary_fields(svg: str, initial: dict, steps: list[list]) -> None:
    """The collapsed view's inputs summary: blank at the start, its data range shown once the
    forward pass is through, its grad range at the last backward step."""
    for field, blank in (("data", "data"), ("grad", "grad")):
        match = re.search(rf'id="f-inputs-{field}">([^<]*)</text>', svg)
        if match is None:
            continue
        final = html.unescape(match.group(1))
        initial[f"f-inputs-{field}"] = blank
        forward = [s for s in steps if s[0] != "b"]
        target = forward[-1] if field == "data" else steps[-1]
        target[3].append([f"f-inputs-{field}", final, blank])  # the step's changes


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
    it works in a saved notebook, after nbconvert to HTML, and with no kernel running. The
    frame carries the page's title, which a screen reader says on entering it."""

    def __init__(self, page: str, height: int, title: str = DEFAULT_TITLE):
        self.page, self.height, self.title = page, height, title

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.page, quote=True)}" '
                f'title="{html.escape(self.title, quote=True)}" '
                f'style="width: 100%; height: {self.height}px; '
                f'border: 1px solid {style.PANEL_EDGE}" '
                f'sandbox="allow-scripts"></iframe>')


def show(root: Node, *, height: int = 620, title: str | None = None, collapse="auto",
         rankdir: str = "LR") -> Inline:
    """The stepper of :func:`export_html`, inline in a notebook: ``engine.viz.show(loss)``.
    Like the page, it changes nothing in ``root``'s graph."""
    if isinstance(height, bool) or not isinstance(height, int) or height < 100:
        raise ValueError(f"height must be a whole number of pixels ≥ 100, got {height!r}")
    return Inline(stepper_page(root, title=title, collapse=collapse, rankdir=rankdir), height,
                  title or DEFAULT_TITLE)


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
    taken: list[Step] = []
    initial, steps, step_nodes = _steps(work, order, neurons if collapsed else [], taken)
    quiz = _quiz(taken)
    dot = draw_dot(work, collapse=collapsed, rankdir=rankdir, local_derivatives=True)
    svg = pipe(dot, "svg").decode("utf-8")
    # Each drawn neuron by its one name (engine.text.neuron_name, the explorer's too), the
    # engine's label second, then what its steps call its parts: in its tooltip and, at its
    # steps, over the step text.
    named = sorted(neuron_names(order, neurons).items(),
                   key=lambda item: item[0].index) if collapsed else []
    names = [(name, label, parts_legend(n, label)) for n, (name, label) in named]
    titles = {f"neuron{n.index}": neuron_title(n, name, label) for n, (name, label) in named}
    svg = _sized(_tag_fields(svg[svg.index("<svg"):], titles))
    _summary_fields(svg, initial, steps)
    drawn = neurons if collapsed else []
    found = find_index(step_nodes, sum(s[0] != "b" for s in steps),
                       [(n, name, label) for n, (name, label) in named],
                       network_names(order, drawn), _Fields(order, drawn).drawn)
    # In a <script> block only "<", ">" and "&" can end or confuse it: write them as \u escapes.
    data = json_text({"initial": initial, "steps": steps, "quiz": quiz, "rtol": RTOL,
                      "reask": REASK_AFTER,
                      "neurons": names, "find": found,
                      "tall": _tall(work, order, collapsed, rankdir)},
                     "the page's data", ensure_ascii=False, separators=(",", ":"))
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    parts = {"TITLE": html.escape(title or DEFAULT_TITLE), "SVG": svg,
             "DATA": data, "CSS": style.css_variables() + _template("stepper.css"),
             "JS": _template("stepper.js") + _template("find.js")}
    # One pass over the template, so no inserted text is ever read as a placeholder.
    return re.sub(r"@(TITLE|SVG|DATA|CSS|JS)@", lambda m: parts[m.group(1)],
                  _template("stepper.html"))


def _tall(work: Node, order: list[Node], collapsed: bool, rankdir: str) -> str | None:
    """A small graph drawn left to right (or right to left) drawn again top to bottom, for a
    window too narrow for it at its size (the page swaps them): its texts tagged alike. None
    for a collapsed or large graph, which the page scrolls instead (and a page of thousands
    of nodes would weigh twice as much)."""
    if collapsed or rankdir not in ("LR", "RL") or len(order) > COLLAPSE_ABOVE:
        return None
    svg = pipe(draw_dot(work, collapse=False, rankdir="TB", local_derivatives=True),
               "svg").decode("utf-8")
    return _sized(_tag_fields(svg[svg.index("<svg"):], {}))


MIN_TEXT_PX = 14  # the graph's smallest text, in CSS px: read on a projector at 1280 px


def _sized(svg: str) -> str:
    """The drawing's size in CSS px, such that its smallest text is ``MIN_TEXT_PX`` (Graphviz
    writes it in pt, its units, which would make its 9-unit edge labels 12 px); the page may
    draw it larger still to fill the window, never smaller."""
    size = re.match(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    fonts = [float(f) for f in re.findall(r'font-size="([\d.]+)"', svg)]
    if size is None or not fonts:
        return svg
    px = MIN_TEXT_PX / min(fonts)  # CSS px per unit of the drawing
    width, height = (math.ceil(float(size.group(k)) * px) for k in (1, 2))
    return f'<svg width="{width}" height="{height}"' + svg[size.end():]


@functools.cache
def _template(name: str) -> str:
    """One of the stepper's template files (stepper.html, .css, .js), shipped in this package
    beside this module: the page is assembled from them, so it stays one offline file."""
    return resources.files("engine.viz").joinpath(name).read_text(encoding="utf-8")


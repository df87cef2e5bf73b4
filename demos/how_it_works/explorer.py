"""The explorer: one offline HTML page to click through the article's stages on a real network.

For every network (untrained, trained) and every chosen test digit, the page holds the
engine's numbers of one pass as data: each neuron's Σ, output, ∂loss/∂(output) and what each
neuron it feeds passed back; each weight's w, ∂loss/∂w (= δ·a), Δw and w after one SGD step;
the probabilities before and after that step, read again by the engine. It holds one drawing
of the network (``picture``) and, for every stage, the overlay ``stages`` draws for the static
figures. The page's script only switches between them and writes the numbers it is given into
a panel: it computes nothing. No network requests; it opens by double-click.
"""

from __future__ import annotations

import base64
import functools
import html
import itertools
import json
import re
import zlib
from dataclasses import dataclass, fields

import numpy as np

from demos.how_it_works import picture as pic
from demos.how_it_works import stages as st
from demos.how_it_works.frames import line_codes, line_looks
from demos.how_it_works.readings import ALONG, Backprop
from demos.how_it_works.web import asset, stylesheet
from demos.how_it_works.words import estimate, far_off, glossary
from engine.system.files import json_text, some
from engine.text import neuron_name
from engine.viz import style
from engine.viz.style import PANEL_DIGITS, grey, loss_number, probability
from engine.viz.style import panel_number as show  # every number of the panel


@dataclass(frozen=True)
class Run:
    """One pass the page shows: which network, which digit, and the engine's numbers."""

    network: str  # "untrained" or "trained" (the studio's: also "half-trained")
    digit: int
    bp: Backprop
    repeat: str  # what training did, for the "repeat" stage's caption
    repeat_lines: tuple[str, ...]  # and for its note in the picture


def neuron_names(sizes) -> list[list[str]]:
    """Each neuron's name in a network of these layer ``sizes`` (the pixels first), as every
    page shows it: "pixel (row 2, col 5)", "hidden layer 2, neuron 5", "output '3'"."""
    side = int(round(sizes[0] ** 0.5))
    # Rows and columns counted from 1, row 1 the top, as Step 4's list counts them.
    names = [[f"pixel (row {i // side + 1}, col {i % side + 1})" for i in range(sizes[0])]]
    layers = len(sizes) - 1  # one name per neuron, the stepper's too (engine.text)
    names += [[neuron_name(layer, j, layers, str(j)) for j in range(sizes[layer])]
              for layer in range(1, layers + 1)]
    return names


def engine_label(layer: int, j: int) -> str:
    """The engine's label of neuron j of ``layer`` (1: the first hidden layer) of an nn MLP,
    the dotted prefix its parameters' labels share (engine.text.neuron_label): nn names
    them by attribute, ``layers.0.neurons.5.w.7`` (nn/module.py). The panel shows it under
    the neuron's name, and a weight's as ``….w.7``."""
    return f"layers.{layer - 1}.neurons.{j}"


def _neurons(bp: Backprop) -> list[list[dict]]:
    """What a click on a neuron shows, per layer and neuron (layer 0: the pixels)."""
    names = neuron_names(bp.sizes)
    data = [[{"name": names[0][i], "ink": f"{bp.pixels[i] * 16:.0f} of 16",
              "reads": show(bp.x[i]), "want": show(-bp.input_grads[i])}
             for i in range(bp.sizes[0])]]
    for layer, numbers in enumerate(bp.layers, start=1):
        feeds = bp.layers[layer].sent if layer < len(bp.layers) else None
        row = []
        for j in range(len(numbers.a)):
            item = {"name": names[layer][j], "label": engine_label(layer, j),
                    "z": show(numbers.z[j]), "a": show(numbers.a[j]),
                    "want": show(-numbers.grad_a[j]), "delta": show(numbers.delta[j]),
                    "b": show(numbers.b[j])}
            if feeds is not None:  # the chain rule: [neuron i it feeds, −δᵢ·wᵢⱼ it passed back]
                order = np.argsort(-np.abs(feeds[:, j]), kind="stable")
                item["parts"] = [[int(i), show(-feeds[i, j])] for i in order]
            else:
                item["p"] = probability(bp.probabilities[j], PANEL_DIGITS)
                item["pAfter"] = probability(bp.probabilities_after[j], PANEL_DIGITS)
                item["target"] = j == bp.target
            row.append(item)
        data.append(row)
    return data


def _table(a: np.ndarray) -> list[list[str]]:
    return [[show(v) for v in row] for row in a.tolist()]  # (floats: twice as fast as numpy's)


def _weights(bp: Backprop) -> list[dict]:
    """Per layer: ∂loss/∂w, Δw and w after the step, each a (J, K) table of printed numbers
    (w itself is the network's, in :func:`_network`)."""
    return [{"grad": _table(n.grad_w), "dw": _table(n.w_after - n.w),
             "after": _table(n.w_after)} for n in bp.layers]


def line_numbers(bp: Backprop, layer: int, j: int, k: int) -> dict[str, str]:
    """One weight's numbers as :func:`_weights` prints them: the weight from neuron k of
    ``layer`` - 1 into neuron j of ``layer`` (1: the first hidden layer). The studio sends
    them when its page asks, not its 4,320 in every answer."""
    n = bp.layers[layer - 1]
    return {"grad": show(n.grad_w[j, k]), "dw": show(n.w_after[j, k] - n.w[j, k]),
            "after": show(n.w_after[j, k])}


# Each line code's look, made once (shared: not to be changed): 1.5 ms that every studio
# read would spend again.
_looks = functools.cache(line_looks)

_DRAWN: dict[bytes, dict] = {}  # the last few networks' _network, by their weights
_DRAWN_IDS = itertools.count(1)


def _network(bp: Backprop) -> dict:
    """What belongs to the network, whatever it reads: its weights and how each is drawn.
    Kept for the last few networks (shared: not to be changed), because the studio asks again
    for the same network at every stroke, and styling its 1,440 lines is a large part of a
    read. Its ``id`` names it, so that a page holding it need not be sent it again (in the
    studio, a large part of each read's answer)."""
    key = b"".join(repr(n.w.shape).encode() + np.asarray(n.w, float).tobytes()
                   for n in bp.layers)
    if key not in _DRAWN:
        if len(_DRAWN) >= 8:
            del _DRAWN[next(iter(_DRAWN))]  # the oldest
        _DRAWN[key] = {"id": next(_DRAWN_IDS), "w": [_table(n.w) for n in bp.layers],
                       "lines": _line_styles(bp),
                       "strongest": _strongest(bp, 3)}
    return _DRAWN[key]


def _line_styles(bp: Backprop) -> list[str]:
    """Every line's colour, width, opacity and dash for this network (in the drawing's id
    order), as ``"<colour> 1.2 0.4 <dash>"`` (the colour: ``style.POSITIVE`` or
    ``style.NEGATIVE``; the dash, a negative weight's only: ``picture.NEGATIVE_DASH``): each
    line's code (``frames.line_codes``, the rule of ``picture.line_style`` for a whole layer at
    once) looked up in the codes' looks, as a training frame's lines are."""
    looks = _looks()
    return [looks["positive"][c] if c >= 0 else looks["negative"][-1 - c]
            for c in line_codes([n.w for n in bp.layers])]


def _visible(spec) -> object:
    """A stage's lines for one layer, as the page's script reads them."""
    if spec is None or spec == "all":
        return spec
    if isinstance(spec, pic.Strongest):
        return {"strongest": spec.count}
    return {"into": spec.j, "only": None if spec.only is None else list(spec.only)}


def _strongest(bp: Backprop, count: int) -> list[list[list[int]]]:
    """For each layer and neuron, its ``count`` inputs of largest |w| (the forward view)."""
    return [[np.argsort(-np.abs(row), kind="stable")[:count].tolist() for row in n.w]
            for n in bp.layers]


def _readings(bp: Backprop) -> list[dict]:
    """The image read again after 1, 2, … SGD steps: the outputs' texts and shading."""
    t = bp.target
    return [{"p": [f"P {probability(v)}" for v in r.probabilities],
             "fills": [grey(v) for v in r.probabilities],
             "dark": [style.dark(v) for v in r.probabilities],  # (as the pass's own)
             "target": probability(r.probabilities[t], PANEL_DIGITS),
             "loss": loss_number(r.loss, PANEL_DIGITS)}
            for r in bp.readings]


def _stages(run: Run, scales: st.Scales) -> list[dict]:
    bp = run.bp
    stages = st.stages(bp, scales, trained=run.network == "trained", state=run.network)
    repeat = st.Stage("repeat", "Repeat, over many batches of training images", run.repeat,
                      stages[0].visible, overlay=st.note(run.repeat_lines),
                      legend=stages[0].legend)
    result = []
    for stage in [*stages, repeat]:
        result.append({"key": stage.key, "title": stage.title, "caption": stage.caption,
                       "maths": stage.maths,
                       "visible": {str(k): _visible(v) for k, v in stage.visible.items()},
                       "rings": [[layer, j, ring.colour, ring.dash, pic.RING_WIDTH, ring.cap]
                                 for (layer, j), ring in stage.rings.items()],
                       "overlay": stage.overlay, "legend": pic.legend(list(stage.legend))})
    return result


def _pass(run: Run, scales: st.Scales, tables: bool) -> dict:
    bp = run.bp
    levels = pic.shades(bp)
    after = bp.probabilities_after
    t = bp.target
    return {
        "network": run.network, "digit": run.digit, "stages": _stages(run, scales),
        "fills": [[grey(v) for v in layer] for layer in levels],
        "dark": [[style.dark(v) for v in layer] for layer in levels],
        "p": [f"P {probability(v)}" for v in bp.probabilities], "readings": _readings(bp),
        "neurons": _neurons(bp), **({"weights": _weights(bp)} if tables else {}),
        "apply": {"lr": f"{bp.lr:g}", "target": t,
                  "before": probability(bp.probabilities[t], PANEL_DIGITS),
                  "after": probability(after[t], PANEL_DIGITS),
                  "loss": loss_number(bp.loss, PANEL_DIGITS),
                  "lossAfter": loss_number(bp.loss_after, PANEL_DIGITS),
                  "estimate": estimate(bp.predicted_change, bp.loss_after - bp.loss),
                  "along": _along(bp)},
    }


def _along(bp: Backprop) -> dict:
    """The loss along the step for the apply stage's chart: the engine's losses at t = 0 … 2
    step sizes (1: the step taken), the straight line's start and slope (the loss before and
    Σ ∂loss/∂w·Δw), and whether they part (then the note says so). The page only draws."""
    return {"t": [round(float(t), 3) for t in ALONG],
            "loss": [float(f"{v:.7g}") for v in bp.along],
            "start": float(f"{bp.loss:.7g}"), "slope": float(f"{bp.predicted_change:.7g}"),
            "apart": far_off(bp.predicted_change, bp.loss_after - bp.loss)}


def check_finite(run: Run) -> None:
    """Refuse a pass whose numbers are not all finite (a model that overflows as it reads),
    saying which: its shading, arrows and panel would be nan. (The grey scale draws nan as
    white, so nothing else stops it.)"""
    bp = run.bp
    named = {"input": bp.x, "input grads": bp.input_grads, "probabilities": bp.probabilities,
             "loss": bp.loss, "loss after the step": bp.loss_after,
             "predicted change": bp.predicted_change, "loss along the step": bp.along,
             **{f"read after step {i}": [r.loss, *r.probabilities]
                for i, r in enumerate(bp.readings, start=1)}}
    for i, layer in enumerate(bp.layers, start=1):
        named.update({f"layer {i} {f.name}": getattr(layer, f.name) for f in fields(layer)})
    bad = [name for name, v in named.items() if not np.isfinite(np.asarray(v, float)).all()]
    if bad:
        raise ValueError(f"the {run.network} network reading a {run.digit} has numbers that "
                         f"are not finite (NaN or ±Infinity) in: {some(bad)}")


def data(runs: list[Run], tables: bool = True, film: dict | None = None) -> dict:
    """Everything the page's script shows for these passes (the same network architecture
    in each), as JSON-ready data: the engine's numbers, printed, and the look the figures
    use (``style``: the palette, grey scale, digits and thresholds of ``engine.viz.style``;
    ``looks``: each line code's style, ``frames.line_looks``). ``film``: the training run's
    film (``frames.Film.data``), for a page that has one (the studio's has none).
    ``tables=False``: without each weight's ∂loss/∂w, Δw and w after the step (41 of a
    studio answer's 148 KB), which its page then asks for a line at a time
    (:func:`line_numbers`)."""
    groups: dict[str, list[Backprop]] = {}
    for run in runs:
        check_finite(run)
        groups.setdefault(run.network, []).append(run.bp)
    scales = st.scales_by_network(groups)
    networks = {}
    for r in runs:
        networks.setdefault(r.network, _network(r.bp))
    return {"passes": {f"{r.network}/{r.digit}": _pass(r, scales[r.network], tables)
                       for r in runs},
            "weights": networks,
            "networks": list(dict.fromkeys(r.network for r in runs)),
            "digits": list(dict.fromkeys(r.digit for r in runs)), "sizes": runs[0].bp.sizes,
            "style": style.page_style(), "looks": _looks(),
            **({} if film is None else {"film": film})}


def pack(data: dict) -> str:
    """``data`` as the page's data block: ``{"deflate": <base64>, "size": <bytes>}``, its JSON
    deflated (raw DEFLATE, level 9) and base64-coded, which the page's script (``inflate.js``)
    opens. Two networks × three digits are 0.70 MB of JSON, 0.19 MB so: the page weighs a
    third of what it did. The JSON is strict (the page's JSON.parse refuses NaN): a number
    that is not finite is named."""
    text = json_text(data, "the explorer's data", ensure_ascii=False, separators=(",", ":"))
    raw = text.encode("utf-8")
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)  # -15: raw DEFLATE, no zlib header
    packed = squeeze.compress(raw) + squeeze.flush()
    # base64 and the JSON around it hold no "<", ">" or "&": nothing can end the <script>.
    return json.dumps({"deflate": base64.b64encode(packed).decode("ascii"), "size": len(raw)})


def unpack(block: str) -> dict:
    """The data a page's data block holds (the text :func:`pack` wrote, or plain JSON)."""
    data = json.loads(block)
    if "deflate" not in data:
        return data
    return json.loads(zlib.decompress(base64.b64decode(data["deflate"]), -15).decode("utf-8"))


def page_data(text: str) -> dict:
    """The data of the explorer page ``text`` (for tests and anyone reading a written page)."""
    found = re.search(r'<script id="data" type="application/json">(.*?)</script>', text, re.S)
    if found is None:
        raise ValueError("not an explorer page: it has no <script id=\"data\"> block")
    return unpack(found.group(1))


def page(runs: list[Run], title: str, extra: str = "", film: dict | None = None) -> str:
    """The explorer for these passes (the same network architecture in each). ``extra``: HTML
    put at the end of the body (the studio's pad and its script; the page's script offers
    ``window.explorer.load(data)`` to show new passes); ``film``: the training run's film
    (:func:`data`)."""
    first = runs[0].bp
    layout = pic.Layout(tuple(first.sizes))
    drawing = pic.svg("", "\n".join([
        pic.connections(first, layout, {1: "all", 2: "all", 3: "all"}, ids=True),
        pic.neurons(first, layout), (
            '<g id="rings"></g><g id="overlay"></g><g id="training"></g>'),
        '<g id="legend"></g>']), interactive=True)
    parts = {"TITLE": html.escape(title), "SVG": drawing, "DATA": pack(data(runs, film=film)),
             "EXTRA": extra, "GLOSSARY": glossary(), "STYLE": stylesheet("figure.css"),
             # inflate.js after figure.js: its one function is hoisted, figure.js stays first
             # in the block (its "use strict" applies to both).
             "SCRIPT": asset("figure.js") + "\n" + asset("inflate.js")}
    # One pass over the template, so no inserted text is ever read as a placeholder.
    return re.sub(r"@(TITLE|SVG|DATA|EXTRA|GLOSSARY|STYLE|SCRIPT)@",
                  lambda m: parts[m.group(1)], asset("explorer.html"))

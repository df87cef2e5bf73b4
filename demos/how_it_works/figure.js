"use strict";
// Every number shown comes from this data, written by the engine; the page only shows it.
let DATA = unpack(JSON.parse(document.getElementById("data").textContent));
function unpack(block) {
  // The page writes its data deflated and base64-coded (explorer.py's pack: a third of the
  // weight); inflate.js opens it. Plain data (the studio's load(data)) is taken as it is.
  if (block.deflate === undefined) return block;
  const bytes = Uint8Array.from(atob(block.deflate), c => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(inflate(bytes, new Uint8Array(block.size))));
}
const COLOURS = DATA.style.colours;  // the palette of engine/viz/style.py
const KEYS = DATA.passes[Object.keys(DATA.passes)[0]].stages.map(s => s.key);
const NAMES = {forward: "Forward pass", step1: "Step 1", step2: "Step 2", step3: "Step 3",
               step4: "Step 4", apply: "Apply the update", repeat: "Repeat"};
const lines = [...document.querySelectorAll("line.w")];
const where = lines.map(el => el.id.slice(1).split("-").map(Number));  // [layer, j, k]
const ends = lines.map(el => ["x1", "y1", "x2", "y2"].map(a => Number(el.getAttribute(a))));
const REACH = 8;  // CSS px either side of a drawn line within which a click selects it
// Under the neurons, one invisible wide stroke per line: the pointer finds a thin line.
const hits = lines.map((el, i) => {
  const hit = document.createElementNS("http://www.w3.org/2000/svg", "line");
  ["x1", "y1", "x2", "y2"].forEach((a, n) => hit.setAttribute(a, ends[i][n]));
  hit.setAttribute("stroke", "transparent"); hit.setAttribute("stroke-width", 2 * REACH);
  hit.setAttribute("vector-effect", "non-scaling-stroke");  // CSS px, at any zoom
  hit.setAttribute("pointer-events", "stroke"); hit.setAttribute("cursor", "pointer");
  hit.classList.add("hit");
  return hit;
});
lines[lines.length - 1].after(...hits);
// Over the lines, under each neuron's circle: a transparent one the size of the neuron, which
// grows on a phone's "larger figure" (figure.css) so that a finger finds a 20 px neuron.
const targets = [...document.querySelectorAll("#net circle.n")].map(el => {
  const hit = document.createElementNS("http://www.w3.org/2000/svg", "circle");
  ["cx", "cy", "r"].forEach(a => hit.setAttribute(a, el.getAttribute(a)));
  hit.classList.add("nhit"); hit.dataset.for = el.id;
  return hit;
});
hits[hits.length - 1].after(...targets);
let network = DATA.networks[0], digit = DATA.digits[0], stage = 0, selected = null;
let steps = 1;  // how many SGD steps the Apply stage shows (the engine's readings after each)
let story = null;  // the network the story told before Repeat showed the trained one

function current() { return DATA.passes[network + "/" + digit]; }
function weights() { return DATA.weights[network]; }
function $(id) { return document.getElementById(id); }
function shown(spec, layer, j, k, strongest) {
  if (spec === "all") return true;
  if (!spec) return false;
  if (spec.strongest) return strongest[layer - 1][j].includes(k);
  return spec.into === j && (spec.only === null || spec.only.includes(k));
}
function buttons(host, items, label, active, pick) {
  host.innerHTML = "";
  items.forEach((item, i) => {
    const b = document.createElement("button");
    b.textContent = label(item); b.dataset.value = String(item);
    if (active(item, i)) b.classList.add("on");
    b.onclick = () => pick(item, i);
    host.appendChild(b);
  });
}
// What each line was last drawn with (its network's style, its opacity, whether shown): a
// redraw sets only what changed. Setting every line's stroke, width and dash at each stage
// made the browser restyle all 1,440 lines (stage changes up to 150 ms, the goal is 100).
// A training frame's lines change at every frame: each part (colour, width, dash) is set
// only if it changed, and a frame leaves the lines it hides as they were (the next draw()
// styles them, so that a hidden line is always its network's outside the film).
const drawn = lines.map(() => ({style: null, base: null, opacity: null, shown: null,
                                colour: null, width: null, dash: null}));
function drawLines(S, styleOf, strongest, hidden = true) {
  // Colour, width and dash change with the network (or the training frame: styleOf(i) is
  // line i's style); opacity and visibility per stage. ``hidden``: style the hidden too.
  lines.forEach((el, i) => {
    const [layer, j, k] = where[i], was = drawn[i];
    const on = shown(S.visible[layer], layer, j, k, strongest);
    if (was.shown !== on) {
      el.style.display = hits[i].style.display = on ? "" : "none";
      was.shown = on;
    }
    if (!on && !hidden) return;
    const style = styleOf(i);
    if (was.style !== style) {
      const [colour, width, opacity, dash = "none"] = style.split(" ");
      if (was.colour !== colour) { el.setAttribute("stroke", colour); was.colour = colour; }
      if (was.width !== width) { el.setAttribute("stroke-width", width); was.width = width; }
      if (was.dash !== dash) {  // negative: dashed, not only red
        el.setAttribute("stroke-dasharray", dash); was.dash = dash;
      }
      was.style = style; was.base = opacity;
    }
    const into = S.visible[layer] && S.visible[layer].into !== undefined;
    const opacity = into ? String(Math.min(1, Number(was.base) + 0.28)) : was.base;
    if (was.opacity !== opacity) {
      el.setAttribute("stroke-opacity", opacity); was.opacity = opacity;
    }
  });
}
function draw() {
  const P = current(), S = P.stages[stage], N = weights();
  const inFigure = $("net").contains(document.activeElement);  // kept there after the redraw
  drawLines(S, i => N.lines[i], N.strongest);
  const after = S.key === "apply", R = P.readings[steps - 1];
  P.fills.forEach((fills, layer) => fills.forEach((fill, j) => {
    const last = layer === P.fills.length - 1;
    const el = $(`n${layer}-${j}`);
    el.setAttribute("fill", after && last ? R.fills[j] : fill);
    if (layer > 0) {
      el.setAttribute("stroke", COLOURS.muted); el.setAttribute("stroke-width", "1");
      el.setAttribute("stroke-dasharray", "none"); el.setAttribute("stroke-linecap", "butt");
      const dark = after && last ? R.dark[j] : P.dark[layer][j];  // the shading shown
      $(`t${layer}-${j}`).setAttribute("fill", dark ? "white" : COLOURS.text);
    }
    if (last) $(`p${j}`).textContent = (after ? R.p : P.p)[j];
  }));
  for (const [layer, j, colour, dash, width, cap] of S.rings) {  // differ in dash, not hue
    $(`n${layer}-${j}`).setAttribute("stroke", colour);
    $(`n${layer}-${j}`).setAttribute("stroke-width", String(width));
    $(`n${layer}-${j}`).setAttribute("stroke-linecap", cap);  // round: a dotted ring's dots
    $(`n${layer}-${j}`).setAttribute("stroke-dasharray", dash || "none");
  }
  // On the film, the note's summary of the whole training would contradict the frame shown.
  $("overlay").innerHTML = filmOn() ? "" : S.overlay;
  if (!filmOn()) figureChart(null);  // the film's player draws it again with its frame
  if (selected && !drawnNow(selected)) selected = null;  // a selection never drawn here
  $("legend").innerHTML = S.legend;
  $("title").textContent = S.title;
  $("net-title").textContent = `${S.title}: the ${network} network reading a '${digit}'`;
  $("stage-title").textContent = S.title;
  caption(S);
  applyBox(P, after, R);
  buttons($("stages"), KEYS, k => NAMES[k], (k, i) => i === stage, (k, i) => go(i));
  // On the film neither network is shown, but the run between them: no button is pressed.
  buttons($("networks"), DATA.networks, n => n, n => n === network && !filmOn(), pickNetwork);
  buttons($("digits"), DATA.digits, d => `'${d}'`, d => d === digit,
          d => { digit = d; draw(); });
  details();
  keepStop(inFigure);
}
function applyBox(P, after, R) {
  // The box under the caption: the apply stage's step and its loss along the step, or on
  // the film, its player (with the frame drawn on the figure).
  const A = P.apply, box = $("apply-box");
  box.style.display = after ? "block" : "none";
  box.innerHTML = after ? `<b>One step (learning rate ${A.lr}) on this image</b><br>` +
    `P('${A.target}'): <span class="num">${A.before} → ${A.after}</span> ` +
    `(read again by the engine)<br>loss: <span class="num">${A.loss} → ${A.lossAfter}</span>` +
    `<br>${escape(A.estimate)}` +
    (steps > 1 ? `<br><b>After ${steps} steps</b> on this image (each from the engine's new ` +
     `grads): P('${A.target}') <span class="num">${R.target}</span>, loss ` +
     `<span class="num">${R.loss}</span>` : "") +
    (steps < P.readings.length ? '<br><span class="hint">Press "take one learning step" again ' +
     "for one more step.</span>" : "") + alongChart(A.along) : "";
  if (filmOn()) {  // the film's player in the box, and its frame on the figure
    player = player || makePlayer();
    box.style.display = "block";
    if (box.firstChild !== player) box.replaceChildren(player);
    showFrame(at);
  } else {
    play(false);
  }
}
function alongChart(L) {
  // The real loss along the step (the engine's, at t = 0 … 2 steps) beside its straight-line
  // estimate (the tangent at t = 0: loss before + t·Σ ∂loss/∂w·Δw), the step taken (t = 1)
  // marked. Only drawn: every number is the data's. Its words are HTML, at the panel's size.
  const W = 220, H = 120, pad = 6, line = t => L.start + L.slope * t;
  const lo0 = Math.min(...L.loss, line(2)), hi = Math.max(...L.loss, line(0), line(2));
  // At least 1% of the loss tall: a change at the floats' last digits is drawn flat, not
  // stretched to the chart's height.
  const lo = Math.max(0, lo0), span = Math.max(hi - lo, hi / 100) || 1;
  const x = t => pad + (t / 2) * (W - 2 * pad);
  const y = v => H - pad - ((v - lo) / span) * (H - 2 * pad);
  // The estimate stops where it would go below 0 (a loss never does).
  const end = L.slope < 0 ? Math.min(2, (lo - L.start) / L.slope) : 2;
  const real = L.t.map((t, i) => `${x(t).toFixed(1)},${y(L.loss[i]).toFixed(1)}`).join(" ");
  const at = L.t.indexOf(1);
  return '<div class="along"><b>The real loss along the step</b>' +
    `<svg id="along" viewBox="0 0 ${W} ${H}" role="img" aria-label="The real loss along the ` +
    `step, from before it to a step twice as big, and the straight-line estimate">` +
    `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="${COLOURS.rule}"/>` +
    `<line x1="${x(1)}" y1="${pad}" x2="${x(1)}" y2="${H - pad}" stroke="${COLOURS.rule}" ` +
    'stroke-dasharray="2 3"/>' +
    `<line id="along-estimate" x1="${x(0)}" y1="${y(line(0)).toFixed(1)}" x2="${x(end).toFixed(1)}" ` +
    `y2="${y(line(end)).toFixed(1)}" stroke="${COLOURS.purple}" stroke-width="2" ` +
    'stroke-dasharray="6 4"/>' +
    `<polyline id="along-real" points="${real}" fill="none" stroke="${COLOURS.text}" ` +
    'stroke-width="2.5"/>' +
    `<circle id="along-step" cx="${x(1)}" cy="${y(L.loss[at]).toFixed(1)}" r="5" ` +
    `fill="${COLOURS.orange}" stroke="${COLOURS.text}"/></svg>` +
    '<div class="along-axis"><span>before</span><span>this step</span><span>2 × it</span></div>' +
    '<div>solid: the real loss along the step (read by the engine)</div>' +
    '<div>dashed: the straight-line estimate</div><div>dot: where this step lands</div>' +
    (L.apart ? "<div>Where they part, the step was too big for a straight line.</div>" : "") +
    "</div>";
}
let mathsOpen = false;  // whether the reader opened "show the maths": kept from stage to stage
function drawnNow(s) {
  // Whether the selection is drawn at this stage: a neuron always, a weight by its line or
  // its black arrow.
  if (s.kind !== "weight") return true;
  const id = `${s.layer}-${s.j}-${s.k}`;
  return $(`w${id}`).style.display !== "none" || Boolean($(`dw${id}`));
}
function folded(maths) {
  // A caption's or a panel's maths (a node, or the panel's HTML) under "show the maths",
  // open as the reader last left a fold.
  const fold = document.createElement("details"), summary = document.createElement("summary");
  fold.className = "maths"; fold.open = mathsOpen; summary.textContent = "show the maths";
  fold.append(summary);
  if (typeof maths === "string") fold.insertAdjacentHTML("beforeend", maths);
  else fold.append(maths);
  // The click (a key on the summary clicks it too) says the choice at once: "toggle" comes a
  // task later, and a next-stage key pressed at once could rebuild the fold before it.
  summary.addEventListener("click", () => { mathsOpen = !fold.open; });
  fold.addEventListener("toggle", () => { mathsOpen = fold.open; });
  return fold;
}
function caption(S) {
  // Plain words first, then the maths folded: built as text, never parsed as HTML.
  const words = document.createElement("p");
  words.className = "words"; words.textContent = S.caption;
  $("caption").replaceChildren(words);
  if (!S.maths) return;
  const maths = document.createElement("p");
  maths.textContent = S.maths;
  $("caption").append(folded(maths));
}
function escape(text) {
  return String(text).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}
function minus(value) {
  // The engine's numbers as the page shows them: with a typographic minus sign.
  return String(value).replace(/-/g, "−");
}
function size(value) {
  // A number's size without its sign, for a sentence that says its sign in words.
  return minus(value).replace(/^−/, "");
}
function row(label, value) {
  return `<p>${label} <span class="num">${minus(value)}</span></p>`;
}
function words(text) {
  return `<p class="words">${text}</p>`;
}
function engine(label) {
  // The engine's label, second to the name: what a print or the stepper's tooltip says.
  return label ? `<p class="hint engine">in the engine: ${escape(label)}</p>` : "";
}
function weightNumbers(layer, j, k, redo) {
  // A weight's ∂loss/∂w, Δw and w after the step, as the engine printed them: in the data
  // (the explorer's page), or, where a reading leaves them out (the studio's: 4,320 numbers
  // per drawing for the one line selected), asked of explorer.ask, then `redo`; "…" until then.
  const P = current(), W = P.weights && P.weights[layer - 1], key = `${layer}-${j}-${k}`;
  if (W) return {grad: W.grad[j][k], dw: W.dw[j][k], after: W.after[j][k]};
  const asked = P.asked || (P.asked = {}), ask = window.explorer.ask;
  let line = asked[key];
  if (!line && ask) {
    line = asked[key] = {grad: "…", dw: "…", after: "…", then: []};  // (the panel, a label)
    ask({reading: DATA.reading, layer, j, k}).then(found => {
      asked[key] = found;
      if (current() === P) line.then.forEach(f => f());
    }, () => { delete asked[key]; });  // (a newer reading replaced this one: asked anew)
  }
  if (line && line.then) line.then.push(redo);
  return line || {grad: "…", dw: "…", after: "…"};
}
function details() {
  document.querySelectorAll(".sel, .picked").forEach(el => el.classList.remove("sel", "picked"));
  const host = $("details");
  if (!selected) { host.innerHTML = '<span class="hint">Nothing selected.</span>'; return; }
  if (filmOn() && selected.layer > 0) {  // its story over the film's frames
    const {layer, j, k} = selected;
    $(selected.kind === "weight" ? `w${layer}-${j}-${k}` : `n${layer}-${j}`)
      .classList.add(selected.kind === "weight" ? "sel" : "picked");
    filmDetails(host);
    return;
  }
  if (selected.kind === "weight") weightDetails(host); else neuronDetails(host);
  studioStory(host);
}
function weightDetails(host) {
  // A weight's numbers in the panel: a sentence, then its maths folded.
  const P = current(), A = P.apply;
  const {layer, j, k} = selected, W = weightNumbers(layer, j, k, details);
  const w = weights().w[layer - 1];
  const from = P.neurons[layer - 1][k], into = P.neurons[layer][j];
  const a = layer === 1 ? from.reads : from.a;
  $(`w${layer}-${j}-${k}`).classList.add("sel");
  host.innerHTML = `<b>The weight from ${from.name} into ${into.name}</b>` +
    engine(`${into.label}.w.${k}`) + words(weightWords(W, w[j][k], into, from, a));
  host.append(folded(row("w =", w[j][k]) +
    row("∂loss/∂w = δ · a =", `(${into.delta}) × (${a}) = ${W.grad}`) +
    `<p class="hint">δ = ∂loss/∂z of ${into.name}; a = what ${from.name} passes on` +
    `${layer === 1 ? " (the pixel as the network reads it)" : ""}</p>` +
    row("Δw = −η·∂loss/∂w =", `${W.dw} (η = ${A.lr})`) +
    row("w after the step =", W.after) +
    `<p class="hint">Every weight into ${into.name} shares its δ, so their changes differ ` +
    `only by a: the weight from the most active neuron changes most.</p>`));
}
function neuronDetails(host) {
  // A neuron's (or a pixel's) numbers in the panel: a sentence, then its maths folded.
  const P = current(), S = P.stages[stage], {layer, j} = selected, N = P.neurons[layer][j];
  $(`n${layer}-${j}`).classList.add("picked");
  if (layer === 0) {
    host.innerHTML = `<b>${N.name}</b>` + row("ink:", N.ink) +
      row("the network reads", `${N.reads}`) +
      '<p class="hint">(the ink compared with the training images\' at this pixel: (ink − ' +
      'their mean) ÷ their spread, the standard deviation; a blank pixel mostly reads below 0)' +
      '</p>' +
      row("−∂loss/∂x =", N.want);
    return;
  }
  host.innerHTML = `<b>${N.name}</b>` + engine(N.label) + words(neuronWords(N, S));
  let html = row("Σ: z = Σ w·a + b =", `${N.z} (b = ${N.b})`);
  if (N.parts) {
    html += row("output: a = relu(z) =", N.a) +
      row("−∂loss/∂a =", N.want) +
      '<p class="hint">(which way a should move: up if positive)</p>' +
      row("δ = ∂loss/∂z =", N.delta) +
      '<p class="hint">(relu passes the gradient on where z > 0, else 0)</p>' +
      `<p>−∂loss/∂a is the sum of what the ${N.parts.length} neurons it feeds pass back, ` +
      "each −δ × w (largest first):</p>";
    const next = P.neurons[layer + 1], w = weights().w[layer];
    N.parts.slice(0, 6).forEach(([i, value]) => {
      html += row(`${next[i].name}:`, `−(${next[i].delta}) × (${w[i][j]}) = ${value}`);
    });
    if (N.parts.length > 6) html += `<p class="hint">… and ${N.parts.length - 6} more</p>`;
    html += row("sum of all of them:", `${N.want}`);
  } else {
    html += row("P (softmax) =", N.p) +
      (S.key === "apply" ? row("after one step:", N.pAfter) : "") +
      row("δ = ∂loss/∂z =", `${N.delta}`) +
      `<p class="hint">(${N.target ? "P − 1: this is the right digit" :
                                      "P: a wrong digit"})</p>`;
  }
  host.append(folded(html));
}
function weightWords(W, w, into, from, a) {
  // A weight's step in one plain sentence from the engine's numbers: only their signs read.
  const change = sign(W.dw)[1], dw = String(W.dw);
  const step = dw === "…" ? `The change of this weight (now ${minus(w)}) in one step is on ` +
    "its way…" : change === "it grows" ? `In one step this weight grows by ${size(dw)}, ` +
    `from ${minus(w)} to ${minus(W.after)}` : change === "it shrinks" ? "In one step this " +
    `weight shrinks by ${size(dw)}, from ${minus(w)} to ${minus(W.after)}` :
    `In one step this weight stays ${minus(w)}`;
  const d = sign(into.delta)[1];  // δ > 0: the loss falls as z falls
  const want = d === "it grows" ? "should go down" : d === "it shrinks" ? "should go up"
    : "is not asked to move";
  return `${step}: ${into.name}, which it feeds, ${want}, and ${from.name} passes it ` +
    `${minus(a)}.`;
}
function neuronWords(N, S) {
  // A neuron in one plain sentence: what it passes on and which way the loss wants it.
  if (N.parts) {
    const want = sign(N.want)[1], d = sign(N.delta)[1];
    return `${N.name} passes on ${minus(N.a)}; to lower the loss its output ` +
      (want === "it grows" ? "should go up" : want === "it shrinks" ? "should go down"
        : "need not move") +
      (d === "no change" && want !== "no change" ? ", but its z is below 0, so none of " +
       "that reaches its weights (relu passes no gradient there)." : ".");
  }
  const p = S.key === "apply" ? N.pAfter : N.p;
  return `The network gives ${N.name} the probability ${minus(p)}` +
    (S.key === "apply" ? " after one step" : "") + ": " +
    (N.target ? "it is the right digit, so a step pushes it up." :
                "it is a wrong digit, so a step pushes it down.");
}
function follow() {
  // On a phone the figure is wider than its box: a new stage scrolls the box (not the page)
  // to what the stage is about, its ringed neurons and its labels and arrows: centred if they
  // fit in the box, else from their left edge (the story reads left to right).
  const box = $("figure");
  if (box.scrollWidth <= box.clientWidth) return;
  const parts = [$("overlay"), ...current().stages[stage].rings.map(([l, j]) => $(`n${l}-${j}`))]
    .map(el => el.getBoundingClientRect()).filter(r => r.width > 0);
  if (!parts.length) return;
  const b = box.getBoundingClientRect(), left = Math.min(...parts.map(r => r.left));
  const right = Math.max(...parts.map(r => r.right)), wide = right - left;
  box.scrollLeft += wide <= b.width ? (left + right - b.left - b.right) / 2 : left - b.left - 8;
}
// On a phone the figure fits the screen (the whole network, small); "larger figure" draws it
// wide enough to read in a box the finger swipes (figure.css), scrolled to the stage's part.
$("figure-size").addEventListener("click", e => {
  const large = $("figure").classList.toggle("large");
  e.currentTarget.setAttribute("aria-pressed", String(large));
  e.currentTarget.classList.toggle("on", large);
  follow();
});
function go(i) {
  stage = Math.max(0, Math.min(KEYS.length - 1, i));
  steps = 1; picked = false;
  // The story's last stage is about the network after training: show that one, and on
  // leaving it give back the story's own network, whose captions the other stages tell.
  if (KEYS[stage] === "repeat" && DATA.networks.includes("trained")) {
    if (network !== "trained") story = network;
    network = "trained";
  } else if (story !== null) {
    network = story;
  }
  if (KEYS[stage] !== "repeat") story = null;
  draw();
  follow();
}
function pickNetwork(n) {
  network = n; story = null;  // the learner's own choice: kept on every stage
  picked = KEYS[stage] === "repeat";  // (there: that network instead of the film)
  draw();
}
function apply() {
  const at = KEYS.indexOf("apply");
  if (stage !== at) { go(at); return; }
  steps = Math.min(steps + 1, current().readings.length);
  draw();
}
function select(id) {
  const m = /^d?w(\d+)-(\d+)-(\d+)$/.exec(id), n = /^n(\d+)-(\d+)$/.exec(id);
  if (m) selected = {kind: "weight", layer: +m[1], j: +m[2], k: +m[3]};
  else if (n) selected = {kind: "neuron", layer: +n[1], j: +n[2]};
  else return false;
  details();
  place(id, document.activeElement === $(id));  // the tab stop follows the selection
  return true;
}
// Where the pointer last went up, to a fraction of a CSS px: a click's point is whole px, and
// half a pixel is the gap between two lines that nearly cross.
let pointer = null;
$("net").addEventListener("pointerup", e => { pointer = [e.clientX, e.clientY]; });
function nearest(e) {
  // The drawn line nearest the click, within REACH CSS px (where lines cross or meet, the
  // one the click is on, not the one drawn last), or null.
  const m = $("net").getScreenCTM();
  if (!m) return null;
  const [x, y] = pointer && Math.abs(pointer[0] - e.clientX) < 1 &&
    Math.abs(pointer[1] - e.clientY) < 1 ? pointer : [e.clientX, e.clientY];
  const p = new DOMPoint(x, y).matrixTransform(m.inverse());
  let best = null, closest = REACH / Math.hypot(m.a, m.b);  // in the drawing's units
  lines.forEach((el, i) => {
    if (el.style.display === "none") return;
    const [x1, y1, x2, y2] = ends[i], dx = x2 - x1, dy = y2 - y1;
    const t = Math.max(0, Math.min(1, ((p.x - x1) * dx + (p.y - y1) * dy) /
                                      (dx * dx + dy * dy || 1)));
    const d = Math.hypot(x1 + t * dx - p.x, y1 + t * dy - p.y);
    if (d <= closest) { best = el; closest = d; }
  });
  return best;
}
$("net").addEventListener("click", e => {
  // A neuron or a black arrow is what it is; anything else (a line, its hit area, a label
  // or note over lines) selects the line nearest the click.
  const el = e.target.dataset.for ? $(e.target.dataset.for) : e.target.closest("[id]");
  if (el && !el.classList.contains("w") && select(el.id)) return;
  const line = nearest(e);
  if (line) select(line.id);
});
$("prev").onclick = () => go(stage - 1);
$("next").onclick = () => go(stage + 1);
$("apply").onclick = apply;
// --- The figure by keyboard: one tab stop (a roving tabindex), announced by its label ------
// Its columns, left to right: the image's pixels, the lines (with their black arrows) into
// hidden layer 1, hidden layer 1, … the outputs. ←/→ move between columns, ↑/↓ within one,
// Home/End to its ends, Enter/Space select as a click does; lines not drawn are skipped.
const SVG_NS = "http://www.w3.org/2000/svg";
let focusId = null, focusAt = null;  // the tab stop's id, and where it was (drawing units)
const focusRing = document.createElementNS(SVG_NS, "g");
focusRing.id = "focus-ring"; focusRing.setAttribute("aria-hidden", "true");
$("net").append(focusRing);
function weightOrder(a, b) {
  // Into the same neuron, one input after another, each line before its black arrow.
  const key = el => { const m = /^(d?)w\d+-(\d+)-(\d+)$/.exec(el.id); return [+m[2], +m[3], m[1]]; };
  const [x, y] = [key(a), key(b)];
  return x[0] - y[0] || x[1] - y[1] || (x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0);
}
function columns() {
  const cols = [];
  for (let layer = 0; layer < DATA.sizes.length; layer++) {
    if (layer > 0) {
      const drawn = lines.filter(el => el.style.display !== "none" &&
                                       el.id.startsWith(`w${layer}-`));
      const arrows = [...$("overlay").querySelectorAll(`[id^="dw${layer}-"]`)];
      cols.push([...drawn, ...arrows].sort(weightOrder));
    }
    cols.push([...$("net").querySelectorAll(`.n[id^="n${layer}-"]`)]);
  }
  return cols.filter(col => col.length);
}
function centre(el) {
  const b = el.getBBox();
  return {x: b.x + b.width / 2, y: b.y + b.height / 2};
}
function said(value) {
  // A number as a screen reader should say it: a real minus sign, read "minus".
  return minus(value);
}
function sign(value) {
  const x = parseFloat(String(value).replace(/^−/, "-"));
  return x > 0 ? ["solid: positive", "it grows"] : x < 0 ? ["dashed: negative", "it shrinks"]
    : ["zero", "no change"];
}
function spoken(id) {
  // What the element says when it has the focus: its plain name and its value, the sign in
  // words (a line's dash is its sign, not only its colour).
  const P = current(), S = P.stages[stage], m = /^(d?)w(\d+)-(\d+)-(\d+)$/.exec(id);
  if (m) {
    const [layer, j, k] = [+m[2], +m[3], +m[4]];
    const names = `${P.neurons[layer - 1][k].name} into ${P.neurons[layer][j].name}`;
    if (!m[1]) {
      const w = filmOn() ? FILM.w[at][layer - 1][j][k] : weights().w[layer - 1][j][k];
      return `weight from ${names}: ${said(w)} (${sign(w)[0]})`;
    }
    const relabel = () => { if (focusId === id) $(id).setAttribute("aria-label", spoken(id)); };
    const dw = weightNumbers(layer, j, k, relabel).dw, times = $(id).dataset.times;
    return `black arrow, the change in one step of the weight from ${names}: ${said(dw)} ` +
      `(${sign(dw)[1]})${times ? `, drawn ${times} longer than true` : ""}`;
  }
  const n = /^n(\d+)-(\d+)$/.exec(id), layer = +n[1], N = P.neurons[layer][+n[2]];
  if (layer === 0) return `${N.name}: ink ${N.ink}`;
  if (filmOn()) {  // the film's frame, as the figure shows it
    const key = String(digit), j = +n[2];
    return layer === DATA.sizes.length - 1 ? `${N.name}: ${FILM.frames[at].digits[key].p[j]}`
      : `${N.name}: output ${said(FILM.a[key][at][layer - 1][j].toPrecision(4))}`;
  }
  if (N.p !== undefined) return `${N.name}: P ${S.key === "apply" ? N.pAfter : N.p}`;
  return `${N.name}: output ${said(N.a)}`;
}
function place(id, focus) {
  // Make the element ``id`` the figure's one tab stop, labelled, and focus it if ``focus``.
  const old = focusId && $(focusId), el = $(id);
  if (!el || el.style.display === "none") return;  // (a line not drawn: never a stop)
  if (old) ["tabindex", "role", "aria-label"].forEach(a => old.removeAttribute(a));
  focusId = id; focusAt = centre(el);
  el.setAttribute("tabindex", "0"); el.setAttribute("role", "button");
  el.setAttribute("aria-label", spoken(id));
  if (focus) el.focus();
  ring();
}
function keepStop(focus) {
  // After a redraw: the same element if it is still drawn, else the one drawn nearest it.
  const all = columns().flat();
  let el = all.find(e => e.id === focusId);
  if (!el && focusAt) {
    const far = e => { const c = centre(e); return Math.hypot(c.x - focusAt.x, c.y - focusAt.y); };
    el = all.reduce((a, b) => (far(b) < far(a) ? b : a), all[0]);
  }
  el = el || all[0];
  if (el) place(el.id, focus);
}
function ring() {
  // A thick dashed ring (on a white one, for dark pixels) around the focused element, 4 CSS
  // px clear of it (or 4 units, when the figure is large): a tube along a line, a circle
  // round a neuron, a box round a pixel or an arrow.
  const el = focusId && $(focusId), m = $("net").getScreenCTM();
  focusRing.replaceChildren();
  if (!el || document.activeElement !== el || !m) return;
  const pad = Math.max(4, 4 / Math.hypot(m.a, m.b)), shape = document.createElementNS(
    SVG_NS, el.tagName === "line" ? "polygon" : el.tagName === "circle" ? "circle" : "rect");
  if (el.tagName === "line") {
    const [x1, y1, x2, y2] = ["x1", "y1", "x2", "y2"].map(a => Number(el.getAttribute(a)));
    const long = Math.hypot(x2 - x1, y2 - y1) || 1;
    const [ux, uy] = [(x2 - x1) / long * pad, (y2 - y1) / long * pad];
    shape.setAttribute("points", [[x1 - ux - uy, y1 - uy + ux], [x2 + ux - uy, y2 + uy + ux],
      [x2 + ux + uy, y2 + uy - ux], [x1 - ux + uy, y1 - uy - ux]].map(p => p.join(",")).join(" "));
  } else if (el.tagName === "circle") {
    ["cx", "cy"].forEach(a => shape.setAttribute(a, el.getAttribute(a)));
    shape.setAttribute("r", Number(el.getAttribute("r")) + pad);
  } else {
    const b = el.getBBox();
    [["x", b.x - pad], ["y", b.y - pad], ["width", b.width + 2 * pad],
     ["height", b.height + 2 * pad]].forEach(([a, v]) => shape.setAttribute(a, v));
  }
  const under = shape.cloneNode();
  under.classList.add("under"); shape.classList.add("ring");
  focusRing.append(under, shape);
}
function move(e) {
  // An arrow key, Home or End in the figure moves the focus; Enter or Space selects.
  if (e.key === "Enter" || e.key === " ") { select(focusId); e.preventDefault(); return; }
  const cols = columns(), c = cols.findIndex(col => col.some(el => el.id === focusId));
  if (c < 0) return;
  const col = cols[c], i = col.findIndex(el => el.id === focusId);
  const across = {ArrowRight: cols[c + 1], ArrowLeft: cols[c - 1]}[e.key];
  const along = {ArrowDown: col[i + 1], ArrowUp: col[i - 1], Home: col[0],
                 End: col[col.length - 1]}[e.key];
  if (!across && !along && !(e.key in {ArrowRight: 1, ArrowLeft: 1, ArrowDown: 1, ArrowUp: 1})) {
    return;
  }
  e.preventDefault();
  let next = along;
  if (across) {  // the element of the next column level with this one
    const y = centre(col[i]).y, off = el => Math.abs(centre(el).y - y);
    next = across.reduce((a, b) => (off(b) < off(a) ? b : a), across[0]);
  }
  if (next) place(next.id, true);
}
$("net").addEventListener("focusin", ring);
$("net").addEventListener("focusout", ring);  // (the focus is nowhere yet: no ring)
function typing(el) {
  // Whether keys go into a text field, a menu or editable text: theirs, never the stage's.
  return Boolean(el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"]
                                                  .includes(el.tagName)));
}
document.addEventListener("keydown", e => {
  if (e.altKey || e.ctrlKey || e.metaKey || e.isComposing || typing(e.target)) return;
  // Page Up/Down change the stage anywhere, ←/→ too outside the figure (in it they move).
  const inFigure = $("net").contains(e.target);
  const step = {PageDown: 1, PageUp: -1,
                ...(inFigure ? {} : {ArrowRight: 1, ArrowLeft: -1})}[e.key];
  if (step) { go(stage + step); e.preventDefault(); } else if (inFigure) move(e);
});
// New passes for the same drawing (the studio's live numbers): shown at the current stage.
function load(data) {
  DATA = data; network = DATA.networks[0]; digit = DATA.digits[0]; steps = 1; story = null;
  if (selected && selected.kind === "neuron" && !current().neurons[selected.layer]) {
    selected = null;
  }
  draw();
}
// --- Training: a frame drawn on the figure, the loss curve, the film, a weight's story -------
// Every number is the data's (frames.py: the engine's, recorded while it trained); the page
// looks each line's code up in DATA.looks and writes what the frame says.
const FILM = DATA.film || null;
let at = 0, playing = null;  // the film's frame shown, and its timer while it plays
let lastStory = null;  // the story last drawn in the panel (for tests: explorer.story())
function look(code) {
  // A line's code (frames.line_codes): c >= 0 positive, strength c/100; c < 0 negative.
  return code >= 0 ? DATA.looks.positive[code] : DATA.looks.negative[-1 - code];
}
function strongestOf(codes, S) {
  // Per layer and neuron, the inputs of the largest strength (a code's |c| or −1 − c) for
  // the layers the stage shows by their strongest lines: read off the codes, no weights.
  const out = [];
  let i = 0;
  for (let layer = 1; layer < DATA.sizes.length; layer++) {
    const J = DATA.sizes[layer], K = DATA.sizes[layer - 1], spec = S.visible[layer];
    out.push([]);
    for (let j = 0; j < J; j++, i += K) {
      if (!spec || !spec.strongest) { out[layer - 1].push([]); continue; }
      const order = [...Array(K).keys()], c = codes.slice(i, i + K).map(v => (v < 0 ? -1 - v : v));
      order.sort((a, b) => c[b] - c[a] || a - b);  // ties: the first input, as np's stable sort
      out[layer - 1].push(order.slice(0, spec.strongest));
    }
  }
  return out;
}
function frame(f, key) {
  // Draw frame ``f`` for the digit ``key``: each line's look (only what changed: drawLines'
  // cache) and the lines the stage shows (its strongest per neuron, from the frame's codes),
  // the neurons of layers 1…L shaded as the frame says (the pixels stay the image's).
  const S = current().stages[stage];
  drawLines(S, i => look(f.lines[i]), strongestOf(f.lines, S), false);
  const D = f.digits[key], last = D.fills.length - 1;
  D.fills.forEach((fills, l) => fills.forEach((fill, j) => {
    const el = $(`n${l + 1}-${j}`);
    if (el.getAttribute("fill") !== fill) el.setAttribute("fill", fill);
    $(`t${l + 1}-${j}`).setAttribute("fill", D.dark[l][j] ? "white" : COLOURS.text);
    if (l === last) $(`p${j}`).textContent = D.p[j];
  }));
}
function chartPath(xs, ys, x, y) {
  // An SVG path through the points whose value is a number (a null leaves a gap).
  let d = "", pen = "M";
  xs.forEach((s, i) => {
    if (ys[i] === null || ys[i] === undefined) { pen = "M"; return; }
    d += `${pen}${x(s).toFixed(1)},${y(ys[i]).toFixed(1)}`; pen = "L";
  });
  return d;
}
function loss3(value) {
  // A batch loss in a sentence: 3 significant digits (the curve keeps the data's 7).
  return minus(Number(value).toPrecision(3));
}
function percent(fraction) {
  return `${(100 * fraction).toFixed(1).replace(/\.0$/, "")}%`;
}
function sig4(value) {
  // A number of the data to at most 4 significant digits, never more than it holds (the
  // film's weights hold 3: "0.123", not "0.1230").
  return minus(String(Number(Number(value).toPrecision(4))));
}
function lossPoints(C) {
  // [steps, losses] of C.losses: one per step (losses[i] after step i + 1; the film's), or
  // [step, loss] pairs (the studio's: a frame of 10 batches tells its last one's).
  if (C.losses.length && Array.isArray(C.losses[0])) {
    return [C.losses.map(p => p[0]), C.losses.map(p => p[1])];
  }
  return [C.losses.map((v, i) => i + 1), C.losses];
}
function accuracyPoints(C) {
  // [step, fraction] pairs from C.accuracy: either pairs already, or one entry per entry of
  // C.losses (the step after its batch: i + 1), null where not measured.
  return (C.accuracy || []).map((v, i) => (Array.isArray(v) ? v : [i + 1, v]))
    .filter(([, v]) => v !== null && v !== undefined);
}
function trainingRead(C) {
  // What both training charts read off C: the losses' points, the steps the x axis spans,
  // the loss scale's top, the accuracies' points, and the loss and accuracy at the marker.
  const [xs, ys] = lossPoints(C), acc = accuracyPoints(C);
  const known = ys.filter(v => v !== null && v !== undefined);
  return {xs, ys, acc, steps: Math.max(1, C.steps || xs[xs.length - 1] || 0),
          top: Math.max(...known, 1e-9), lossAt: ys[xs.lastIndexOf(C.marker)],
          accAt: acc.filter(([s]) => s <= C.marker).pop()};
}
function trainingChart(host, C) {
  // The batch loss at each step (solid line, losses[i] after step i + 1) and the held-out
  // accuracy (dashed line through round dots, 0-100% on its own axis), a marker at step
  // C.marker; epochs ticked. Its words are HTML at the panel's size; it takes the host's width.
  const {xs, ys, acc, steps, top, lossAt, accAt} = trainingRead(C), W = 320, H = 150, pad = 8;
  const x = s => pad + (s / steps) * (W - 2 * pad), y = v => H - pad - (v / top) * (H - 2 * pad);
  const yA = v => H - pad - v * (H - 2 * pad);
  const said = `step ${C.marker}: ` + (lossAt === undefined || lossAt === null ? "no batch yet"
    : `loss ${loss3(lossAt)}`) + (accAt ? `, ${percent(accAt[1])} of test digits right` : "");
  let ticks = "";
  for (let s = C.epochSteps; C.epochSteps && s < steps; s += C.epochSteps) {
    ticks += `<line x1="${x(s).toFixed(1)}" y1="${pad}" x2="${x(s).toFixed(1)}" y2="${H - pad}" ` +
      `stroke="${COLOURS.rule}" stroke-dasharray="1 3"/>`;
  }
  const dots = acc.length <= 60 ? acc.map(([s, v]) => `<circle cx="${x(s).toFixed(1)}" ` +
    `cy="${yA(v).toFixed(1)}" r="3" fill="${COLOURS.purple}"/>`).join("") : "";
  figureChart(C);  // the same numbers at a glance in the figure, under the image
  host.innerHTML = '<div class="training"><b>Training so far</b>' +
    `<svg class="training-chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escape(said)}">` +
    `<title>The batch loss at each training step and the share of test digits read right` +
    `</title><desc>${escape(said)}</desc>` + ticks +
    `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="${COLOURS.rule}"/>` +
    `<path class="loss" d="${chartPath(xs, ys, x, y)}" ` +
    `fill="none" stroke="${COLOURS.text}" stroke-width="1.5"/>` +
    `<path class="accuracy" d="${chartPath(acc.map(p => p[0]), acc.map(p => p[1]), x, yA)}" ` +
    `fill="none" stroke="${COLOURS.purple}" stroke-width="2" stroke-dasharray="6 4"/>${dots}` +
    `<line class="marker" x1="${x(C.marker).toFixed(1)}" y1="${pad}" x2="${x(C.marker).toFixed(1)}" ` +
    `y2="${H - pad}" stroke="${COLOURS.orange}" stroke-width="3"/></svg>` +
    '<div class="chart-axis"><span>0</span><span>training step (a batch of 32 images)</span>' +
    `<span>${steps}</span></div>` +
    `<div>solid line: loss (0 to ${loss3(top)} high)</div>` +
    "<div>dashed line with dots: right on test digits (0 to 100% high)</div>" +
    `<div>upright bar: ${escape(said)}</div></div>`;
  return host.firstChild;
}
function figureChart(C) {
  // The training at a glance inside the figure, under the image where the notes go (their
  // note is cleared): the batch loss falling (solid), the test digits read right rising
  // (dashed, 0-100%), a bar at the step shown, and two large lines of words. Drawn in the
  // figure's own units, it grows with the figure on a projector; the panel's trainingChart
  // has the axes and details. C as trainingChart's; null: none.
  const g = $("training");
  if (!C) { g.innerHTML = ""; return; }
  $("overlay").innerHTML = "";
  const {xs, ys, acc, steps, top, lossAt, accAt} = trainingRead(C);
  const X0 = 28, X1 = 226, Y0 = 484, Y1 = 566, x = s => X0 + 6 + (s / steps) * (X1 - X0 - 12);
  const y = v => Y1 - (v / top) * (Y1 - Y0), yA = v => Y1 - v * (Y1 - Y0);
  const said = (lossAt === undefined || lossAt === null ? "no batch yet" :
    `loss ${loss3(lossAt)}`) + (accAt ? ` · ${percent(accAt[1])} right` : "");
  const text = (yy, words, weight) => `<text x="${X0 + 8}" y="${yy}" font-size="15" ` +
    `font-weight="${weight}" fill="${COLOURS.text}">${escape(words)}</text>`;
  const epoch = C.epoch !== undefined ? ` · epoch ${C.epoch}` :
    C.epochSteps ? ` · epoch ${Math.floor(C.marker / C.epochSteps)}` : "";
  g.innerHTML = `<rect x="${X0}" y="446" width="${X1 - X0}" height="146" rx="6" fill="white" ` +
    `stroke="${COLOURS.muted}"/>` + text(466, `batch ${C.marker}${epoch}`, "bold") +
    `<path d="${chartPath(xs, ys, x, y)}" fill="none" ` +
    `stroke="${COLOURS.text}" stroke-width="2"/>` +
    `<path d="${chartPath(acc.map(p => p[0]), acc.map(p => p[1]), x, yA)}" fill="none" ` +
    `stroke="${COLOURS.purple}" stroke-width="2.5" stroke-dasharray="6 4"/>` +
    `<line x1="${x(C.marker).toFixed(1)}" y1="${Y0 - 4}" x2="${x(C.marker).toFixed(1)}" ` +
    `y2="${Y1 + 2}" stroke="${COLOURS.orange}" stroke-width="3"/>` + text(584, said, "normal");
}
function factors(now) {
  // The studio's story at the step shown: each factor of ∂loss/∂w = δ·a, its value and where
  // it comes from, in the server's words (the film's sentence says them itself).
  if (!now) return "";
  const item = (name, value, from) => (value === undefined ? "" :
    `<li>${name} = <span class="num">${minus(value)}</span>${from ? `: ${escape(from)}` : ""}</li>`);
  return '<ul class="factors">' + item("δ", now.delta, now.deltaFrom) + item("a", now.a, now.aFrom) +
    item("∂loss/∂w = δ·a", now.grad, "") + "</ul>";
}
function storyChart(host, story) {
  // A weight's story (its value and its ∂loss/∂w over the steps) or a neuron's (its a and its
  // δ): two small line charts, a marker at story.marker (default: the last step), and the
  // story's words. Takes the film's numbers or the studio's /api/story answer.
  const weight = story.value !== undefined, value = weight ? story.value : story.a;
  const grad = weight ? story.grad : story.delta, S = story.steps;
  const names = weight ? ["its value w", "its gradient ∂loss/∂w"] : ["its output a", "its δ"];
  const marker = story.marker === undefined ? S[S.length - 1] : story.marker;
  const W = 320, H = 80, pad = 6, first = S[0], span = Math.max(1, S[S.length - 1] - first);
  const x = s => pad + ((s - first) / span) * (W - 2 * pad);
  const one = (ys, name) => {
    const lo = Math.min(0, ...ys), hi = Math.max(0, ...ys), h = hi - lo || 1;
    const y = v => H - pad - ((v - lo) / h) * (H - 2 * pad), i = S.lastIndexOf(marker);  // (the state now)
    const now = i >= 0 ? `, ${sig4(ys[i])} at step ${marker}` : "";
    return `<div>${name} (from ${minus(lo.toPrecision(3))} to ${minus(hi.toPrecision(3))})</div>` +
      `<svg class="story-chart" viewBox="0 0 ${W} ${H}" role="img" ` +
      `aria-label="${escape(name)} over ${S.length} steps${escape(now)}">` +
      `<line x1="${pad}" y1="${y(0).toFixed(1)}" x2="${W - pad}" y2="${y(0).toFixed(1)}" ` +
      `stroke="${COLOURS.rule}" stroke-dasharray="2 3"/>` +
      `<path d="${chartPath(S, ys, x, y)}" fill="none" stroke="${COLOURS.text}" stroke-width="2"/>` +
      (i >= 0 ? `<circle cx="${x(marker).toFixed(1)}" cy="${y(ys[i]).toFixed(1)}" r="5" ` +
       `fill="${COLOURS.orange}" stroke="${COLOURS.text}"/>` : "") + "</svg>";
  };
  host.innerHTML = `<div class="story-charts">${one(value, names[0])}${one(grad, names[1])}` +
    `<div class="chart-axis"><span>step ${first}</span><span>dot: step ${marker}</span>` +
    `<span>${S[S.length - 1]}</span></div>` +
    (story.words ? `<p class="words">${escape(story.words)}</p>` : "") + factors(story.now) +
    "</div>";
  lastStory = story;
  return host.firstChild;
}
let picked = false;  // a network chosen on the Repeat stage: its own drawing, not the film
function filmOn() {
  return Boolean(FILM) && KEYS[stage] === "repeat" && !picked;
}
function filmStory() {
  // The selection's story over the film's frames, on the chosen digit: a weight's w and its
  // ∂loss/∂w = δ_j·a_k, a neuron's a and δ. The product of the two stored exact floats is an
  // IEEE double product, bit for bit the engine's grad (a test checks it against backward()).
  const key = String(digit), F = FILM.frames, {layer, j, k} = selected;
  const steps = F.map(f => f.step), A = FILM.a[key], D = FILM.delta[key];
  const input = (i, kk) => (layer === 1 ? FILM.x[key][kk] : A[i][layer - 2][kk]);
  const names = P => [P.neurons[layer][j].name, k === undefined ? "" : P.neurons[layer - 1][k].name];
  const [into, from] = names(current());
  if (k === undefined) {
    return {steps, a: F.map((f, i) => A[i][layer - 1][j]), delta: F.map((f, i) => D[i][layer - 1][j]),
            marker: F[at].step, into};
  }
  return {steps, value: F.map((f, i) => FILM.w[i][layer - 1][j][k]),
          grad: F.map((f, i) => D[i][layer - 1][j] * input(i, k)),
          delta: D[at][layer - 1][j], a: input(at, k), marker: F[at].step, into, from};
}
function filmDetails(host) {
  // The panel on the film: the selected weight's or neuron's story, in the panel's names.
  const s = filmStory(), g = sig4;
  let words;
  if (s.from) {
    const grad = s.grad[at];
    words = `At step ${s.marker}, ∂loss/∂w = δ·a = (${g(s.delta)})(${g(s.a)}) = ${g(grad)}: ` +
      `δ is how much the loss wants the sum of ${s.into} to change (its ∂loss/∂z), a is what ` +
      `${s.from} sent it.`;
    host.innerHTML = `<b>The weight from ${s.from} into ${s.into}</b>` +
      `<p class="hint">over the training, on the '${digit}'</p>`;
    lastStory = null;
    const chart = document.createElement("div");
    storyChart(chart, {steps: s.steps, value: s.value, grad: s.grad, marker: s.marker, words});
    host.append(chart);
  } else {
    words = `At step ${s.marker}, ${s.into} sends a = ${g(s.a[at])} on the '${digit}', and δ = ` +
      `${g(s.delta[at])}: how much the loss wants its sum to change (its ∂loss/∂z).`;
    host.innerHTML = `<b>${s.into}</b><p class="hint">over the training, on the '${digit}'</p>`;
    const chart = document.createElement("div");
    storyChart(chart, {steps: s.steps, a: s.a, delta: s.delta, marker: s.marker, words});
    host.append(chart);
  }
}
function studioStory(host) {
  // The studio's story of the selection over its live training (window.explorer.askStory,
  // set by the studio once it has trained), drawn under the panel's numbers when it comes.
  const ask = window.explorer.askStory, s = selected;
  if (!ask || !s || s.layer === 0) return;
  const box = document.createElement("div");
  box.className = "asked"; box.innerHTML = '<p class="hint">Its story over the training…</p>';
  host.append(box);
  ask({layer: s.layer, j: s.j, k: s.k}).then(answer => {
    if (selected === s && box.isConnected) storyChart(box, answer);
  }, () => box.remove());
}
let player = null;  // the film's player, built once: a redraw keeps the scrubber's focus
function makePlayer() {
  const box = document.createElement("div"), last = FILM.frames.length - 1;
  box.id = "film";
  box.innerHTML = '<div class="film-controls"><button type="button" id="film-play" ' +
    'aria-pressed="false">▶ play</button><label for="film-scrub">training frame</label>' +
    `<input type="range" id="film-scrub" min="0" max="${last}" step="1" value="0"></div>` +
    '<p id="film-where" class="num"></p><div id="film-chart"></div>' +
    '<p class="hint">The network buttons above show a network instead; the stage\'s ' +
    "button brings the film back.</p>";
  box.querySelector("#film-play").onclick = () => play(playing === null);
  box.querySelector("#film-scrub").addEventListener("input", e => {
    play(false); showFrame(Number(e.target.value));
  });
  return box;
}
function play(on) {
  // Play: a frame every 250 ms (4 a second) to the last; pressing play there starts again.
  if (playing !== null) clearInterval(playing);
  playing = null;
  if (on && filmOn()) {
    if (at === FILM.frames.length - 1) showFrame(0);
    playing = setInterval(() => {
      if (!filmOn() || at >= FILM.frames.length - 1) { play(false); return; }
      showFrame(at + 1);
    }, 250);
  }
  if (player) {
    const b = player.querySelector("#film-play");
    b.setAttribute("aria-pressed", String(playing !== null));
    b.textContent = playing !== null ? "❚❚ pause" : "▶ play";
  }
}
function trainingCaption(f, key, A) {
  // The caption of a moment of training (frame f, digit key): plain words with the engine's
  // numbers, then its maths folded. A, the training: from (its start, in words), subject
  // (the digit followed, in words), batch, optimizer, lr, epochSteps (null: not said), and
  // testedAt: the batch the accuracy f gives was read at, when not f's own.
  const D = f.digits[key], read = D.read;  // the engine's answer, from exact probabilities
  const acc = f.accuracy === null ? "" : `${percent(f.accuracy)} of the test digits are read ` +
    `right${A.testedAt !== undefined && A.testedAt !== f.step ? ` (at batch ${A.testedAt})` : ""}`;
  const text = `Training from ${A.from}: ` + (f.step === 0 || f.loss === null
    ? `before any batch${acc ? `, ${acc}` : ""}`
    : `after ${f.step} batches of ${A.batch} images the loss of a batch is ` +
      `${loss3(f.loss)}${acc ? ` and ${acc}` : ""}`) +
    `; ${A.subject} is read '${read}' with ${D.p[read]}.`;
  const words = document.createElement("p"), maths = document.createElement("p");
  words.className = "words"; words.textContent = text;
  maths.textContent = `Each step: the loss of a batch of ${A.batch} training images, ` +
    `loss = −(1/${A.batch}) Σ log P(its right digit), its gradient by backpropagation, and ` +
    `${A.optimizer} moves every weight (learning rate ${A.lr}).` + (A.epochSteps ?
      ` ${A.epochSteps} steps make one epoch (every training image once).` : "");
  $("caption").replaceChildren(words, folded(maths));
}
function filmCaption(f) {
  trainingCaption(f, String(digit), {from: "the untrained network", subject: `the '${digit}'`,
                                     batch: FILM.batch, optimizer: FILM.optimizer,
                                     lr: FILM.lr, epochSteps: FILM.epochSteps});
}
function showFrame(i) {
  // Frame i of the film: the figure, the player's words, its chart, the caption, the panel.
  at = Math.max(0, Math.min(FILM.frames.length - 1, i));
  const f = FILM.frames[at];
  frame(f, String(digit));
  if (!player) return;
  const scrub = player.querySelector("#film-scrub");
  scrub.value = String(at);
  const where = `step ${f.step} of ${FILM.steps} · epoch ${f.epoch}`;
  scrub.setAttribute("aria-valuetext", where);
  player.querySelector("#film-where").textContent = where;
  trainingChart(player.querySelector("#film-chart"), {
    losses: FILM.losses, accuracy: FILM.frames.map((g, n) => [g.step, FILM.accuracy[n]]),
    marker: f.step, epochSteps: FILM.epochSteps, steps: FILM.steps});
  $("net-title").textContent = `Training, step ${f.step}: the network reading a '${digit}'`;
  // The legend's "its layer's largest" are this frame's (the shading's scale), not the
  // trained network's.
  const tops = FILM.a[String(digit)][at].slice(0, -1).map(a => Math.max(...a).toFixed(2));
  $("legend").querySelectorAll("text").forEach(t => {
    t.textContent = t.textContent.replace(/layer's largest \([^)]*\)/,
                                          `layer's largest (${tops.join(", ")})`);
  });
  filmCaption(f);
  if (selected) details();
}
function filmAt(i) {
  // For tests: show frame i (as the scrubber does) and give it back.
  play(false); showFrame(i);
  return FILM.frames[at];
}
window.explorer = {go, select, apply, load, stage: () => KEYS[stage], stages: () => KEYS.slice(),
                   setNetwork: pickNetwork, network: () => network,
                   setDigit: d => { digit = d; draw(); },
                   frame, trainingChart, figureChart, trainingCaption, storyChart, filmAt,
                   percent, loss3, story: () => lastStory,
                   askStory: null};  // the studio's: async ({layer, j, k}) => /api/story answer
draw();

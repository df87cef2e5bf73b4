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
function draw() {
  const P = current(), S = P.stages[stage], N = weights();
  lines.forEach((el, i) => {
    const [layer, j, k] = where[i];
    const [colour, width, opacity, dash] = N.lines[i].split(" ");
    el.setAttribute("stroke", colour); el.setAttribute("stroke-width", width);
    el.setAttribute("stroke-dasharray", dash || "none");  // negative: dashed, not only red
    el.setAttribute("stroke-opacity", S.visible[layer] && S.visible[layer].into !== undefined
                    ? Math.min(1, Number(opacity) + 0.28) : opacity);
    el.style.display = shown(S.visible[layer], layer, j, k, N.strongest) ? "" : "none";
    hits[i].style.display = el.style.display;
  });
  const after = S.key === "apply", R = P.readings[steps - 1];
  P.fills.forEach((fills, layer) => fills.forEach((fill, j) => {
    const last = layer === P.fills.length - 1;
    const el = $(`n${layer}-${j}`);
    el.setAttribute("fill", after && last ? R.fills[j] : fill);
    if (layer > 0) {
      el.setAttribute("stroke", COLOURS.muted); el.setAttribute("stroke-width", "1");
      el.setAttribute("stroke-dasharray", "none");
      const dark = after && last ? R.dark[j] : P.dark[layer][j];  // the shading shown
      $(`t${layer}-${j}`).setAttribute("fill", dark ? "white" : COLOURS.text);
    }
    if (last) $(`p${j}`).textContent = (after ? R.p : P.p)[j];
  }));
  for (const [layer, j, colour, dash] of S.rings) {  // rings differ in dash, not only hue
    $(`n${layer}-${j}`).setAttribute("stroke", colour);
    $(`n${layer}-${j}`).setAttribute("stroke-width", "4");
    $(`n${layer}-${j}`).setAttribute("stroke-dasharray", dash || "none");
  }
  $("overlay").innerHTML = S.overlay;
  $("legend").innerHTML = S.legend;
  $("title").textContent = S.title;
  $("stage-title").textContent = S.title;
  caption(S);
  const A = P.apply, box = $("apply-box");
  box.style.display = after ? "block" : "none";
  box.innerHTML = after ? `<b>One step (learning rate ${A.lr}) on this image</b><br>` +
    `P('${A.target}'): <span class="num">${A.before} → ${A.after}</span> ` +
    `(read again by the engine)<br>loss: <span class="num">${A.loss} → ${A.lossAfter}</span>` +
    `<br>${escape(A.estimate)}` +
    (steps > 1 ? `<br><b>After ${steps} steps</b> on this image (each from the engine's new ` +
     `grads): P('${A.target}') <span class="num">${R.target}</span>, loss ` +
     `<span class="num">${R.loss}</span>` : "") +
    (steps < P.readings.length ? '<br><span class="hint">Press "apply one SGD step" again ' +
     "for one more step.</span>" : "") : "";
  buttons($("stages"), KEYS, k => NAMES[k], (k, i) => i === stage, (k, i) => go(i));
  buttons($("networks"), DATA.networks, n => n, n => n === network, pickNetwork);
  buttons($("digits"), DATA.digits, d => `'${d}'`, d => d === digit,
          d => { digit = d; draw(); });
  details();
}
let mathsOpen = false;  // whether the reader opened "show the maths": kept from stage to stage
function caption(S) {
  // Plain words first, then the maths folded: built as text, never parsed as HTML.
  const words = document.createElement("p");
  words.className = "words"; words.textContent = S.caption;
  $("caption").replaceChildren(words);
  if (!S.maths) return;
  const fold = document.createElement("details"), summary = document.createElement("summary");
  const maths = document.createElement("p");
  fold.className = "maths"; summary.textContent = "show the maths"; maths.textContent = S.maths;
  fold.open = mathsOpen;
  fold.addEventListener("toggle", () => { mathsOpen = fold.open; });
  fold.append(summary, maths);
  $("caption").append(fold);
}
function escape(text) {
  return String(text).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}
function row(label, value) {
  return `<p>${label} <span class="num">${value}</span></p>`;
}
function details() {
  document.querySelectorAll(".sel, .picked").forEach(el => el.classList.remove("sel", "picked"));
  const host = $("details");
  if (!selected) { host.innerHTML = '<span class="hint">Nothing selected.</span>'; return; }
  const P = current(), A = P.apply, S = P.stages[stage];
  if (selected.kind === "weight") {
    const {layer, j, k} = selected, W = P.weights[layer - 1], w = weights().w[layer - 1];
    const from = P.neurons[layer - 1][k], into = P.neurons[layer][j];
    const a = layer === 1 ? from.reads : from.a;
    $(`w${layer}-${j}-${k}`).classList.add("sel");
    host.innerHTML = `<b>The weight from ${from.name} into ${into.name}</b>` +
      row("w =", w[j][k]) +
      row("∂loss/∂w = δ · a =", `(${into.delta}) × (${a}) = ${W.grad[j][k]}`) +
      `<p class="hint">δ = ∂loss/∂z of ${into.name}; a = what ${from.name} passes on` +
      `${layer === 1 ? " (the pixel as the network reads it)" : ""}</p>` +
      row("Δw = −η·∂loss/∂w =", `${W.dw[j][k]} (η = ${A.lr})`) +
      row("w after the step =", W.after[j][k]) +
      `<p class="hint">Every weight into ${into.name} shares its δ, so their changes differ ` +
      `only by a: the weight from the most active neuron changes most.</p>`;
    return;
  }
  const {layer, j} = selected, N = P.neurons[layer][j];
  $(`n${layer}-${j}`).classList.add("picked");
  if (layer === 0) {
    host.innerHTML = `<b>${N.name}</b>` + row("ink:", N.ink) +
      row("the network reads", `${N.reads}`) +
      '<p class="hint">(standardised: (ink − mean) ÷ std over the training images)</p>' +
      row("−∂loss/∂x =", N.want);
    return;
  }
  let html = `<b>${N.name}</b>` + row("Σ: z = Σ w·a + b =", `${N.z} (b = ${N.b})`);
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
  host.innerHTML = html;
}
function go(i) {
  stage = Math.max(0, Math.min(KEYS.length - 1, i));
  steps = 1;
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
}
function pickNetwork(n) {
  network = n; story = null;  // the learner's own choice: kept on every stage
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
  details(); return true;
}
function nearest(e) {
  // The drawn line nearest the click, within REACH CSS px (where lines cross or meet, the
  // one the click is on, not the one drawn last), or null.
  const m = $("net").getScreenCTM();
  if (!m) return null;
  const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse());
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
  const el = e.target.closest("[id]");
  if (el && !el.classList.contains("w") && select(el.id)) return;
  const line = nearest(e);
  if (line) select(line.id);
});
$("prev").onclick = () => go(stage - 1);
$("next").onclick = () => go(stage + 1);
$("apply").onclick = apply;
document.addEventListener("keydown", e => {
  if (e.key === "ArrowRight") { go(stage + 1); e.preventDefault(); }
  if (e.key === "ArrowLeft") { go(stage - 1); e.preventDefault(); }
});
// New passes for the same drawing (the studio's live numbers): shown at the current stage.
function load(data) {
  DATA = data; network = DATA.networks[0]; digit = DATA.digits[0]; steps = 1; story = null;
  if (selected && selected.kind === "neuron" && !current().neurons[selected.layer]) {
    selected = null;
  }
  draw();
}
window.explorer = {go, select, apply, load, stage: () => KEYS[stage], stages: () => KEYS.slice(),
                   setNetwork: pickNetwork, network: () => network,
                   setDigit: d => { digit = d; draw(); }};
draw();

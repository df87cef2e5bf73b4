"use strict";
// Every number shown comes from this data, written by the engine; the page only swaps texts.
const DATA = JSON.parse(document.getElementById("data").textContent);
const steps = DATA.steps.map(([kind, text, highlight, changes, changed, neuron, layer]) => (
  {leaf: kind === "l", backward: kind === "b", text, highlight, changes, changed, neuron, layer,
   // One counter, the text's own: "forward 3 of 6", "backward 2 of 3".
   count: kind === "b" ? "backward " + text.slice(5, text.indexOf(":")) :
                         text.slice(0, text.indexOf(":"))}));
const $ = (id) => document.getElementById(id);
const explain = $("explain"), status = $("status");
let done = 0;        // how many steps are applied
let marked = [];     // ids of the highlighted groups: [current, changed]
let timer = null;
let showLeaves = false;  // leaf steps ("x3 = 0.5 (a leaf)") are applied but not stopped at
let flashed = [];        // the texts flashing now

function setText(id, text) {
  const el = $(id);
  if (el) el.textContent = text;
}
function visible(i) { return showLeaves || !steps[i].leaf; }
function apply(i) { for (const [id, text] of steps[i].changes) setText(id, text); }
function undo(i) { for (const [id, , old] of steps[i].changes) setText(id, old); }
function mark(current, changed) {
  for (const [id, cls] of marked) $(id)?.classList.remove(cls);
  marked = [...current.map(id => [id, "current"]), ...changed.map(id => [id, "changed"])];
  for (const [id, cls] of marked) $(id)?.classList.add(cls);
}
function show() {
  const step = done > 0 ? steps[done - 1] : null;
  status.textContent = step ? step.count : "start";
  explain.textContent = step ? step.text : "Start: no values computed yet.";
  where(step);
  mark(step ? step.highlight : [], step && step.changed ? step.changed : []);
  for (const el of flashed) el.classList.remove("flash");
  flashed = [];
  if (!step) {  // the start: the graph shows where the first step will be, not a blank corner
    const first = steps.length ? $(steps[0].highlight[0]) : null;
    if (first) centre(first);
    return;
  }
  flashed = step.changes.map(([id]) => $(id)).filter(Boolean);
  for (const el of flashed) { void el.getBBox(); el.classList.add("flash"); }  // flash anew
  const node = $(step.highlight[0]);
  if (node) centre(node);
}
// The graph scrolls in its own region, so the controls stay where they are; only on a window
// too short for both (a phone on its side, 200% zoom) does the page scroll as well, as little
// as brings the step's box into view.
function centre(el) {
  const graph = $("graph"), r = el.getBoundingClientRect(), box = graph.getBoundingClientRect();
  graph.scrollBy({left: r.left + r.width / 2 - box.left - box.width / 2,
                  top: r.top + r.height / 2 - box.top - box.height / 2});
  const now = el.getBoundingClientRect(), margin = 8;
  if (now.bottom > innerHeight) window.scrollBy(0, Math.min(now.top - margin,
                                                            now.bottom - innerHeight + margin));
  else if (now.top < 0) window.scrollBy(0, now.top - margin);
}
// As large as the window allows: the drawing (written at the size where its smallest text is
// 14 px) grows to fill the graph's width, up to 1.6 times; it never shrinks, so zooming the
// page in makes it larger, as a teacher expects. A small graph drawn left to right is often
// wider than the window (tanh(a*b + c): 1,738 px): the page then shows the same graph drawn
// top to bottom (DATA.tall), which scrolls down rather than cutting off its right-most boxes.
let drawing = document.querySelector("#graph svg");
const sizeOf = (svg) => [Number(svg.getAttribute("width")), Number(svg.getAttribute("height"))];
const wide = drawing.outerHTML, wideSize = sizeOf(drawing);
let drawn = wideSize, shown = "wide";
function room() {
  const graph = $("graph"), style = getComputedStyle(graph);
  return graph.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
}
function swap(kind) {  // the other drawing, its texts and outlines as the steps so far left them
  const holder = document.createElement("div");
  holder.innerHTML = kind === "wide" ? wide : DATA.tall;
  const svg = holder.firstElementChild;
  drawing.replaceWith(svg);
  drawing = svg; drawn = sizeOf(svg); shown = kind;
  for (const [id, text] of Object.entries(DATA.initial)) setText(id, text);
  for (let i = 0; i < done; i += 1) apply(i);
  for (const [id, cls] of marked) $(id)?.classList.add(cls);
  document.dispatchEvent(new Event("drawing"));  // (find.js makes its boxes buttons again)
}
function fit() {
  if (DATA.tall) {
    const kind = wideSize[0] <= room() ? "wide" : "tall";
    if (kind !== shown) swap(kind);
  }
  const k = Math.max(1, Math.min(1.6, room() / drawn[0]));
  drawing.setAttribute("width", Math.ceil(drawn[0] * k));
  drawing.setAttribute("height", Math.ceil(drawn[1] * k));
}
window.addEventListener("resize", fit);
fit();
function where(step) {  // the neuron a step is in: its one name, the engine's label after it,
  // then what the step text calls its parts ("z is its weighted sum, …"), said once here
  const [name, label, parts] = step && step.neuron >= 0 ? DATA.neurons[step.neuron] || [] : [];
  $("where").textContent = name ? `In ${name}` + (label ? ` (${label})` : "") +
    (parts ? `: ${parts}` : "") : "";
}
function goTo(k) {
  if (quiz) {  // moving on closes a question (one asked again is asked again later)
    if (quiz.again && !quiz.settled) session.missed.unshift({k: quiz.k, q: quiz.q, again: true,
                                                             due: 0});
    quiz = null; $("quiz").classList.add("hidden");
  }
  $("practice-summary").classList.add("hidden");
  k = Math.max(0, Math.min(steps.length, k));
  while (done < k) { apply(done); done += 1; }
  while (done > k) { done -= 1; undo(done); }
  show();
}
function next() {  // to the next step shown
  if (done >= steps.length) { pause(); return false; }
  if (quiz) return false;  // a question is open: answer it first
  let k = done;
  while (k < steps.length && !visible(k)) k += 1;
  const last = k < steps.length && !steps.slice(k + 1).some(s => s.backward);
  if (practising && k < steps.length && steps[k].backward &&
      (unsettled(k).length || (last && session.missed.length))) {
    goTo(k);
    begin(k);
    return false;
  }
  goTo(k + 1);
  if (practising && done === steps.length && started()) summarise();
  return true;
}
// Practice: the questions of a backward step are asked before it is applied. The questions,
// the answers, the hints and what to say to the likely slips are engine.practice's, given as
// data. A first wrong answer gets a hint or its slip named, the second the answer; a question
// missed is asked again a few questions later, and the end says which kinds went wrong. A
// question is asked (and counted) once a session, however the learner steps back and forth.
const REASK_AFTER = DATA.reask;
let practising = false, quiz = null;
let session = fresh();  // the queue of questions, the missed ones, the tally
function fresh() { return {queue: [], missed: [], finished: 0, asked: 0, right: 0, topics: {},
                            again: [0, 0], settled: new Set()}; }
function started() { return session.asked + session.again[1] > 0; }
function unsettled(k) {  // the questions of step k not yet settled in this session
  return questionsOf(k).map((_, q) => q).filter(q => !session.settled.has(`${k}:${q}`));
}
function picture(k) {  // the picture as it was before step k, the question left open
  while (done < k) { apply(done); done += 1; }
  while (done > k) { done -= 1; undo(done); }
}
function questionsOf(k) {
  const index = steps.slice(0, k + 1).filter(s => s.backward).length;
  return DATA.quiz ? DATA.quiz[String(index)] || [] : [];
}
function begin(at) {  // backward step `at`: its questions, then the step itself
  session.queue = unsettled(at).map(q => ({k: at, q, again: false}));
  take(at);
}
function take(at) {  // the next question (a missed one first, once it is due), or the step
  const last = !steps.slice(at + 1).some(s => s.backward);
  const due = session.missed.findIndex(m => m.due <= session.finished);
  const item = due >= 0 ? session.missed.splice(due, 1)[0] :
               session.queue.length ? session.queue.shift() :
               last && session.missed.length ? session.missed.shift() : null;
  if (item) { ask(at, item); return; }
  goTo(at + 1);  // closes the question
  if (last) summarise();
}
function ask(at, {k, q, again}) {  // a question asked again shows the picture of its own step,
  pause();                          // where its answer is not on screen yet
  if (done !== k) { picture(k); show(); }
  quiz = {at, k, q, again, tries: 0, settled: false};
  const [prompt, hint, , , , , , about] = questionsOf(k)[q];
  explain.textContent = again ? `Asked again, from ${steps[k].count}: ${about}. The picture ` +
                                "is as it was before that step." :
    `Your turn, ${steps[at].count}: ${about}. Work out each local derivative and grad.`;
  status.textContent = `${steps[at].count} (your turn)`;
  mark(steps[k].highlight, []);  // the node whose step it is
  where(steps[k]);
  $("quiz").classList.remove("hidden");
  $("question").textContent = (again ? `Again, from ${steps[k].count}: ` : "") +
                              `${prompt}   (${hint})`;
  $("answer").value = ""; $("verdict").textContent = ""; $("answer").focus();
  $("check").textContent = "check"; $("reveal").classList.remove("hidden");
}
function parse(text) {  // a number or a fraction, as a learner writes it
  const parts = text.replace("−", "-").split("/");
  if (parts.length > 2 || parts.some(p => p.trim() === "" || isNaN(Number(p)))) return NaN;
  return parts.length === 2 ? Number(parts[0]) / Number(parts[1]) : Number(parts[0]);
}
function close(x, y) { return Math.abs(x - y) <= Math.max(DATA.rtol * Math.max(Math.abs(x),
                                                                     Math.abs(y)), 1e-9); }
// A question is settled once (right, shown, or wrong twice): a second Enter or "show me" then
// does nothing, and the move on happens only if that question is still the one open (End, or
// any step, closes it first). A right answer moves on by itself; a worked answer stays until
// the learner has read it and presses "go on" (or Enter).
function settle(ok) {
  const asked = quiz;
  asked.settled = true;
  if (!asked.again) {
    session.settled.add(`${asked.k}:${asked.q}`);
    const [, , , , , , topic] = questionsOf(asked.k)[asked.q];
    const tally = session.topics[topic] = session.topics[topic] || [0, 0];
    tally[0] += ok ? 0 : 1; tally[1] += 1;
    session.asked += 1; session.right += ok ? 1 : 0;
    if (!ok) session.missed.push({k: asked.k, q: asked.q, again: true,
                                  due: session.finished + 1 + REASK_AFTER});
  } else { session.again[0] += ok ? 1 : 0; session.again[1] += 1; }
  const onward = () => { if (quiz === asked) { session.finished += 1; take(asked.at); } };
  if (ok !== null) { setTimeout(onward, 600); return; }
  asked.onward = onward;
  $("check").textContent = "go on ▶"; $("reveal").classList.add("hidden");
}
function check() {
  if (quiz && quiz.onward) { quiz.onward(); return; }
  if (!quiz || quiz.settled) return;
  const [, , answer, worked, nudge, slips] = questionsOf(quiz.k)[quiz.q];
  const text = $("answer").value.trim(), value = parse(text), verdict = $("verdict");
  if (isNaN(value)) {
    verdict.className = "wrong"; verdict.textContent = `${text}: write a number, like 0.75 or -3/4`;
  } else if (close(value, answer)) {
    verdict.className = "right"; verdict.textContent = `${text}: right.`;
    settle(quiz.tries === 0);
  } else {
    const slip = slips.find(([v]) => close(value, v));
    quiz.tries += 1;
    verdict.className = "wrong";
    if (quiz.tries === 1) {
      verdict.textContent = `${text}: not quite: ${slip ? slip[1] : nudge}. Try again, or ` +
                            "press show me.";
    } else {
      verdict.textContent = `${text}: not quite${slip ? ": " + slip[1] : ""}. The answer: ` +
                            `${worked}.`;
      settle(null);
    }
  }
}
function reveal() {
  if (!quiz || quiz.settled) return;
  const [, , , worked] = questionsOf(quiz.k)[quiz.q];
  $("verdict").className = ""; $("verdict").textContent = worked;
  settle(null);
}
function summarise() {  // the end of the practice: the score and what went wrong, by kind
  const wrong = Object.entries(session.topics).filter(([, [w]]) => w)
    .map(([topic, [w, n]]) => `${topic}: ${w} of ${n} wrong`);
  $("practice-summary").textContent = `Practice: ${session.right} of ${session.asked} right.` +
    (wrong.length ? ` Went wrong: ${wrong.join("; ")}.` : "") +
    (session.again[1] ? ` Asked again: ${session.again[0]} of ${session.again[1]} right.` : "");
  $("practice-summary").classList.remove("hidden");
  session = fresh();
}
function prev() {  // back to the step shown before this one
  if (done === 0) return false;
  let k = done - 1;
  while (k > 0 && !visible(k - 1)) k -= 1;
  goTo(k); return true;
}
function reset() {
  pause();
  for (const [id, text] of Object.entries(DATA.initial)) setText(id, text);
  done = 0; show();
}
function end() {
  pause(); goTo(steps.length);
  if (practising && started()) summarise();
}
function pause() { clearInterval(timer); timer = null; $("play").textContent = "▶ play"; }
function play() {
  if (timer) { pause(); return; }
  timer = setInterval(() => { if (!next()) pause(); }, Number($("speed").value));
  $("play").textContent = "⏸ pause";
}
// Jumps: to the first step of the next (or previous) neuron or layer, or of the backward pass.
function here(key) { return done > 0 ? steps[done - 1][key] : null; }
function jumpNext(key) {
  pause();
  const now = here(key);
  for (let i = done; i < steps.length; i += 1) {
    if (visible(i) && steps[i][key] !== now && (key !== "neuron" || steps[i].neuron >= 0)) {
      goTo(i + 1); return;
    }
  }
}
function jumpPrev(key) {
  pause();
  const now = here(key);
  let i = done - 2;
  while (i >= 0 && (steps[i][key] === now || !visible(i) ||
                    (key === "neuron" && steps[i].neuron < 0))) i -= 1;
  if (i < 0) { goTo(0); return; }
  const target = steps[i][key];
  while (i > 0 && steps[i - 1][key] === target) i -= 1;  // the first step of that run
  goTo(i + 1);
}
function arrive(i) {  // to step i, shown; in practice a backward step's open questions first
  if (practising && unsettled(i).length) { goTo(i); begin(i); } else goTo(i + 1);
}
function backward() { pause(); arrive(steps.findIndex(s => s.backward)); }
$("next").onclick = () => { pause(); next(); };
$("prev").onclick = () => { pause(); prev(); };
$("play").onclick = play;
$("reset").onclick = reset;
$("end").onclick = end;
$("speed").onchange = () => { if (timer) { pause(); play(); } };
$("leaves").onchange = (e) => { showLeaves = e.target.checked; };
$("practice").onchange = (e) => { practising = e.target.checked; session = fresh(); };
$("check").onclick = check;
$("reveal").onclick = reveal;
$("answer").addEventListener("keydown", (e) => { if (e.key === "Enter") check(); });
if (!DATA.quiz) $("practice-box").classList.add("hidden");  // too many questions for a page
$("next-neuron").onclick = () => jumpNext("neuron");
$("prev-neuron").onclick = () => jumpPrev("neuron");
$("next-layer").onclick = () => jumpNext("layer");
$("prev-layer").onclick = () => jumpPrev("layer");
$("backward").onclick = backward;
if (!steps.some(s => s.neuron >= 0)) {  // no neurons drawn: only the backward jump helps
  $("where").classList.add("hidden");  // and no neuron to name over the step text
  for (const id of ["prev-neuron", "next-neuron", "prev-layer", "next-layer"]) {
    $(id).classList.add("hidden");
  }
}
// The keys: ←/→ step wherever the focus is (a checkbox just ticked, a button, the speed menu),
// except in a text field, where every key is the learner's (an answer being written). Space
// keeps its own meaning on a control (it ticks a checkbox, presses a button), and Home and End
// theirs in the speed menu. Keys held with Alt, Ctrl or ⌘ are the browser's.
function textField(el) {
  const notText = ["checkbox", "radio", "button", "submit", "reset"];
  return el.isContentEditable || el.tagName === "TEXTAREA" ||
         (el.tagName === "INPUT" && !notText.includes(el.type));
}
document.addEventListener("keydown", (e) => {
  const steps = { ArrowRight: () => { pause(); next(); }, ArrowLeft: () => { pause(); prev(); } };
  const others = { " ": play, Home: reset, End: end };
  if (e.altKey || e.ctrlKey || e.metaKey || textField(e.target)) return;
  const control = e.target.closest("button, input, select, a, summary, [role=button]");
  const own = !control ? [] : control.tagName === "SELECT" ? [" ", "Home", "End"] : [" "];
  const act = steps[e.key] || (own.includes(e.key) ? null : others[e.key]);
  if (act) { e.preventDefault(); act(); }
});
window.stepper = { next, prev, reset, end, goTo, backward, jumpNext, jumpPrev,
                   practice: (on) => { practising = on; $("practice").checked = on;
                                       session = fresh(); },
                   leaves: (on) => { showLeaves = on; $("leaves").checked = on; },
                   steps: () => steps.length, done: () => done };
reset();

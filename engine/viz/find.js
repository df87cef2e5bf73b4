// Find: go to a neuron, an output, a weight or any node drawn on its own, by clicking its box
// (or focusing it with Tab and pressing Enter) or by typing its name. A jump stays in the pass
// on show: in the forward pass (and at the start) to the step that computes it, in the
// backward pass to the step where its grad is complete. The index is the engine's
// (engine/viz/find.py): [name, forward step, backward step, [drawn groups]], −1 for none.
const found = DATA.find || [];
const forwardSteps = steps.filter(s => !s.backward).length;
const byName = new Map(), byGroup = new Map();
for (const entry of found) {
  if (!byName.has(nameKey(entry[0]))) byName.set(nameKey(entry[0]), entry);
  for (const id of entry[3]) if (!byGroup.has(id)) byGroup.set(id, entry);
}
// Typed names match whatever the case, spacing, quotes, commas and colons: "Output 3" finds
// "output '3'", "hidden layer 1 neuron 5, w.14" finds "hidden layer 1, neuron 5: w.14".
function nameKey(name) {
  return name.toLowerCase().replace(/['‘’"“”]/g, "").replace(/[\s,:]+/g, " ").trim();
}
function jumpTo(entry) {
  pause();
  const [name, forward, backward] = entry;
  const back = done > forwardSteps || forward < 0 || Boolean(quiz && steps[quiz.k].backward);
  const i = back && backward >= 0 ? backward : forward;
  // What was found is said first: a longer line moves the graph, which is then scrolled.
  $("find-said").textContent = i < 0 ? `${name} has no step.` : steps[i].backward ?
    `Backward pass: the step where the grad of ${name} is complete.` :
    `Forward pass: the first step with ${name}.`;
  if (i < 0) return;
  arrive(i);
}
function lookUp(text) {  // the entry a typed name means: that name, or the one name it starts
  const k = nameKey(text);
  if (!k) return {said: `Type a name, like ${example()}.`};
  if (byName.has(k)) return {entry: byName.get(k)};
  const starting = found.filter(([name]) => nameKey(name).startsWith(k));
  if (starting.length === 1) return {entry: starting[0]};
  const some = (starting.length ? starting : found.filter(([name]) => nameKey(name).includes(k)))
    .slice(0, 3).map(([name]) => `“${name}”`);
  return {said: `Nothing here is called “${text.trim()}”` +
                (some.length ? `; did you mean ${some.join(", ")}?` : `; try ${example()}.`)};
}
function example() {  // an output if there is one: what a learner looks for first
  const entry = found.find(([name]) => name.startsWith("output")) || found[0];
  return entry ? `“${entry[0]}”` : "";
}
function listNames() {  // the suggestions, made on first use: a network has ~1,600 names
  const list = $("find-names");
  if (list.childElementCount) return;
  const options = document.createDocumentFragment();
  for (const [name] of found) options.append(new Option(name));
  list.append(options);
}
function findable() {  // each drawn box a button: click it, or Tab to it and press Enter
  for (const [id, entry] of byGroup) {
    const g = $(id);
    if (!g) continue;
    g.classList.add("findable");
    if (id !== entry[3][0]) continue;  // (a value's op is clicked too, Tabbed to once)
    g.setAttribute("tabindex", "0"); g.setAttribute("role", "button");
    g.setAttribute("aria-label", `go to ${entry[0]}`);
  }
}
if (found.length) {
  findable();
  $("find-name").placeholder = `e.g. ${example().slice(1, -1)}`;
  document.addEventListener("drawing", findable);  // the other drawing swapped in (fit())
  $("find").addEventListener("submit", (e) => {
    e.preventDefault();
    const {entry, said} = lookUp($("find-name").value);
    if (entry) jumpTo(entry); else $("find-said").textContent = said;
  });
  $("find-name").addEventListener("focus", listNames, {once: true});
  const box = (e) => e.target.closest?.("g.findable");
  $("graph").addEventListener("click", (e) => { if (box(e)) jumpTo(byGroup.get(box(e).id)); });
  $("graph").addEventListener("keydown", (e) => {
    if (!box(e) || (e.key !== "Enter" && e.key !== " ")) return;
    e.preventDefault(); e.stopPropagation(); jumpTo(byGroup.get(box(e).id));
  });
} else $("find").classList.add("hidden");

// A screen reader lists a page's landmarks by name, so each <nav> needs a name of its own.
// Material gives none to a code block's copy button (a <nav> it adds after the page loads)
// and names the table of contents' nested lists by their headings, which repeat on an API
// page (a module `exactness` and its function `exactness`): name the first, number repeats.
function nameLandmarks() {
  document.querySelectorAll(".md-code__nav").forEach((nav, i) => {
    nav.dataset.name = `code block ${i + 1}`;
  });
  const seen = new Map();
  document.querySelectorAll("nav").forEach((nav) => {
    const base = nav.dataset.name || nav.dataset.label || nav.getAttribute("aria-label");
    if (!base) return;
    nav.dataset.label = base;
    const key = base.toLowerCase(); // names differing only in case count as one (Tape, tape)
    const count = (seen.get(key) || 0) + 1;
    seen.set(key, count);
    const name = count === 1 ? base : `${base} (${count})`;
    if (nav.getAttribute("aria-label") !== name) nav.setAttribute("aria-label", name);
  });
}
// A wide table scrolls sideways in its own box: the keyboard must reach it to scroll it.
function focusableScrollBoxes() {
  document.querySelectorAll(".md-typeset__scrollwrap").forEach((box, i) => {
    if (box.hasAttribute("tabindex")) return;
    box.setAttribute("tabindex", "0");
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", `table ${i + 1}`);
  });
}
function tidy() {
  nameLandmarks();
  focusableScrollBoxes();
}
new MutationObserver(tidy).observe(document.body, {
  childList: true, subtree: true,
});
tidy();

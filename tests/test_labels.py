"""The figures' labels (issue 22, items 4 and 8): every text drawn in a figure (the static SVGs
of the how-it-works command, the explorer's overlays and legends) is in the explainer's words,
with no maths symbols and no e-notation; and in the explorer at 1280×900 no two labels
overlap, nor a label a note's box it is not in, at any stage of any network and digit."""

import re
import xml.etree.ElementTree as ET

import pytest

from demos.how_it_works import cli, explorer
from demos.how_it_works import picture as pic
from demos.how_it_works import stages as st
from tests.browser import needs_chromium
from tests.test_plain_words import JARGON, runs  # noqa: F401 (the fixture: both networks)

SVG = "{http://www.w3.org/2000/svg}"


def words_of(svg: str) -> list[str]:
    """Every text an SVG fragment draws."""
    root = ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg">{svg}</svg>')
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}text")]


def test_every_overlay_and_legend_of_the_explorer_is_in_plain_words(runs):  # noqa: F811
    data = explorer.data(runs)
    seen = 0
    for name, one in data["passes"].items():
        for stage in one["stages"]:
            for text in words_of(stage["overlay"]) + words_of(stage["legend"]):
                assert not JARGON.search(text), (name, stage["key"], text)
                seen += 1
    assert seen > 200


def test_the_static_figures_are_in_plain_words(tmp_path):
    assert cli.main(["--out", str(tmp_path), "--epochs", "1", "--trained"]) == 0
    figures = sorted(tmp_path.glob("*.svg"))
    assert len(figures) >= 12
    for path in figures:
        root = ET.parse(path).getroot()  # (a whole file: its own <svg>, maybe a declaration)
        for text in ("".join(e.itertext()) for e in root.iter(f"{SVG}text")):
            assert not JARGON.search(text), (path.name, text)


def test_a_figures_number_is_never_in_e_notation():
    assert [pic.plain(x) for x in (0.885, -0.034, 4.2e-4, 0.0, -1e-9, 2.5)] == [
        "+0.885", "−0.0340", "+0.000420", "0", "about 0", "+2.50"]
    assert not any(re.search(r"\de", pic.plain(x)) for x in (1e-5, 3e-7, 1e6))


# Every visible text's box, and the note boxes of the overlay; any two texts that overlap by
# more than a touch (1 CSS px), and any text that crosses a note's edge.
OVERLAPS = """() => {
  const svg = document.getElementById("net");
  const box = e => { const r = e.getBoundingClientRect();
                     return {l: r.left, r: r.right, t: r.top, b: r.bottom}; };
  const texts = [...svg.querySelectorAll("text")].filter(t => t.textContent.trim() &&
      t.checkVisibility() && t.getBoundingClientRect().width > 0)
      .map(t => ({name: t.textContent, ...box(t)}));
  const notes = [...document.querySelectorAll("#overlay rect[rx]")].map(box);
  const over = (a, b) => Math.min(a.r, b.r) - Math.max(a.l, b.l) > 1 &&
                         Math.min(a.b, b.b) - Math.max(a.t, b.t) > 1;
  const inside = (a, n) => a.l >= n.l - 1 && a.r <= n.r + 1 && a.t >= n.t - 1 && a.b <= n.b + 1;
  const found = [];
  texts.forEach((a, i) => texts.slice(i + 1).forEach(b => {
    if (over(a, b)) found.push([a.name, b.name]);
  }));
  texts.forEach(a => notes.forEach(n => {
    if (over(a, n) && !inside(a, n)) found.push([a.name, "a note's box"]);
  }));
  return found;
}"""


@needs_chromium
@pytest.mark.slow
def test_no_two_labels_of_the_explorer_overlap(browser, tmp_path):
    assert cli.main(["--out", str(tmp_path), "--epochs", "1"]) == 0
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((tmp_path / "explore.html").as_uri())
    checked, found = 0, []
    for network in page.evaluate("DATA.networks"):
        for digit in page.evaluate("DATA.digits"):
            for i, key in enumerate(page.evaluate("explorer.stages()")):
                # Repeat shows the trained network: the chosen one is set again after it.
                page.evaluate(f"explorer.setDigit({digit}); explorer.go({i}); "
                              f"explorer.setNetwork('{network}')")
                found += [(network, digit, key, *pair) for pair in page.evaluate(OVERLAPS)]
                checked += 1
    page.close()
    assert checked == 2 * 3 * 7 and found == []



def pixel_arrows(bp, scales):
    """Step 4's arrows in the pixels (their lengths) and the tags of its overlay."""
    from tests.test_how_it_works import path_points

    overlay = st.stages(bp, scales, trained=True)[4].overlay
    root = ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg">{overlay}</svg>')
    arrows = [e for e in root.iter(f"{SVG}path") if e.get("id", "").startswith("dw1-")]
    lengths = [abs(pts[3][1] - (pts[0][1] + pts[-1][1]) / 2)
               for pts in (path_points(e) for e in arrows)]
    factors = {e.get("data-times") for e in arrows} - {None}
    return lengths, factors, [e.get("data-tag") for e in root.iter(f"{SVG}text")
                              if e.get("data-tag") and e.text.startswith("arrows in the pixels")]


def test_step4s_pixel_arrows_are_readable_and_say_by_how_much(runs):  # noqa: F811
    # The confident network's changes from the pixels, drawn on a scale that also holds the
    # untrained network's, were dots. Now the image's largest fills most of a pixel, and one
    # tag over the list says by how much all of that image's arrows were drawn longer.
    everything = [run.bp for run in runs]
    untrained = [run.bp for run in runs if run.network == "untrained"]
    for run in runs:
        for scales in (st.Scales.of(everything, untrained), st.Scales.of(everything, [run.bp])):
            lengths, factors, tags = pixel_arrows(run.bp, scales)
            assert max(lengths) >= pic.SHORTEST, (run.network, run.digit)
            assert len(factors) <= 1 and tags == sorted(factors)
        if run.network == "trained":  # on the untrained network's scale: tiny, so tagged
            _, factors, tags = pixel_arrows(run.bp, st.Scales.of(everything, untrained))
            assert len(factors) == 1 and tags[0].startswith("×"), run.digit


def loose_texts(overlay: str) -> list[str]:
    """The texts an overlay draws over the figure itself, not inside one of its note boxes."""
    root = ET.fromstring(f'<svg xmlns="http://www.w3.org/2000/svg">{overlay}</svg>')
    boxes = [tuple(float(r.get(a)) for a in ("x", "y", "width", "height"))
             for r in root.iter(f"{SVG}rect") if r.get("rx")]
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")
            if not any(x <= float(t.get("x")) <= x + w and y <= float(t.get("y")) <= y + h
                       for x, y, w, h in boxes)]


LABELS_AT_MOST = 6  # texts over the figure at once, besides the neurons' numbers and P


def test_few_labels_are_drawn_at_once(runs):  # noqa: F811
    # Step 2 on the confident network drew 16 '×N' tags, one per black arrow, and Step 4
    # its list of changes over the lines: now one tag says the one factor of all the arrows,
    # and the list sits in a box of its own.
    data = explorer.data(runs)
    for name, one in data["passes"].items():
        for stage in one["stages"]:
            loose = loose_texts(stage["overlay"])
            assert len(loose) <= LABELS_AT_MOST, (name, stage["key"], loose)
            tags = [t for t in loose + words_of(stage["overlay"]) if "×" in t]
            assert len(set(tags)) <= 2, (name, stage["key"], tags)  # a neuron's, the lines'
    step4 = data["passes"]["trained/3"]["stages"][4]["overlay"]
    assert "Largest changes (row 1 = top row):" in words_of(step4)
    assert not any(t.startswith("row ") for t in loose_texts(step4))  # in the box

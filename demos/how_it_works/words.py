"""The explainer's words on every page: a caption as plain words then its maths, folded; the
straight-line estimate of a step said in words; the glossary.

A caption opens with one or two sentences in the explainer's vocabulary (weight, activation,
loss, output, arrow), carrying the engine's numbers; its maths (δ, ∂loss/∂w = δ·a, η, the
first-order estimate) follows under "show the maths", folded until the reader opens it.
"""

from __future__ import annotations

import html
from pathlib import Path

from engine.viz.style import FAR_OFF, LEAST_AMOUNT, amount, percent

MATHS = "show the maths"  # the words of the fold's summary, on every page


def caption_html(caption: str, maths: str) -> str:
    """A caption as HTML from escaped text: its plain words in a paragraph, then its maths
    in a ``<details>`` closed by default (none if there is no maths)."""
    words = f'<p class="words">{html.escape(caption)}</p>'
    if not maths:
        return words
    return (f'{words}<details class="maths"><summary>{MATHS}</summary>'
            f"<p>{html.escape(maths)}</p></details>")


def far_off(predicted: float, actual: float) -> bool:
    """Whether a straight-line estimate of the loss's change (``predicted``) missed the
    change read again (``actual``) by more than FAR_OFF of itself: the step was too big.
    Never when both are too small to be written (:func:`negligible`): a network already sure
    of a digit moves its loss by ~1e-9, and such a miss is in the floats' last digits."""
    return not negligible(predicted, actual) and (
        abs(predicted - actual) > FAR_OFF * abs(predicted))


def negligible(*changes: float) -> bool:
    """Whether every change is below what ``style.amount`` writes out (it says "less than
    0.000001")."""
    return all(abs(c) < LEAST_AMOUNT for c in changes)


def would(change: float) -> str:
    """How an estimate says the loss would move: "fall by 0.922", "rise by 0.01"."""
    return ("fall by " if change < 0 else "rise by " if change > 0 else "stay the same") + (
        amount(change) if change else "")


def moved(before: float, after: float, go: str = "went", stay: str = "stayed",
          least: int = 0) -> str:
    """A probability's move in words, its two percentages written with as many decimals (at
    least ``least``, up to 2) as it takes for two different numbers not to read the same:
    "went from 13.2% to 13.6%", not "from 13% to 13%"; "stayed at about 13%" when even 2
    decimals read the same. ``go`` and ``stay`` are the verbs ("would go", "would stay")."""
    a, b = percents(before, after, least)
    if a != b:
        return f"{go} from {a} to {b}"
    a = percent(before)
    return f"{stay} at {'' if a[0].isalpha() else 'about '}{a}"


def percents(before: float, after: float, least: int = 0) -> tuple[str, str]:
    """Two probabilities as percentages with the fewest decimals (at least ``least``, up to
    2) that tell them apart ("10.4%", "9.8%", not "10%", "10%"); at 2 decimals if even those
    read the same."""
    for decimals in range(least, 3):
        pair = percent(before, decimals), percent(after, decimals)
        if pair[0] != pair[1]:
            break
    return pair


def joint_decimals(*pairs: tuple[float, float], least: int = 0) -> int:
    """The decimals (at least ``least``, up to 2) that :func:`moved` needs for every pair of
    probabilities (before, after) at once: the fewest with which no two different numbers of
    a pair read the same. Texts shown side by side write their percents this way, so that
    "from 12% to 13%" never stands beside "from 12.6% to 13.4%"."""
    for decimals in range(least, 2):
        if all(percent(a, decimals) != percent(b, decimals)
               for a, b in pairs if percent(a, 2) != percent(b, 2)):
            return decimals
    return max(least, 2)


def _did(change: float) -> str:
    return ("fell by " if change < 0 else "rose by " if change > 0 else "did not change") + (
        amount(change) if change else "")


def estimate(predicted: float, actual: float, when: str = "") -> str:
    """The first-order estimate of one step in words, as sizes of a fall or a rise (never a
    loss below 0): "A straight-line estimate said the loss would fall by 0.922; it fell by
    0.230: the step was too big for a straight line." ``when`` says which step (" on the
    first step")."""
    verdict = ("both next to nothing, as the network is already sure of this answer"
               if negligible(predicted, actual) else
               "the step was too big for a straight line" if far_off(predicted, actual) else
               "close, as a straight line is for a small step")
    return (f"A straight-line estimate said the loss would {would(predicted)}{when}; it "
            f"{_did(actual)}: {verdict}.")


def glossary() -> str:
    """The glossary (weight, activation, loss, gradient, learning rate, step) as HTML: a
    ``<details>`` one click away, from the template glossary.html beside this module."""
    return (Path(__file__).parent / "glossary.html").read_text(encoding="utf-8").strip()

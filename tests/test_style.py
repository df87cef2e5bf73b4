"""One look: the palette, the grey scale, the number formats and the thresholds are defined in
``engine/viz/style.py`` alone, and the pictures and pages read them from there."""

import ast
import json
import math
import re
import sys

import numpy as np
import pytest

from demos.digits.train import TrainConfig, prepare
from demos.how_it_works import explorer
from demos.how_it_works import picture as pic
from demos.how_it_works.readings import backprop
from engine.viz import style
from nn import MLP
from tests.test_structure import ROOT, project_files, relative

NOT_FINITE = [math.nan, math.inf, -math.inf]
# A colour written out: #rrggbb, or #rgb in quotes (an issue number, #22, is neither).
COLOUR = re.compile(r"#[0-9a-fA-F]{6}\b|[\"']#[0-9a-fA-F]{3}[\"']")
# Files allowed their own colours: none left (issue 22, "one web layer"); this list only shrinks.
PENDING: set[str] = set()
# The template files of pages (their stylesheets and scripts read the palette as CSS custom
# properties or as the page's data, never write a colour of their own).
TEMPLATES = ("*.html", "*.css", "*.js")


@pytest.mark.parametrize("level", NOT_FINITE)
def test_the_grey_scale_is_total(level):
    # picture.grey(nan) raised "cannot convert float NaN to integer"; nn.viz's copy drew white.
    expected = {"nan": "#ffffff", "inf": "#1e1e1e", "-inf": "#ffffff"}[str(level)]
    assert style.grey(level) == pic.grey(level) == expected
    assert style.dark(level) is (level == math.inf)  # the label on it stays readable


def test_the_grey_scale_says_what_it_does_with_numbers_that_are_not_finite():
    words = style.grey.__doc__
    assert "nan is white" in words and "+inf is near-black" in words and "−inf white" in words


def test_the_grey_scale_runs_from_white_to_near_black():
    assert [style.grey(v) for v in (-1, 0, 0.5, 1, 2)] == [
        "#ffffff", "#ffffff", "#8e8e8e", "#1e1e1e", "#1e1e1e"]
    assert [style.dark(v) for v in (0.55, 0.56)] == [False, True]


GOLDEN = [
    # a value's data or grad in a graph drawing and the stepper
    (style.graph_number, (0.78641,), "0.7864"),
    (style.graph_number, (-0.0,), "0.0000"),
    (style.graph_number, (1.5e-05,), "1.500e-05"),
    (style.graph_number, (12345.6,), "1.235e+04"),
    (style.graph_number, (1e-13, 1.0), "0.0000"),  # rounding beside a number of 1
    (style.graph_number, (math.nan,), "nan"),
    # a figure's signed numbers: a real minus, never +0.000 for a small one
    (style.signed_number, (-0.8849,), "−0.885"),
    (style.signed_number, (0.00042,), "+4.2e−04"),
    (style.signed_number, (-0.0,), "+0.000"),
    (style.signed_number, (0.5, 2), "+0.50"),
    (style.signed_number, (-math.inf,), "−inf"),
    # the panel's numbers: 4 significant digits
    (style.panel_number, (-0.88491,), "-0.8849"),
    (style.panel_number, (2.5e-05,), "2.5e-05"),
    (style.panel_number, (-0.0,), "0"),
    (style.panel_number, (math.nan,), "nan"),
    # probabilities and losses, in a figure and in a panel
    (style.probability, (0.1234,), "0.123"),
    (style.probability, (0.99996, style.PANEL_DIGITS), "1.0000"),
    (style.loss_number, (2.1834,), "2.18"),
    (style.loss_number, (2.1834, style.PANEL_DIGITS), "2.183"),
    (style.loss_number, (-0.9221,), "-0.922"),
]


@pytest.mark.parametrize(("show", "args", "expected"), GOLDEN)
def test_number_formats(show, args, expected):
    assert show(*args) == expected


@pytest.mark.parametrize("show", [style.graph_number, style.signed_number, style.panel_number,
                                  style.probability, style.loss_number])
def test_a_number_that_is_not_finite_is_written_not_raised(show):
    written = [show(x) for x in NOT_FINITE]
    assert [w.lstrip("+-−") for w in written] == ["nan", "inf", "inf"], written
    assert written[2].startswith(("-", "−"))


def test_no_module_but_style_writes_a_colour():
    found = []
    templates = [path for package in ("engine", "nn", "demos") for pattern in TEMPLATES
                 for path in sorted((ROOT / package).rglob(pattern))]
    assert len(templates) >= 9  # the stepper's 3, the explorer's 5, the studio's 1
    for path in [*project_files(), *templates]:
        name = relative(path)
        if name == "engine/viz/style.py" or name in PENDING:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if COLOUR.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert found == [], "colours belong in engine/viz/style.py:\n" + "\n".join(found)
    assert all((ROOT / name).is_file() for name in PENDING)  # a moved file leaves the list


def test_style_needs_only_the_standard_library():
    tree = ast.parse((ROOT / "engine/viz/style.py").read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_a_page_is_given_the_style_as_data_and_as_css():
    given = style.page_style()
    assert json.loads(json.dumps(given, allow_nan=False)) == given  # strict JSON
    assert given["colours"]["positive"] == style.POSITIVE == "#2166ac"
    assert given["colours"]["negative"] == style.NEGATIVE == "#b2182b"
    assert given["thresholds"]["dark"] == style.DARK
    css = style.css_variables()
    assert css.startswith(":root {") and "  --positive: #2166ac;\n" in css
    assert css.count("--") == len(style.PALETTE)


def test_the_explorer_shades_and_prints_as_style_says():
    data = prepare(TrainConfig(hidden=[16, 16]))
    index = int(np.flatnonzero(data.test.labels == 3)[0])
    x, pixels = data.x_test[index], data.test.images[index].reshape(-1)
    bp = backprop(MLP(64, [16, 16, 10], rng=0), x, pixels, 3, lr=0.1)
    page = explorer.data([explorer.Run("untrained", 3, bp, "", ())])
    assert page["style"] == style.page_style()
    shown = page["passes"]["untrained/3"]
    levels = pic.shades(bp)
    assert shown["fills"] == [[style.grey(v) for v in layer] for layer in levels]
    assert shown["dark"] == [[style.dark(v) for v in layer] for layer in levels]
    assert shown["p"] == [f"P {style.probability(p)}" for p in bp.probabilities]
    assert shown["apply"]["before"] == style.probability(bp.probabilities[3], 4)
    assert shown["apply"]["loss"] == style.loss_number(bp.loss, 4)


def test_the_explorer_refuses_numbers_that_are_not_finite_by_name():
    # The grey scale used to raise on nan, which was what stopped such a page; now the
    # explorer says it in one line.
    data = prepare(TrainConfig(hidden=[16, 16]))
    model = MLP(64, [16, 16, 10], rng=0)
    for p in model.parameters():
        p.data = 1e300 if p.data >= 0 else -1e300
    bp = backprop(model, data.x_test[0], data.test.images[0].reshape(-1), 3, lr=0.1)
    with pytest.raises(ValueError, match=r"^the untrained network reading a 3 has numbers that "
                       r"are not finite \(NaN or ±Infinity\) in: input grads, probabilities, "
                       r"loss and \d+ more$"):
        explorer.data([explorer.Run("untrained", 3, bp, "", ())])

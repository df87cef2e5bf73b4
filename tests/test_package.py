"""The package as a user gets it: what ``import engine`` needs, ``import glassgrad`` and the
files that shadow it, one version and a licence, the command lines' usage lines, and (slow) the
built wheel and sdist installed in a fresh virtual environment outside the checkout."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python(code: str, cwd=ROOT, **kwargs) -> subprocess.CompletedProcess:
    """``python -c code`` in a fresh interpreter, with the checkout on its path."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**_env(), "PYTHONPATH": str(ROOT)}, **kwargs)


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


# --- Item 15: the core needs numpy only; drawing says how to install Graphviz ----------------

NO_GRAPHVIZ = "import sys; sys.modules['graphviz'] = None  # `import graphviz` now fails\n"


def test_engine_and_nn_train_without_the_graphviz_package():
    result = python(NO_GRAPHVIZ + """
import json, sys
import engine, nn
from nn import MLP, SGD, cross_entropy
model = MLP(4, [8, 3], rng=0)
optimizer = SGD(model.parameters(), lr=0.1)
loss = cross_entropy(model([0.1, 0.2, 0.3, 0.4]), target=2)
optimizer.zero_grad(); loss.backward(); optimizer.step()
bundle = loss._repr_mimebundle_()  # a notebook's display: the numbers and a note
try:
    engine.viz.draw_dot(loss)
    message = None
except engine.viz.GraphvizMissingError as e:
    message = str(e)
print(json.dumps({"loss": loss.data, "message": message, "html": bundle["text/html"]}))
""")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["loss"] > 0
    assert "`pip install graphviz`" in out["message"]
    assert "apt-get install graphviz" in out["message"]
    assert "no drawing" in out["html"] and "pip install graphviz" in out["html"]


def test_import_engine_loads_numpy_and_the_standard_library_only():
    result = python("""
import sys
before = set(sys.modules)
import engine
new = {name.split(".")[0] for name in set(sys.modules) - before}
print(" ".join(sorted(new - set(sys.stdlib_module_names) - {"engine", "numpy"})))
""")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []  # graphviz and its subprocess machinery among them, once

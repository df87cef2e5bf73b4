"""The package as a user gets it: what ``import engine`` needs, ``import glassgrad`` and the
files that shadow it, one version and a licence, the command lines' usage lines, and (slow) the
built wheel and sdist installed in a fresh virtual environment outside the checkout."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from demos import command

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


# --- Item 16: import glassgrad, and the learner's own engine.py or nn.py -----------------------

def test_import_glassgrad_gives_the_public_api_of_engine_and_nn():
    import engine
    import glassgrad
    import nn

    assert set(engine.__all__) | set(nn.__all__) <= set(glassgrad.__all__)
    assert all(hasattr(glassgrad, name) for name in glassgrad.__all__)
    assert glassgrad.Value is engine.Value and glassgrad.MLP is nn.MLP
    assert glassgrad.Neuron is nn.Neuron  # the module, not engine's drawing of one
    assert glassgrad.draw_dot is engine.viz.draw_dot


def test_import_glassgrad_needs_no_graphviz():
    result = python(NO_GRAPHVIZ + "from glassgrad import Value, MLP, draw_dot; print('ok')")
    assert result.returncode == 0 and result.stdout == "ok\n", result.stderr


MICROGRAD_ENGINE = 'print("their engine.py ran")\nclass Value:\n    pass\n'


@pytest.mark.parametrize("files, statement, shadowing", [
    (["engine.py"], "import glassgrad", "engine.py shadows glassgrad's engine package"),
    (["nn.py"], "from glassgrad import Value", "nn.py shadows glassgrad's nn package"),
    (["engine.py", "nn.py"], "import glassgrad",
     "engine.py and {tmp}/nn.py shadow glassgrad's engine and nn packages"),
    (["engine.py"], "import nn", "engine.py shadows glassgrad's engine package"),
])
def test_a_learners_own_engine_or_nn_is_named(tmp_path, files, statement, shadowing):
    for name in files:
        (tmp_path / name).write_text(MICROGRAD_ENGINE)
    result = python(statement, cwd=tmp_path)  # the folder a learner works in comes first
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    expected = f"ImportError: {tmp_path}/{shadowing.format(tmp=tmp_path)}: Python finds"
    assert last.startswith(expected), last
    rename = " and ".join(files)
    assert last.endswith(f"Rename your {rename}, or import glassgrad from another folder.")
    if statement.startswith(("import glassgrad", "from glassgrad")):
        assert "their engine.py ran" not in result.stdout  # found, not run


def test_a_folder_without_them_imports_glassgrad(tmp_path):
    (tmp_path / "engine").mkdir()  # a folder with no __init__.py shadows nothing
    result = python("import glassgrad; print(glassgrad.__version__)", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_readme_documents_import_glassgrad():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ">>> from glassgrad import" in readme or ">>> import glassgrad" in readme


# --- Item 14: one version, a licence, py.typed -------------------------------------------------

def test_one_version(capsys):
    import tomllib

    import engine
    import glassgrad

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "engine.__version__"}
    assert glassgrad.__version__ == engine.__version__
    assert command.main(["--version"]) == 0
    assert capsys.readouterr().out == f"glassgrad {engine.__version__}\n"


def test_the_licence_is_in_the_repository_and_the_metadata():
    import tomllib

    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License\n\nCopyright (c) 2026 the glassgrad authors\n")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]


@pytest.mark.parametrize("package", ["engine", "nn", "demos", "glassgrad"])
def test_every_package_is_marked_typed(package):
    assert (ROOT / package / "py.typed").is_file()


# --- Item 17: usage lines say the command as it was typed; the lists name every command --------

@pytest.mark.parametrize("argv", [["digits"], ["digits", "predict"], ["how-it-works"],
                                  ["studio"], ["viz"], ["walkthrough"]])
def test_each_glassgrad_command_helps_under_its_own_name(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        command.main([*argv, "--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: glassgrad {' '.join(argv)} ")
    own = command.COMMANDS[argv[0]].module
    assert f"python -m {own}" not in out  # its description and examples say it the same way


@pytest.mark.parametrize("module", ["demos.digits", "demos.how_it_works", "demos.studio",
                                    "engine.viz", "demos.walkthrough"])
def test_each_python_m_form_helps_under_its_own_name(module):
    result = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m {module} ")


def test_python_m_demos_lists_every_demo_the_command_runs():
    result = subprocess.run([sys.executable, "-m", "demos"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0
    demos = [c.module for c in command.COMMANDS.values() if c.module.startswith("demos.")]
    assert "demos.studio" in demos
    assert [line.split()[2] for line in result.stdout.splitlines()[1:]] == demos


def test_the_readme_lists_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = readme[readme.index("The install also gives one command"):]
    listed = listed[:listed.index("\n\n")]
    assert [name for name in command.COMMANDS if f"`glassgrad {name}" not in listed] == []

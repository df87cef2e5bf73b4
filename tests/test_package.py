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
    (["nn/__init__.py"], "import glassgrad", "nn shadows glassgrad's nn package"),
    (["engine/__init__.py"], "import nn", "engine shadows glassgrad's engine package"),
])
def test_a_learners_own_engine_or_nn_is_named(tmp_path, files, statement, shadowing):
    for name in files:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(MICROGRAD_ENGINE)
    result = python(statement, cwd=tmp_path)  # the folder a learner works in comes first
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    expected = f"ImportError: {tmp_path}/{shadowing.format(tmp=tmp_path)}: Python finds"
    assert last.startswith(expected), last
    rename = " and ".join(Path(f).parts[0] for f in files)  # a package: the folder's name
    assert last.endswith(f"Rename your {rename}, or import glassgrad from another folder.")
    assert "their engine.py ran" not in result.stdout  # found, not run


@pytest.mark.parametrize("demo", ["demos.digits", "demos.studio", "demos"])
def test_a_demo_run_from_a_learners_folder_names_their_engine(tmp_path, demo):
    # python -m imports the demos package first: it names the file before a demo trips on it.
    (tmp_path / "engine.py").write_text(MICROGRAD_ENGINE)
    result = subprocess.run([sys.executable, "-m", demo, "--help"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120,
                            env={**_env(), "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1 and "their engine.py ran" not in result.stdout
    assert result.stderr == (  # one line, as every command says what went wrong
        f"error: {tmp_path}/engine.py shadows glassgrad's engine package: Python finds "
        "it first. Rename your engine.py, or import glassgrad from another folder.\n")


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


# --- Item 13: the sdist and the wheel hold every file; the wheel runs outside the checkout -----

def tracked(*paths: str) -> list[str]:
    """The files git tracks under ``paths`` (all of them without), that exist in the tree."""
    listed = subprocess.run(["git", "ls-files", "-z", "--", *paths], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: the package's files are what git tracks")
    return sorted(f for f in listed.stdout.split("\0") if f and (ROOT / f).is_file())


PACKAGES = ("engine", "nn", "demos", "glassgrad")


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist and the wheel, built by ``python -m build`` (the wheel from the sdist, so
    what the sdist leaves out the wheel lacks too) from a copy of the tracked files."""
    import shutil

    root = tmp_path_factory.mktemp("package")
    for name in tracked():
        (root / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, root / "src" / name)
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(root / "dist"),
                            str(root / "src")], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return root / "dist"


def members(dist: Path) -> tuple[set[str], set[str], str]:
    """The package files of the sdist and of the wheel, and the wheel's METADATA."""
    import tarfile
    import zipfile

    (sdist,), (wheel,) = dist.glob("*.tar.gz"), dist.glob("*.whl")
    with tarfile.open(sdist) as tar:
        in_sdist = {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()}
    with zipfile.ZipFile(wheel) as z:
        in_wheel = set(z.namelist())
        metadata = next(z.read(n) for n in in_wheel if n.endswith(".dist-info/METADATA"))
    return in_sdist, in_wheel, metadata.decode("utf-8")


@pytest.mark.slow
def test_the_sdist_and_the_wheel_hold_every_file_of_the_packages(dist):
    import engine

    in_sdist, in_wheel, metadata = members(dist)
    ours = set(tracked(*PACKAGES))
    assert "demos/studio/studio.html" in ours and "glassgrad/py.typed" in ours
    assert {f for f in in_sdist if f.startswith(tuple(p + "/" for p in PACKAGES))} == ours
    assert {"LICENSE", "README.md", "pyproject.toml"} <= in_sdist
    assert not any(f.startswith("tests/") for f in in_sdist)  # half a test suite helps nobody
    assert {f for f in in_wheel if ".dist-info/" not in f} == ours
    assert f"glassgrad-{engine.__version__}.dist-info/licenses/LICENSE" in in_wheel
    assert f"\nVersion: {engine.__version__}\n" in metadata
    assert "\nLicense-Expression: MIT\n" in metadata and "\nLicense-File: LICENSE\n" in metadata


def fresh_venv(where: Path, wheel: Path) -> Path:
    """A virtual environment holding the wheel alone; the dependencies (numpy, graphviz,
    matplotlib, Starlette…) are read from this environment's site-packages by a .pth line,
    which does not run that folder's own .pth files, so the editable checkout stays out."""
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(where / "bin" / "python"),
                    "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    (site,) = where.glob("lib/python*/site-packages")
    here = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "zz_dependencies.pth").write_text("\n".join(here) + "\n")
    return where / "bin"


def start_studio(bin_dir: Path, cwd: Path, env: dict) -> tuple[subprocess.Popen, str]:
    """``glassgrad studio`` started (it trains first, a few seconds), and its address."""
    import re

    studio = subprocess.Popen([str(bin_dir / "glassgrad"), "studio", "--out", "studio"],
                              cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    for line in studio.stdout:
        if found := re.search(r"http://127\.0\.0\.1:\d+/", line):
            return studio, found.group(0)
    studio.kill()
    raise AssertionError(f"the studio did not start: {studio.communicate()[1][-2000:]}")


@pytest.mark.slow
@pytest.mark.needs_dot
def test_the_installed_wheel_runs_every_entry_point_outside_the_checkout(dist, tmp_path):
    import os
    import signal
    import urllib.request

    import engine

    bin_dir = fresh_venv(tmp_path / "venv", next(dist.glob("*.whl")))
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"

    def run(*argv: str) -> str:
        done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"{argv}: {done.stderr[-2000:]}"
        return done.stdout

    where = run("python", "-c", "import engine, glassgrad, nn, demos.studio as s; "
                "print(engine.__file__, glassgrad.__file__, nn.__file__, s.__file__)")
    assert all(Path(f).is_relative_to(tmp_path / "venv") for f in where.split())
    assert "\n  studio " in run("glassgrad", "--help")
    assert run("glassgrad", "--version") == f"glassgrad {engine.__version__}\n"
    for name in [*command.COMMANDS, "digits predict"]:
        assert run("glassgrad", *name.split(), "--help").startswith(f"usage: glassgrad {name}")
    assert run("python", "-m", "demos.studio", "--help").startswith("usage: python -m demos.studio")
    assert "python -m demos.studio" in run("python", "-m", "demos")
    run("glassgrad", "digits", "--epochs", "1", "--limit", "200", "--no-plots", "--quiet",
        "--out", "OUT")
    assert (work / "OUT" / "model.json").is_file()
    run("glassgrad", "viz", "tanh(a*b+c)", "a=2", "b=-3", "c=10", "-o", "g.svg")
    assert (work / "g.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    # The wheel's py.typed markers at work: a user's script passes mypy --strict against the
    # installed packages, as mypy checks any installed library (no path to the checkout).
    from tests.test_typing import USER_SCRIPT

    (work / "typed.py").write_text(textwrap.dedent(USER_SCRIPT), encoding="utf-8")
    checked = run("python", "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "mypy"),
                  "typed.py")
    assert checked.startswith("Success: no issues found in 1 source file"), checked
    studio, url = start_studio(bin_dir, work, env)  # the studio and its page are installed
    try:
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and "<canvas" in page.read().decode("utf-8")
    finally:
        studio.send_signal(signal.SIGINT)
        studio.communicate(timeout=30)

"""The project's structure, checked by reading its source: each question has one module.

- Only ``engine/ops.py`` and ``engine/neuron.py`` (the op table and the neuron) compare a
  node's ``.op`` with an op's name; everything else asks the table's row.
- Layers point one way: ``engine`` never imports ``nn`` or ``demos``, ``nn`` never imports
  ``demos``; no module imports another in a cycle (counting imports inside functions, which
  would only hide one); no module uses another module's private (``_name``) names.
- No function in ``engine/``, ``nn/`` or ``demos/`` is longer than 50 lines, and no class
  longer than 100, unless its docstring or a comment in it says why ("longer than 50 lines
  because ...").
"""

import ast
import copy
import re
from pathlib import Path

import pytest

from engine import OPS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "nn", "demos", "glassgrad")
OWNERS_OF_OP_NAMES = {"engine/ops.py", "engine/neuron.py"}


def project_files(packages=PACKAGES + ("docs", "bench")):
    for package in packages:
        yield from sorted((ROOT / package).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_op_attribute(node) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "op"


def _names_in(node) -> list[str]:
    """The string literals an operand of a comparison holds (one, or a tuple/list/set)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [e.value for e in node.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


OP_NAMES = set(OPS) - {"const"}


def op_name_comparisons(path: Path) -> list[str]:
    """Decisions taken on an op's name: a comparison with an op's name (of ``.op`` or of
    anything else: ``op == "relu"``, ``row.name in ("tanh", "sigmoid")``), a ``match`` on
    ``.op``, or a dict of op names looked up by ``.op``."""
    found = []
    for node in ast.walk(tree(path)):
        where = f"{relative(path)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            names = [n for o in operands for n in _names_in(o)]
            hits = [n for n in names if n in OP_NAMES or (
                n != "const" and any(_is_op_attribute(o) for o in operands))]
            if hits:
                found.append(f"{where} compares with {hits}")
        elif isinstance(node, ast.Match) and _is_op_attribute(node.subject):
            found.append(f"{where} matches on .op")
        elif (isinstance(node, ast.Subscript) and _is_op_attribute(node.slice)
              and isinstance(node.value, ast.Dict)):
            found.append(f"{where} looks an op name up in a dict")
    return found


def test_only_the_op_table_and_the_neuron_compare_op_names():
    found = [hit for path in project_files() if relative(path) not in OWNERS_OF_OP_NAMES
             for hit in op_name_comparisons(path)]
    assert found == []


def test_the_op_name_scan_finds_what_it_looks_for(tmp_path):
    # The scan must catch the ways an op name is compared, or the test above proves nothing.
    sample = tmp_path / "sample.py"
    sample.write_text('a = n.op == "relu"\nb = n.op in ("tanh", "sigmoid")\n'
                      'c = "wsum" != n.op\nd = n.op == "const"\nop = n.op\ne = op == "mul"\n'
                      'f = row.name == "sum"\ng = {"relu": 1}[n.op]\n'
                      'match n.op:\n    case "exp":\n        pass\n'
                      'h = n.op == "linear"\nk = mode == "fused"\n')
    assert len(op_name_comparisons(sample)) == 8


def imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules ``path`` imports, anywhere in it (a function's imports too)."""
    own = module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found = set()
    for node in ast.walk(_without_type_checking(tree(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] in PACKAGES)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # a relative import
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            if base.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:  # `from engine import autodiff` imports a module
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return found - {own}


def _without_type_checking(module: ast.Module) -> ast.Module:
    """``module`` less its ``if TYPE_CHECKING:`` blocks: imports made for the type checker
    alone never run, so they make no cycle (``nn.serialize`` names ``nn.module.Module`` so)."""

    class Drop(ast.NodeTransformer):
        def visit_If(self, node: ast.If):  # noqa: N802 - ast's naming
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            return node.orelse or None if name == "TYPE_CHECKING" else self.generic_visit(node)

    return Drop().visit(copy.deepcopy(module))


def import_graph() -> dict[str, set[str]]:
    files = list(project_files(PACKAGES))
    modules = {module_name(p) for p in files}
    return {module_name(p): imports(p, modules) for p in files}


def test_layers_point_one_way():
    wrong = [(m, d) for m, deps in import_graph().items() for d in deps
             if (m.startswith("engine") and d.split(".")[0] in ("nn", "demos"))
             or (m.startswith("nn") and d.split(".")[0] == "demos")]
    assert wrong == []


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]

    def visit(start):
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def private_uses(path: Path, modules: set[str]) -> list[str]:
    """``from m import _x`` and ``m._x`` for another project module m."""
    found, aliases = [], {}
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{relative(path)}:{node.lineno} imports {alias.name}")
                elif f"{node.module}.{alias.name}" in modules:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    aliases[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree(path)):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            found.append(f"{relative(path)}:{node.lineno} uses {node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    modules = {module_name(p) for p in project_files(PACKAGES)}
    found = [hit for path in project_files() for hit in private_uses(path, modules)]
    assert found == []


LIMITS = {ast.FunctionDef: 50, ast.AsyncFunctionDef: 50, ast.ClassDef: 100}


def _says_why(node, path: Path, limit: int) -> bool:
    """Whether the unit's docstring, or a comment in it, gives a reason for its length
    ("longer than N lines because ...", N at least ``limit``)."""
    lines = path.read_text(encoding="utf-8").splitlines()[node.lineno - 1:node.end_lineno]
    text = (ast.get_docstring(node) or "") + "\n" + "\n".join(
        line.split("#", 1)[1] for line in lines if "#" in line)
    return any(int(n) >= limit for n in re.findall(r"longer than (\d+) lines because", text, re.I))


def long_units(path: Path) -> list[str]:
    """Functions over 50 lines and classes over 100 lines in ``path`` that do not say why."""
    found = []
    for node in ast.walk(tree(path)):
        limit = LIMITS.get(type(node))
        if limit is None:
            continue
        lines = node.end_lineno - node.lineno + 1
        if lines > limit and not _says_why(node, path, limit):
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            found.append(f"{relative(path)}:{node.lineno} {kind} {node.name}: {lines} lines"
                         f" (limit {limit})")
    return found


@pytest.mark.parametrize("package", ["engine", "nn", "demos"])
def test_functions_and_classes_are_short_or_say_why(package):
    long = [hit for path in project_files((package,)) for hit in long_units(path)]
    assert not long, "too long, with no reason given:\n" + "\n".join(long)


def test_the_length_scan_finds_long_units(tmp_path):
    # A long function, a long class, and each of them excused by a docstring or a comment.
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    members = "".join(f"    y{i} = {i}\n" for i in range(110))
    sample = tmp_path / "sample.py"
    sample.write_text(
        f"def f():\n{body}"
        f"def g():\n    \"\"\"Longer than 50 lines because a table.\"\"\"\n{body}"
        f"class C:\n{members}"
        f"class D:\n    # longer than 100 lines because one table\n{members}"
        f"class E:\n    # longer than 50 lines because too small a reason\n{members}")
    assert [hit.split(" ", 1)[1] for hit in long_units(sample)] == [
        "function f: 61 lines (limit 50)", "class C: 111 lines (limit 100)",
        "class E: 112 lines (limit 100)"]


def direct_writes(path: Path) -> list[str]:
    """Calls that write a file other than through engine.system.files.atomic_write."""
    found = []
    for node in ast.walk(tree(path)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        mode = node.args[1] if len(node.args) > 1 else next(
            (k.value for k in node.keywords if k.arg == "mode"), None)
        writes_mode = (isinstance(mode, ast.Constant) and isinstance(mode.value, str)
                       and any(c in mode.value for c in "wax"))
        if isinstance(func, ast.Attribute) and name == "open" and node.args:
            mode = node.args[0]  # Path.open("w")
            writes_mode = writes_mode or (isinstance(mode, ast.Constant)
                                          and isinstance(mode.value, str)
                                          and any(c in mode.value for c in "wax"))
        to_a_path = (name == "savefig" and not (node.args and isinstance(node.args[0], ast.Name)
                                                 and node.args[0].id == "buffer")) or (
            name == "screenshot" and any(k.arg == "path" for k in node.keywords))
        copies = name in ("copy", "copy2", "copyfile") and isinstance(func, ast.Attribute) \
            and isinstance(func.value, ast.Name) and func.value.id in ("shutil", "sh")
        if name in ("write_text", "write_bytes", "mkstemp") or copies or (
                name in ("open", "fdopen") and writes_mode) or to_a_path:
            found.append(f"{relative(path)}:{node.lineno} {name}")
    return found


def test_every_file_is_written_by_the_one_atomic_writer(tmp_path):
    found = [hit for path in project_files() if relative(path) != "engine/system/files.py"
             for hit in direct_writes(path)]
    assert found == []
    sample = tmp_path / "sample.py"
    sample.write_text('p.write_text("x")\nopen(p, "w")\nopen(p)\np.open("w")\n'
                      'shutil.copy(a, b)\nfig.savefig(p)\nfig.savefig(buffer)\n'
                      'page.screenshot(path=p)\npage.screenshot()\n')
    assert len(direct_writes(sample)) == 6


def test_imports_for_the_type_checker_alone_are_no_edges():
    sample = ast.parse("from typing import TYPE_CHECKING\nimport nn.layers\n"
                       "if TYPE_CHECKING:\n    import nn.module\nelse:\n    import nn.optim\n")
    kept = _without_type_checking(sample)
    names = {a.name for n in ast.walk(kept) if isinstance(n, ast.Import) for a in n.names}
    assert names == {"nn.layers", "nn.optim"}


CORE = {"engine", "engine.autodiff", "engine.check", "engine.display", "engine.mode",
        "engine.neuron", "engine.node", "engine.ops", "engine.text", "engine.value"}
PURE_PYTHON = {"engine.practice", "engine.practice.question", "engine.practice.session"}


def outside_imports(path: Path) -> set[str]:
    """The top-level names of the packages ``path`` imports that are neither the project's
    nor the standard library's (a function's imports too; the type checker's alone are not)."""
    import sys
    found = set()
    for node in ast.walk(_without_type_checking(tree(path))):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return {name for name in found
            if name not in sys.stdlib_module_names and name not in PACKAGES + ("__future__",)}


def test_the_core_imports_only_numpy_the_standard_library_and_the_core():
    graph = import_graph()
    for path in sorted((ROOT / "engine").glob("*.py")):
        name = module_name(path)
        assert outside_imports(path) <= {"numpy"}, name
        assert graph[name] <= CORE | PURE_PYTHON, (name, graph[name] - CORE - PURE_PYTHON)


def test_import_engine_loads_only_the_core():
    import subprocess
    import sys
    code = "import engine, sys; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT).stdout.split()
    ours = {m for m in loaded if m.split(".")[0] in PACKAGES}
    assert ours <= CORE | PURE_PYTHON, sorted(ours - CORE - PURE_PYTHON)
    assert not any(m.split(".")[0] == "graphviz" for m in loaded)


# The names issue 25 retired, as the code would still say them (a word of English such as
# "refused" is fine: these are the old identifiers, and the modules they were in).
RETIRED = re.compile(r"\bslips?\b|\bslip_of\b|\bSlip\b|\bWritten\b(?! )|\blesson\b|"
                     r"\bRefused\b|compiler\.bounds|\b_Drawer\b|\b_Group\b|\bcareful\b")


def test_no_retired_name_is_left_in_the_code():
    found = [f"{relative(path)}:{i}: {line.strip()}"
             for path in project_files(("engine", "nn", "demos", "glassgrad", "bench"))
             for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if RETIRED.search(line)]
    assert not found, "\n".join(found)

"""The documentation: the site builds without a warning, the layout page lists every source file,
every ``>>>`` line of the pages runs, and the README stays a front page.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# The folders whose files the layout page lists, and which files count as source.
SOURCE_FOLDERS = ("engine", "nn", "demos", "bench", "glassgrad")
SOURCE_SUFFIXES = {".py", ".html", ".js", ".css"}


def source_files() -> set[str]:
    """Every source file under the folders, tracked or not (a new file counts at once)."""
    found = set()
    for folder in SOURCE_FOLDERS:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in SOURCE_SUFFIXES and "__pycache__" not in path.parts:
                found.add(path.relative_to(ROOT).as_posix())
    return found


def listed_in_layout() -> list[str]:
    """The paths the layout page lists: each line ``- `path`: what it is``."""
    text = (DOCS / "layout.md").read_text(encoding="utf-8")
    return re.findall(r"^- `([^`]+)`", text, flags=re.MULTILINE)


def test_the_layout_page_lists_every_source_file():
    missing = sorted(source_files() - set(listed_in_layout()))
    assert missing == [], f"docs/layout.md has no line for: {', '.join(missing)}"


def test_the_layout_page_lists_only_files_that_exist():
    listed = listed_in_layout()
    assert sorted(p for p in listed if not (ROOT / p).is_file()) == []
    assert sorted({p for p in listed if listed.count(p) > 1}) == []


def test_the_readme_is_a_front_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    for page in re.findall(r"\]\(docs/([^)#]+\.md)", readme):
        assert (DOCS / page).is_file(), page


def test_a_wrong_output_in_a_page_fails_the_tests(tmp_path):
    # The project's pytest settings collect docs/*.md as doctests: a page whose example prints
    # something else than it says is a failure, not a page left out.
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "wrong.md"
    page.write_text("```python\n>>> 1 + 1\n3\n\n```\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
                             str(page)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout


@pytest.mark.slow
def test_the_site_builds_without_a_warning(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's notice about its successor
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                             str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    assert (tmp_path / "site" / "teachers" / "index.html").is_file()
    assert (tmp_path / "site" / "api" / "compiler" / "index.html").is_file()
    assert not (tmp_path / "site" / "make_images.py").exists()  # the docs' tools stay out

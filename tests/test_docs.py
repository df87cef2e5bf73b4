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


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``mkdocs build --strict`` into a temporary folder: (the site's folder, its output)."""
    site = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's notice about its successor
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                             str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return site, output


@pytest.mark.slow
def test_the_site_builds_without_a_warning(built):
    site, output = built
    assert "WARNING" not in output, output
    assert (site / "teachers" / "index.html").is_file()
    assert (site / "api" / "compiler" / "index.html").is_file()
    assert not (site / "make_images.py").exists()  # the docs' tools stay out


@pytest.mark.slow
@pytest.mark.parametrize("page", ["index.html", "teachers/index.html", "repl/index.html",
                                  "performance/index.html", "api/compiler/index.html"])
def test_axe_finds_nothing_on_the_site(built, browser, page):
    # The home page, the teachers' guide, code blocks, wide tables, and an API page whose
    # headings repeat (a module and its function of one name), on a projector and a phone.
    from tests.browser import axe_violations

    site, _ = built
    for width, height in ((1280, 900), (390, 844)):
        tab = browser.new_page(viewport={"width": width, "height": height})
        tab.goto((site / page).as_uri())
        tab.wait_for_function("document.querySelector('.md-code__nav, .md-typeset') !== null")
        tab.wait_for_timeout(200)  # Material's script adds the copy buttons after the load
        assert axe_violations(tab) == [], (page, width)
        assert tab.evaluate("document.documentElement.scrollWidth") <= width, (page, width)
        tab.close()

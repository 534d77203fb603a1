"""The README stays a map and tells the truth about the tree; every docs page is in the site.

Building the site itself (``mkdocs build --strict``, which catches broken links and anchors) is
``make docs``, run by CI; these checks need no MkDocs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MKDOCS = ROOT / "mkdocs.yml"

README_MAX_LINES = 300

# A repo path as the docs write it: one of the project's top-level folders, then a path.
_FOLDERS = (
    "functions",
    "schemas",
    "infra",
    "docs",
    "tests",
    "bench",
    "web",
    "events",
    "examples",
    "citizenbus",
    ".ci",
)
_ROOT_FILES = ("mkdocs.yml", "Makefile", "pyproject.toml", "uv.lock")
_PATH = re.compile(
    r"(?<![\w./-])(?:(?:" + "|".join(re.escape(f) for f in _FOLDERS) + r")/[\w./*<>{}-]*"
    r"|(?:" + "|".join(re.escape(f) for f in _ROOT_FILES) + r")(?![\w.-]))"
)
_FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1", re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")

# What a build writes (git-ignored): named by the docs, absent from a fresh clone.
GENERATED = (
    "web/dist",
    "infra/cdk/cdk.out",
    "infra/cdk/build",
    "tests/e2e/node_modules",
    "bench/tmp",
)
# Names that look like repo paths but name something in AWS (Secrets Manager ids share the
# project's prefix).
NOT_REPO_PATHS = {"citizenbus/pseudonym-key"}


def named_paths(markdown: str) -> set[str]:
    """Repo paths named in inline code spans and link targets (code blocks are examples)."""
    text = _FENCE.sub("", markdown)
    spans = _CODE.findall(text) + [target.split("#")[0] for target in _LINK.findall(text)]
    found: set[str] = set()
    for span in spans:
        for match in _PATH.findall(span):
            path = match.rstrip(".,;:")
            if any(mark in path for mark in "<>{}"):
                continue  # a placeholder: functions/<name>/handler.py
            found.add(path)
    return found


def exists(path: str) -> bool:
    if "*" in path:
        return any(ROOT.glob(path.rstrip("/")))
    return (ROOT / path).exists()


def missing_paths(markdown: str) -> list[str]:
    return sorted(
        p
        for p in named_paths(markdown)
        if not exists(p) and not p.rstrip("/").startswith(GENERATED) and p not in NOT_REPO_PATHS
    )


def test_the_readme_is_a_map_of_at_most_300_lines() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move details to docs/"


def test_the_readme_shows_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make run" in text
    assert "make test" in text


def test_every_path_the_readme_names_exists() -> None:
    assert missing_paths(README.read_text(encoding="utf-8")) == []


def test_the_readme_links_nothing_outside_the_repository() -> None:
    text = _FENCE.sub("", README.read_text(encoding="utf-8"))
    outside = [t for t in _LINK.findall(text) if t.startswith("../") or "/../" in t]
    assert outside == []


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_every_path_a_docs_page_names_exists(page: str) -> None:
    assert missing_paths((DOCS / page).read_text(encoding="utf-8")) == []


def nav_pages(config: str) -> set[str]:
    """The pages the ``nav:`` block of mkdocs.yml lists (read as text: the file names Python
    objects with ``!!python/name:`` tags, which a safe YAML loader refuses)."""
    block = re.search(r"^nav:\n((?:[ \t]+.*\n|-.*\n)*)", config, re.MULTILINE)
    assert block, "mkdocs.yml has no nav"
    return set(re.findall(r"([\w./-]+\.md)\s*$", block.group(1), re.MULTILINE))


def test_every_docs_page_is_in_the_site_navigation_and_every_entry_exists() -> None:
    nav = nav_pages(MKDOCS.read_text(encoding="utf-8"))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages - nav == set(), "add these pages to nav in mkdocs.yml"
    assert nav - pages == set(), "mkdocs.yml names pages that do not exist"


def test_the_path_finder_reads_code_spans_and_links_but_not_placeholders() -> None:
    sample = (
        "See `functions/topology.py`, [ops](docs/operations.md#deploy-to-aws), "
        "`functions/<name>/handler.py`, `python -m web.build`, `GET /open311/v2/`, "
        "`tests/security/test_input_*.py` and `mkdocs.yml`.\n"
        "```sh\ncat functions/nowhere.py\n```\n"
    )
    assert named_paths(sample) == {
        "functions/topology.py",
        "docs/operations.md",
        "tests/security/test_input_*.py",
        "mkdocs.yml",
    }

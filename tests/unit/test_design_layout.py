"""docs/DESIGN.md §2 describes the tree as it is: every folder and module its layout names
exists, and every package of the two code trees is named there (a newcomer reading the
layout is never sent to a file that was moved or deleted)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "DESIGN.md"
# A layout line: indentation, the names (one or several, comma-separated), then at least two
# spaces before the description. Lines indented further are a description's continuation.
LINE = re.compile(r"^(?P<indent> *)(?P<names>\S(?:.*?\S)?)(?:\s{2,}.*)?$")


def _layout_block() -> list[str]:
    text = DESIGN.read_text(encoding="utf-8")
    section = text.split("## 2. Layout", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1].splitlines()[1:]


def _named_paths() -> list[str]:
    paths: list[str] = []
    root = ""
    for line in _layout_block():
        found = LINE.match(line)
        if found is None:
            continue
        indent = len(found["indent"])
        names = [name.strip() for name in found["names"].split(",")]
        if indent == 0:
            root = names[0]
            paths.append(root)
        elif indent <= 4:
            paths.extend(root + name for name in names)
    return paths


def test_the_layout_block_is_found_and_names_the_main_parts() -> None:
    named = _named_paths()
    for part in ("src/epro/", "src/epro/store/", "sync/epro_sync/", "src/epro/protocol.py"):
        assert part in named, f"DESIGN.md §2 no longer names {part}: {named}"


def test_every_path_the_layout_names_exists() -> None:
    missing = [path for path in _named_paths() if not (ROOT / path).exists()]
    assert not missing, f"docs/DESIGN.md §2 names paths that do not exist: {missing}"


def test_every_package_of_the_code_trees_is_named_in_the_layout() -> None:
    named = set(_named_paths())
    unnamed = [
        f"{tree}{package.name}/"
        for tree in ("src/epro/", "sync/epro_sync/")
        for package in sorted((ROOT / tree).iterdir())
        if (package / "__init__.py").exists() and f"{tree}{package.name}/" not in named
    ]
    assert not unnamed, f"packages missing from docs/DESIGN.md §2: {unnamed}"

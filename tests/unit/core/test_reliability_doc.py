"""docs/reliability.md names only tests that exist (each promise must point at a real test)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "reliability.md"


def _named_tests() -> list[tuple[str, str]]:
    """(file, test) pairs: `path.py::name`, and `::name` meaning the last file named before it."""
    pairs, current = [], ""
    for path, name in re.findall(r"`(tests/[\w/]+\.py)?(?:::(\w+))?", DOC.read_text()):
        current = path or current
        if name:
            pairs.append((current, name))
    return pairs


def _defined(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_every_test_named_in_the_reliability_doc_exists() -> None:
    pairs = _named_tests()
    assert len(pairs) >= 25
    missing = [f"{f}::{t}" for f, t in pairs if not (ROOT / f).exists() or t not in _defined(f)]
    assert not missing, f"docs/reliability.md names missing tests: {missing}"

"""Provider kinds are named only inside `providers/`: everything else asks the registry what a kind can do."""
from __future__ import annotations

import ast
from pathlib import Path

from tokenyard.providers.kinds import KINDS

ROOT = Path(__file__).resolve().parents[3]
TREES = [ROOT / "services" / "tokenyard", ROOT / "gateway-http" / "tokenyard_http"]
PROVIDERS = ROOT / "services" / "tokenyard" / "providers"
ALLOWED: dict[str, set[str]] = {
    # file (relative to the repo) -> the kind-like strings it may hold, and why
    "services/tokenyard/embeddings/model.py": {"local"},  # a local model's default display name, not a kind
}


def _named_kinds(path: Path) -> list[tuple[int, str]]:
    """(line, kind) of every string constant that is exactly a provider kind (docstrings included: harmless)."""
    tree = ast.parse(path.read_text(), str(path))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in KINDS]


def test_no_module_outside_providers_names_a_provider_kind() -> None:
    found = []
    for tree in TREES:
        for path in sorted(tree.rglob("*.py")):
            if PROVIDERS in path.parents or path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
                continue
            rel = str(path.relative_to(ROOT))
            found += [f"{rel}:{line}: {kind!r}" for line, kind in _named_kinds(path)
                      if kind not in ALLOWED.get(rel, set())]
    assert not found, "provider kinds named outside providers/ (ask tokenyard.providers.registry):\n" + \
        "\n".join(found)


def test_the_scan_sees_a_kind_string() -> None:
    """The check can fail: a module comparing with a kind literal is reported."""
    assert [k for _, k in _named_kinds(Path(__file__).with_name("_kind_sample.py"))] == ["local"]

"""The import boundaries of DESIGN.md ("Inside: how the parts meet"), checked over the source with `ast`.

A small `ast` walk rather than import-linter: no new dependency, it sees function-level imports too (they
hid two cycles before), and a failure names each offending import as `file:line  module`, which is what
one needs to fix it. Allowed arrows:

- a service package (auth, config, deployments, embeddings, inference, metering, videojobs, chats,
  passthrough) imports another service package only through `tokenyard.clients`; another service's
  generated `*_pb2` / `*_pb2_grpc` modules are its API and allowed too. Shared parts (`tokenyard.common`,
  `providers`, `storage`, `monitoring`, `errors`, ...) are not services and are free to use.
- `tokenyard.clients` is the one declared place where services meet; it may name any service.
- composition roots (`runtime.py`, `tenancy.py`, `cli.py`, `cmd/`) build the services, so they import them.
- the HTTP facade (gateway-http) reaches services only through `tokenyard.clients`, the pb2 modules and
  the short FACADE_ALLOWANCE below (pure converters between the OpenAI wire format and the protos).

And no import cycle between modules, counting function-level imports (which only hide a cycle) but not
`if TYPE_CHECKING:` ones (never run).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "services" / "tokenyard"
FACADE = ROOT / "gateway-http" / "tokenyard_http"
SERVICES = frozenset({"auth", "config", "deployments", "embeddings", "inference", "metering", "videojobs",
                      "chats", "passthrough"})
FACADE_ALLOWANCE = frozenset({
    "tokenyard.inference.convert",  # OpenAI chat JSON <-> ChatRequest/ChatResponse protos
    "tokenyard.chats.convert",  # chat-app JSON <-> chats protos
    "tokenyard.embeddings.convert",  # OpenAI embeddings JSON <-> protos
    "tokenyard.passthrough.paths",  # provider-native paths and headers, parsed alike by the facade and the Router
    "tokenyard.passthrough.access.GATEWAY_HEADER",  # the header name carrying the gateway key on passthrough
})


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            node.body = []  # typing-only imports never run
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from tokenyard.auth import cache` imports tokenyard.auth.cache
                yield node.lineno, f"{node.module}.{alias.name}"


SAME_SERVICE = {"deployments": "config", "passthrough": "inference"}
"""Deployments are a part of the Config service (their RPCs are ConfigService RPCs, DESIGN.md's table) and
passthrough a part of the Router (its RPC is an InferenceService RPC, inference/v1/passthrough.proto)."""


def _service(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == "tokenyard" and parts[1] in SERVICES:
        return SAME_SERVICE.get(parts[1], parts[1])
    return None


def _is_api(module: str) -> bool:
    """Generated code: every service's `v1` package holds only its `*_pb2` / `*_pb2_grpc` modules."""
    return "v1" in module.split(".")


def _offences(files: Iterator[Path], owner: str | None, allowance: frozenset[str]) -> list[str]:
    found: list[str] = []
    for path in sorted(files):
        seen: set[int] = set()
        for line, module in _imports(path):
            target = _service(module)
            if target is None or target == owner or _is_api(module) or line in seen:
                continue
            if any(module == a or module.startswith(a + ".") for a in allowance):
                continue
            seen.add(line)
            found.append(f"{path.relative_to(ROOT)}:{line}  {module}")
    return found


def test_services_meet_only_through_clients() -> None:
    found: list[str] = []
    for service in sorted(SERVICES):
        folder = PACKAGE / service
        if folder.is_dir():
            found += _offences(folder.rglob("*.py"), _service(f"tokenyard.{service}"), frozenset())
    shared = [p for p in PACKAGE.rglob("*.py")
              if p.relative_to(PACKAGE).parts[0] not in SERVICES | {"clients", "cmd"}
              and p.name not in {"runtime.py", "tenancy.py", "cli.py"} and "migrations" not in p.parts]
    found += _offences(iter(shared), None, frozenset())
    assert not found, "imports across service boundaries (use tokenyard.clients):\n" + "\n".join(found)


def test_facade_reaches_services_only_through_clients() -> None:
    found = _offences(FACADE.rglob("*.py"), None, FACADE_ALLOWANCE)
    assert not found, "facade imports of service internals (use tokenyard.clients):\n" + "\n".join(found)


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for package, root in (("tokenyard", PACKAGE), ("tokenyard_http", FACADE)):
        for path in root.rglob("*.py"):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            if "migrations" not in parts and not parts[-1].endswith("_pb2"):
                mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A shortest import path from `start` back to itself (breadth first), or None."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        here = queue.pop(0)
        for nxt in sorted(graph[here]):
            if nxt == start:
                return paths[here] + [start]
            if nxt not in paths:
                paths[nxt] = paths[here] + [nxt]
                queue.append(nxt)
    return None


def test_no_import_cycles_even_through_function_level_imports() -> None:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in mods.items():
        graph[module] = set()
        for _, target in _imports(path):
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != module and not module.startswith(target + "."):  # a package's own __init__
                graph[module].add(target)
    cycles = {" -> ".join(c) for m in sorted(graph) if (c := _cycle_from(m, graph)) and c[0] == min(c[:-1])}
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles))

"""Generate the Python protobuf/gRPC modules from protos/ into services/tokenyard/ (or check they are fresh)."""
from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc
import grpc_tools

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "services"


def _generated(root: Path) -> list[Path]:
    """Generated modules under root (relative paths), bytecode caches excluded."""
    return sorted(p.relative_to(root) for pattern in ("*_pb2.py", "*_pb2.pyi", "*_pb2_grpc.py")
                  for p in root.rglob(pattern) if "__pycache__" not in p.parts)


def generate(out: Path) -> list[Path]:
    """Run protoc over every .proto file; return the generated files relative to out."""
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    include = Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-I{PROTOS}", f"-I{include}", f"--python_out={out}", f"--pyi_out={out}",
            f"--grpc_python_out={out}", *files]
    if protoc.main(args) != 0:
        sys.exit("protoc failed")
    generated = _generated(out)
    for d in {p.parent for p in generated}:
        for pkg in [d, *d.parents]:
            if str(pkg) in (".", "tokenyard"):
                continue
            init = out / pkg / "__init__.py"
            init.parent.mkdir(parents=True, exist_ok=True)
            init.touch()
    return generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed modules are stale")
    ns = parser.parse_args()
    if not ns.check:
        generate(OUT)
        print("generated into", OUT)
        return
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        stale = [str(p) for p in fresh
                 if not (OUT / p).exists() or not filecmp.cmp(Path(tmp) / p, OUT / p, shallow=False)]
        committed = set(_generated(OUT))
        extra = sorted(str(p) for p in committed - set(fresh))
    if stale or extra:
        sys.exit(f"generated protobuf code is stale; run `python scripts/gen_protos.py`: {stale + extra}")
    print("generated protobuf code is fresh")


if __name__ == "__main__":
    main()

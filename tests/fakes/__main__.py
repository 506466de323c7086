"""Run one fake upstream in the foreground: ``python -m tests.fakes openai|anthropic|gemini --port N``."""

from __future__ import annotations

import argparse

from . import FAKES


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes", description=__doc__)
    parser.add_argument("provider", choices=sorted(FAKES))
    parser.add_argument("--port", type=int, default=0, help="TCP port (0 = pick a free one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-key", default=None, help="require this API key on every request")
    args = parser.parse_args(argv)
    FAKES[args.provider](port=args.port, host=args.host, require_api_key=args.api_key).run_forever()


if __name__ == "__main__":
    main()

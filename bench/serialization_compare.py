"""Per-request CPU of the chat path's conversions, this checkout against an older one (before the typed core).

    git archive <old-commit> | tar -x -C /tmp/old && python bench/serialization_compare.py /tmp/old

Each tree is measured in its own process (same module names): the facade's way in (body bytes -> the Router's
protobuf request), the Router's way in (protobuf -> what the Router works on), and the facade's way out (the
Router's protobuf answer -> bytes: one completion, and a 20-chunk stream). CPU µs per call, best of 7.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
STEPS = ("facade in: body -> proto", "router in: proto -> request", "facade out: completion -> bytes",
         "facade out: 20 chunks -> bytes")

_MEASURE = r'''
import json, sys, time, timeit
root = sys.argv[1]
sys.path[:0] = [root + "/services", root + "/gateway-http"]
sys.path.append(sys.argv[2])
import orjson
from bench.chat_samples import ANSWER, CHUNKS, REQUEST
from tokenyard.inference import convert
if hasattr(convert, "completion_from_pb"):  # the typed core
    from tokenyard.protocol.openai_chat import decode_chat_request, encode_chunk, encode_completion
    way_in = lambda: convert.request_to_pb(decode_chat_request(REQUEST))
    out = lambda c: encode_completion(convert.completion_from_pb(c))
    out_chunk = lambda c: encode_chunk(convert.chunk_from_pb(c))
    router_in = convert.request_from_pb  # the Router works on the typed request
else:
    from tokenyard_http.schemas.chat import ChatCompletionRequest
    way_in = lambda: convert.request_to_pb(
        ChatCompletionRequest.model_validate(orjson.loads(REQUEST)).model_dump(exclude_unset=True))
    out = lambda c: orjson.dumps(convert.completion_to_dict(c))
    out_chunk = lambda c: orjson.dumps(convert.chunk_to_dict(c))
    router_in = convert.request_to_dict
pb = way_in()
answer, chunks = convert.completion_to_pb(ANSWER), [convert.chunk_to_pb(c) for c in CHUNKS]
fns = [way_in, lambda: router_in(pb), lambda: out(answer), lambda: [out_chunk(c) for c in chunks]]
print(json.dumps([min(timeit.repeat(f, number=2000, repeat=7, timer=time.process_time)) / 2000 * 1e6
                  for f in fns]))
'''


def measure(tree: Path) -> list[float]:
    """CPU µs per call of each step, for the code under `tree`."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(tree), str(HERE)], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout)


def main() -> None:
    old_tree = Path(sys.argv[1]).resolve()
    old, new = measure(old_tree), measure(HERE)
    print("| step | before µs | after µs | saved µs |\n|---|---:|---:|---:|")
    for name, a, b in zip(STEPS, old, new):
        print(f"| {name} | {a:.1f} | {b:.1f} | {a - b:+.1f} |")


if __name__ == "__main__":
    main()

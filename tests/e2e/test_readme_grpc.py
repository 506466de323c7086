"""The README's gRPC examples work as written against a running gateway: the Python one is run as is, the
grpcurl one is replayed the way grpcurl does it (descriptors from server reflection, the request from its JSON)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from tests.harness.gateway import Gateway

README = Path(__file__).resolve().parents[2] / "README.md"
README_ADDR = "127.0.0.1:50051"


def readme_block(language: str, containing: str) -> str:
    """The README's fenced `language` block that contains `containing`."""
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)
    found = [b for b in blocks if containing in b]
    assert len(found) == 1, f"one ```{language} block with {containing!r} expected in README.md"
    return found[0]


def test_the_python_grpc_example_runs_as_written(gateway: Gateway) -> None:
    code = readme_block("python", "InferenceServiceStub")
    assert README_ADDR in code
    out = subprocess.run([sys.executable, "-c", code.replace(README_ADDR, gateway.grpc_addr)],
                         env={**os.environ, "TOKENYARD_KEY": gateway.admin_key}, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["Hello over gRPC", "Hello over gRPC"]


def test_the_grpcurl_example_through_reflection(gateway: Gateway) -> None:
    block = readme_block("bash", "grpcurl")
    header = re.search(r'-H "authorization: Bearer \$TOKENYARD_KEY"', block)
    body = re.search(r"-d '([^']+)'", block)
    target = re.search(r"(\S+) (tokenyard\.[\w.]+)/(\w+)\s*$", block)
    assert header and body and target, block
    assert target.group(1) == README_ADDR
    with grpc.insecure_channel(gateway.grpc_addr) as channel:
        reflection = ProtoReflectionDescriptorDatabase(channel)
        assert target.group(2) in reflection.get_services()  # `grpcurl ... list`
        pool = descriptor_pool.DescriptorPool(reflection)
        method = pool.FindServiceByName(target.group(2)).FindMethodByName(target.group(3))
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_unary(f"/{target.group(2)}/{target.group(3)}",
                                   request_serializer=request_cls.SerializeToString,
                                   response_deserializer=response_cls.FromString)
        request = json_format.Parse(body.group(1), request_cls())
        reply = call(request, metadata=[("authorization", f"Bearer {gateway.admin_key}")], timeout=30)
        answer = json_format.MessageToDict(reply)
        assert answer["completion"]["choices"][0]["message"]["content"] == [{"text": "Hello"}]
        try:
            call(request, timeout=30)  # without the metadata
            raise AssertionError("a call without `authorization` must fail")
        except grpc.RpcError as err:
            assert err.code() is grpc.StatusCode.UNAUTHENTICATED

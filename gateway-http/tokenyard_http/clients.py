"""gRPC stubs of the services the facade calls, built once at start-up and kept on app.state."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from fastapi import Request

from tokenyard.auth.v1 import auth_service_pb2_grpc
from tokenyard.chats.v1 import chats_service_pb2_grpc
from tokenyard.clients.inference import LocalInferenceStub
from tokenyard.config.v1 import config_service_pb2_grpc
from tokenyard.embeddings.v1 import embeddings_service_pb2_grpc
from tokenyard.grpcutil import channel
from tokenyard.inference.v1 import inference_service_pb2_grpc
from tokenyard.metering.v1 import metering_service_pb2_grpc
from tokenyard.settings import Settings
from tokenyard.videojobs.v1 import videojobs_service_pb2_grpc


@dataclass
class Clients:
    """One stub per service, on long-lived channels (one channel per distinct address)."""

    auth: auth_service_pb2_grpc.AuthServiceStub
    config: config_service_pb2_grpc.ConfigServiceStub
    inference: inference_service_pb2_grpc.InferenceServiceStub | LocalInferenceStub
    embeddings: embeddings_service_pb2_grpc.EmbeddingsServiceStub
    videojobs: videojobs_service_pb2_grpc.VideoJobsServiceStub
    metering: metering_service_pb2_grpc.MeteringServiceStub
    chats: chats_service_pb2_grpc.ChatsServiceStub  # the chat app, hosted by the Inference process
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @classmethod
    def connect(cls, settings: Settings, local_inference: Any = None) -> "Clients":
        """Channels to every service address in the settings; the Router's servicer is called directly
        when `local_inference` (it runs in this process)."""
        by_addr: dict[str, grpc.aio.Channel] = {}

        def ch(service: str) -> grpc.aio.Channel:
            addr = settings.service_addr(service)
            if addr not in by_addr:
                by_addr[addr] = channel(addr)
            return by_addr[addr]

        return cls(auth=auth_service_pb2_grpc.AuthServiceStub(ch("auth")),
                   config=config_service_pb2_grpc.ConfigServiceStub(ch("config")),
                   inference=LocalInferenceStub(local_inference) if local_inference is not None
                   else inference_service_pb2_grpc.InferenceServiceStub(ch("inference")),
                   embeddings=embeddings_service_pb2_grpc.EmbeddingsServiceStub(ch("embeddings")),
                   videojobs=videojobs_service_pb2_grpc.VideoJobsServiceStub(ch("videojobs")),
                   metering=metering_service_pb2_grpc.MeteringServiceStub(ch("metering")),
                   chats=chats_service_pb2_grpc.ChatsServiceStub(ch("inference")),
                   channels=list(by_addr.values()))

    async def close(self) -> None:
        """Close every channel."""
        for c in self.channels:
            await c.close()


async def clients(request: Request) -> Clients:
    """The app's clients (a FastAPI dependency; async so FastAPI does not hop to a worker thread per request)."""
    return request.app.state.clients

"""VideoJobs client over gRPC: the same operations as the service, for other services and tools."""
from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from tokenyard.common.v1 import common_pb2
from tokenyard.grpcutil import auth_metadata, from_rpc_error
from tokenyard.videojobs.v1 import videojobs_service_pb2 as pb
from tokenyard.videojobs.v1 import videojobs_service_pb2_grpc as pb_grpc


class VideoJobsClient:
    """Calls a VideoJobs service with one caller's credential; errors come back as GatewayError."""

    def __init__(self, channel: grpc.aio.Channel, credential: str) -> None:
        self.stub = pb_grpc.VideoJobsServiceStub(channel)
        self._md = auth_metadata(credential)

    async def submit(self, model: str, prompt: str, seconds: float = 0, size: str = "", app_id: str = ""
                     ) -> pb.Video:
        """Queue a job."""
        try:
            req = pb.SubmitVideoRequest(model=model, prompt=prompt, seconds=seconds, size=size, app_id=app_id)
            resp = await self.stub.SubmitVideo(req, metadata=self._md, timeout=30)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return resp.video

    async def get(self, video_id: str) -> pb.Video:
        """One job."""
        try:
            resp = await self.stub.GetVideo(pb.GetVideoRequest(id=video_id), metadata=self._md, timeout=30)
            return resp.video
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    async def list(self, page_size: int = 20, page_token: str = "") -> tuple[list[pb.Video], str]:
        """A page of jobs and the next page token."""
        try:
            resp = await self.stub.ListVideos(pb.ListVideosRequest(page=common_pb2.PageRequest(
                page_size=page_size, page_token=page_token)), metadata=self._md, timeout=30)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return list(resp.videos), resp.next_page_token

    async def cancel(self, video_id: str) -> pb.Video:
        """Cancel a queued or running job."""
        try:
            return (await self.stub.CancelVideo(pb.CancelVideoRequest(id=video_id), metadata=self._md,
                                                timeout=30)).video
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    async def download(self, video_id: str, offset: int = 0, length: int = 0) -> AsyncIterator[bytes]:
        """The MP4 bytes as they stream."""
        call = self.stub.DownloadVideo(pb.DownloadVideoRequest(id=video_id, offset=offset, length=length),
                                       metadata=self._md)
        try:
            async for msg in call:
                if msg.data:
                    yield msg.data
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        finally:
            call.cancel()

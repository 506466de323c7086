"""VideoJobsService gRPC servicer: proto <-> domain, errors -> status. Thin by design."""
from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from tokenyard.grpcutil import credential_from, handles_errors
from tokenyard.videojobs.convert import job_to_pb
from tokenyard.videojobs.service import VideoJobsService, VideoRequest
from tokenyard.videojobs.v1 import videojobs_service_pb2 as pb
from tokenyard.videojobs.v1 import videojobs_service_pb2_grpc as pb_grpc


class VideoJobsServicer(pb_grpc.VideoJobsServiceServicer):
    """Exposes VideoJobsService over gRPC; `on_submit` lets local workers start at once."""

    def __init__(self, service: VideoJobsService, on_submit=None) -> None:  # type: ignore[no-untyped-def]
        self._service = service
        self._on_submit = on_submit

    @handles_errors
    async def SubmitVideo(self, request: pb.SubmitVideoRequest, context: grpc.aio.ServicerContext
                          ) -> pb.SubmitVideoResponse:
        job = await self._service.submit(credential_from(context), VideoRequest(
            model=request.model, prompt=request.prompt, seconds=request.seconds, size=request.size,
            app_id=request.app_id, request_id=request.request_id))
        if self._on_submit is not None:
            self._on_submit()
        return pb.SubmitVideoResponse(video=job_to_pb(job))

    @handles_errors
    async def GetVideo(self, request: pb.GetVideoRequest, context: grpc.aio.ServicerContext
                       ) -> pb.GetVideoResponse:
        job = await self._service.get(credential_from(context), request.id, request.app_id)
        return pb.GetVideoResponse(video=job_to_pb(job))

    @handles_errors
    async def ListVideos(self, request: pb.ListVideosRequest, context: grpc.aio.ServicerContext
                         ) -> pb.ListVideosResponse:
        jobs, more = await self._service.list(credential_from(context), app_id=request.app_id,
                                              after=request.page.page_token, limit=request.page.page_size)
        return pb.ListVideosResponse(videos=[job_to_pb(j) for j in jobs],
                                     next_page_token=jobs[-1].id if more and jobs else "")

    @handles_errors
    async def CancelVideo(self, request: pb.CancelVideoRequest, context: grpc.aio.ServicerContext
                          ) -> pb.CancelVideoResponse:
        job = await self._service.cancel(credential_from(context), request.id, request.app_id)
        return pb.CancelVideoResponse(video=job_to_pb(job))

    @handles_errors
    async def DeleteVideo(self, request: pb.DeleteVideoRequest, context: grpc.aio.ServicerContext
                          ) -> pb.DeleteVideoResponse:
        job, deleted = await self._service.delete(credential_from(context), request.id, request.app_id)
        return pb.DeleteVideoResponse(video=job_to_pb(job), deleted=deleted)

    @handles_errors
    async def DownloadVideo(self, request: pb.DownloadVideoRequest, context: grpc.aio.ServicerContext
                            ) -> AsyncIterator[pb.DownloadVideoResponse]:
        total, chunks = await self._service.content(credential_from(context), request.id, request.offset,
                                                    request.length, request.app_id)
        first = True
        async for data in chunks:
            yield pb.DownloadVideoResponse(data=data, total_size=total if first else 0)
            first = False
        if first:
            yield pb.DownloadVideoResponse(data=b"", total_size=total)


def registrar(servicer: VideoJobsServicer):  # type: ignore[no-untyped-def]
    """Adds the servicer to a server; returns the service name."""
    def register(server: grpc.aio.Server) -> str:
        pb_grpc.add_VideoJobsServiceServicer_to_server(servicer, server)
        return pb.DESCRIPTOR.services_by_name["VideoJobsService"].full_name
    return register

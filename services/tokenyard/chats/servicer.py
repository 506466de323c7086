"""ChatsService gRPC servicer (hosted in the Inference process): proto <-> ChatAppService, thin."""
from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from tokenyard.chats import convert
from tokenyard.chats.service import ChatAppService
from tokenyard.chats.v1 import chats_service_pb2 as pb
from tokenyard.chats.v1 import chats_service_pb2_grpc as pb_grpc
from tokenyard.clients.router import request_to_dict
from tokenyard.grpcutil import credential_from, handles_errors
from tokenyard.payload import loads


class ChatsServicer(pb_grpc.ChatsServiceServicer):
    """StreamTurn sends `x-chat-id` / `x-ratelimit-remaining` as initial metadata before the first event."""

    def __init__(self, service: ChatAppService) -> None:
        self._service = service

    @handles_errors
    async def StreamTurn(self, request: pb.StreamTurnRequest, context: grpc.aio.ServicerContext
                         ) -> AsyncIterator[pb.StreamTurnResponse]:
        body = request_to_dict(request.request)
        turn = await self._service.start_turn(credential_from(context), body, chat_id=request.chat_id,
                                              request_id=request.request_id)
        sent = False
        async for event in turn.events():
            if not sent:
                await context.send_initial_metadata(tuple(turn.metadata.items()))
                sent = True
            yield convert.event_to_pb(event)

    @handles_errors
    async def ListChats(self, request: pb.ListChatsRequest, context: grpc.aio.ServicerContext
                        ) -> pb.ListChatsResponse:
        chats = await self._service.list_chats(credential_from(context), request.limit)
        return pb.ListChatsResponse(chats=[convert.chat_to_pb(c) for c in chats])

    @handles_errors
    async def ListMessages(self, request: pb.ListMessagesRequest, context: grpc.aio.ServicerContext
                           ) -> pb.ListMessagesResponse:
        rows = await self._service.list_messages(credential_from(context), request.chat_id)
        return pb.ListMessagesResponse(messages=[convert.message_to_pb(m) for m in rows])

    @handles_errors
    async def DeleteChat(self, request: pb.DeleteChatRequest, context: grpc.aio.ServicerContext
                         ) -> pb.DeleteChatResponse:
        await self._service.delete_chat(credential_from(context), request.chat_id)
        return pb.DeleteChatResponse(success=True)

    @handles_errors
    async def PutTool(self, request: pb.PutToolRequest, context: grpc.aio.ServicerContext
                      ) -> pb.PutToolResponse:
        t = request.tool
        params = loads(t.parameters_json, "parameters") if t.parameters_json else None
        row = await self._service.put_tool(credential_from(context), t.name, t.description, params, t.url,
                                           t.secret)
        return pb.PutToolResponse(tool=convert.tool_to_pb(row))

    @handles_errors
    async def ListTools(self, request: pb.ListToolsRequest, context: grpc.aio.ServicerContext
                        ) -> pb.ListToolsResponse:
        rows, builtin = await self._service.list_tools(credential_from(context))
        return pb.ListToolsResponse(tools=[convert.tool_to_pb(r) for r in rows], builtin=builtin)

    @handles_errors
    async def DeleteTool(self, request: pb.DeleteToolRequest, context: grpc.aio.ServicerContext
                         ) -> pb.DeleteToolResponse:
        await self._service.delete_tool(credential_from(context), request.name)
        return pb.DeleteToolResponse(success=True)


def registrar(servicer: ChatsServicer):  # type: ignore[no-untyped-def]
    """Adds the servicer to a server; returns the service name."""
    def register(server: grpc.aio.Server) -> str:
        pb_grpc.add_ChatsServiceServicer_to_server(servicer, server)
        return pb.DESCRIPTOR.services_by_name["ChatsService"].full_name
    return register

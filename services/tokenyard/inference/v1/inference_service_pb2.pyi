from tokenyard.inference.v1 import chat_pb2 as _chat_pb2
from tokenyard.inference.v1 import passthrough_pb2 as _passthrough_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChatRequest(_message.Message):
    __slots__ = ("request", "app_id", "request_id", "idempotency_key")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    request: _chat_pb2.ChatCompletionRequest
    app_id: str
    request_id: str
    idempotency_key: str
    def __init__(self, request: _Optional[_Union[_chat_pb2.ChatCompletionRequest, _Mapping]] = ..., app_id: _Optional[str] = ..., request_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ChatResponse(_message.Message):
    __slots__ = ("completion", "target")
    COMPLETION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    completion: _chat_pb2.ChatCompletion
    target: str
    def __init__(self, completion: _Optional[_Union[_chat_pb2.ChatCompletion, _Mapping]] = ..., target: _Optional[str] = ...) -> None: ...

class StreamChatRequest(_message.Message):
    __slots__ = ("request", "app_id", "request_id")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request: _chat_pb2.ChatCompletionRequest
    app_id: str
    request_id: str
    def __init__(self, request: _Optional[_Union[_chat_pb2.ChatCompletionRequest, _Mapping]] = ..., app_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class StreamChatResponse(_message.Message):
    __slots__ = ("chunk",)
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    chunk: _chat_pb2.ChatCompletionChunk
    def __init__(self, chunk: _Optional[_Union[_chat_pb2.ChatCompletionChunk, _Mapping]] = ...) -> None: ...

import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tokenyard.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class App(_message.Message):
    __slots__ = ("id", "name", "owner", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    owner: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., owner: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AppConfig(_message.Message):
    __slots__ = ("default_model", "max_tokens_per_request", "allowed_models", "rpm", "tpm", "enabled_tools", "custom_tools_json", "require_gateway_key", "allow_unauthenticated_passthrough")
    DEFAULT_MODEL_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_PER_REQUEST_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_MODELS_FIELD_NUMBER: _ClassVar[int]
    RPM_FIELD_NUMBER: _ClassVar[int]
    TPM_FIELD_NUMBER: _ClassVar[int]
    ENABLED_TOOLS_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_TOOLS_JSON_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_GATEWAY_KEY_FIELD_NUMBER: _ClassVar[int]
    ALLOW_UNAUTHENTICATED_PASSTHROUGH_FIELD_NUMBER: _ClassVar[int]
    default_model: str
    max_tokens_per_request: int
    allowed_models: _containers.RepeatedScalarFieldContainer[str]
    rpm: int
    tpm: int
    enabled_tools: _containers.RepeatedScalarFieldContainer[str]
    custom_tools_json: str
    require_gateway_key: bool
    allow_unauthenticated_passthrough: bool
    def __init__(self, default_model: _Optional[str] = ..., max_tokens_per_request: _Optional[int] = ..., allowed_models: _Optional[_Iterable[str]] = ..., rpm: _Optional[int] = ..., tpm: _Optional[int] = ..., enabled_tools: _Optional[_Iterable[str]] = ..., custom_tools_json: _Optional[str] = ..., require_gateway_key: _Optional[bool] = ..., allow_unauthenticated_passthrough: _Optional[bool] = ...) -> None: ...

class Pricing(_message.Message):
    __slots__ = ("input_per_mtok_usd", "output_per_mtok_usd", "per_call_usd", "per_second_usd")
    INPUT_PER_MTOK_USD_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PER_MTOK_USD_FIELD_NUMBER: _ClassVar[int]
    PER_CALL_USD_FIELD_NUMBER: _ClassVar[int]
    PER_SECOND_USD_FIELD_NUMBER: _ClassVar[int]
    input_per_mtok_usd: str
    output_per_mtok_usd: str
    per_call_usd: str
    per_second_usd: str
    def __init__(self, input_per_mtok_usd: _Optional[str] = ..., output_per_mtok_usd: _Optional[str] = ..., per_call_usd: _Optional[str] = ..., per_second_usd: _Optional[str] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("id", "type", "provider", "provider_kind", "context_window", "dimensions", "pricing", "aliases", "owned_by", "sizes", "max_seconds", "available", "unavailable_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_KIND_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_WINDOW_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    PRICING_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    OWNED_BY_FIELD_NUMBER: _ClassVar[int]
    SIZES_FIELD_NUMBER: _ClassVar[int]
    MAX_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    provider: str
    provider_kind: str
    context_window: int
    dimensions: int
    pricing: Pricing
    aliases: _containers.RepeatedScalarFieldContainer[str]
    owned_by: str
    sizes: _containers.RepeatedScalarFieldContainer[str]
    max_seconds: int
    available: bool
    unavailable_reason: str
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., provider: _Optional[str] = ..., provider_kind: _Optional[str] = ..., context_window: _Optional[int] = ..., dimensions: _Optional[int] = ..., pricing: _Optional[_Union[Pricing, _Mapping]] = ..., aliases: _Optional[_Iterable[str]] = ..., owned_by: _Optional[str] = ..., sizes: _Optional[_Iterable[str]] = ..., max_seconds: _Optional[int] = ..., available: _Optional[bool] = ..., unavailable_reason: _Optional[str] = ...) -> None: ...

class Deployment(_message.Message):
    __slots__ = ("id", "owner", "model", "upstream_kind", "base_url", "api_key_env", "state", "created_at", "ends_at", "last_error", "default_key_id", "ready_at", "finished_at", "has_api_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_KIND_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    API_KEY_ENV_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    READY_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    HAS_API_KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner: str
    model: str
    upstream_kind: str
    base_url: str
    api_key_env: str
    state: str
    created_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    last_error: str
    default_key_id: str
    ready_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    has_api_key: bool
    def __init__(self, id: _Optional[str] = ..., owner: _Optional[str] = ..., model: _Optional[str] = ..., upstream_kind: _Optional[str] = ..., base_url: _Optional[str] = ..., api_key_env: _Optional[str] = ..., state: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., default_key_id: _Optional[str] = ..., ready_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., has_api_key: _Optional[bool] = ...) -> None: ...

class CreateAppRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CreateAppResponse(_message.Message):
    __slots__ = ("app",)
    APP_FIELD_NUMBER: _ClassVar[int]
    app: App
    def __init__(self, app: _Optional[_Union[App, _Mapping]] = ...) -> None: ...

class GetAppRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetAppResponse(_message.Message):
    __slots__ = ("app",)
    APP_FIELD_NUMBER: _ClassVar[int]
    app: App
    def __init__(self, app: _Optional[_Union[App, _Mapping]] = ...) -> None: ...

class ListAppsRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListAppsResponse(_message.Message):
    __slots__ = ("apps", "next_page_token")
    APPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    apps: _containers.RepeatedCompositeFieldContainer[App]
    next_page_token: str
    def __init__(self, apps: _Optional[_Iterable[_Union[App, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteAppRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteAppResponse(_message.Message):
    __slots__ = ("app",)
    APP_FIELD_NUMBER: _ClassVar[int]
    app: App
    def __init__(self, app: _Optional[_Union[App, _Mapping]] = ...) -> None: ...

class GetAppConfigRequest(_message.Message):
    __slots__ = ("app_id",)
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    def __init__(self, app_id: _Optional[str] = ...) -> None: ...

class GetAppConfigResponse(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: AppConfig
    def __init__(self, config: _Optional[_Union[AppConfig, _Mapping]] = ...) -> None: ...

class PutAppConfigRequest(_message.Message):
    __slots__ = ("app_id", "config")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    config: AppConfig
    def __init__(self, app_id: _Optional[str] = ..., config: _Optional[_Union[AppConfig, _Mapping]] = ...) -> None: ...

class PutAppConfigResponse(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: AppConfig
    def __init__(self, config: _Optional[_Union[AppConfig, _Mapping]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("type", "app_id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    type: str
    app_id: str
    def __init__(self, type: _Optional[str] = ..., app_id: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ...) -> None: ...

class CreateDeploymentRequest(_message.Message):
    __slots__ = ("model", "upstream_kind", "base_url", "api_key_env", "hours", "api_key")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_KIND_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    API_KEY_ENV_FIELD_NUMBER: _ClassVar[int]
    HOURS_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    model: str
    upstream_kind: str
    base_url: str
    api_key_env: str
    hours: float
    api_key: str
    def __init__(self, model: _Optional[str] = ..., upstream_kind: _Optional[str] = ..., base_url: _Optional[str] = ..., api_key_env: _Optional[str] = ..., hours: _Optional[float] = ..., api_key: _Optional[str] = ...) -> None: ...

class CreateDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class GetDeploymentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetDeploymentResponse(_message.Message):
    __slots__ = ("deployment", "default_key_secret")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_KEY_SECRET_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    default_key_secret: str
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ..., default_key_secret: _Optional[str] = ...) -> None: ...

class ListDeploymentsRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListDeploymentsResponse(_message.Message):
    __slots__ = ("deployments", "next_page_token")
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    deployments: _containers.RepeatedCompositeFieldContainer[Deployment]
    next_page_token: str
    def __init__(self, deployments: _Optional[_Iterable[_Union[Deployment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExtendDeploymentRequest(_message.Message):
    __slots__ = ("id", "hours")
    ID_FIELD_NUMBER: _ClassVar[int]
    HOURS_FIELD_NUMBER: _ClassVar[int]
    id: str
    hours: float
    def __init__(self, id: _Optional[str] = ..., hours: _Optional[float] = ...) -> None: ...

class ExtendDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class StopDeploymentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class StopDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class CreateDeploymentKeyRequest(_message.Message):
    __slots__ = ("id", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CreateDeploymentKeyResponse(_message.Message):
    __slots__ = ("key_id", "secret", "prefix")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    secret: str
    prefix: str
    def __init__(self, key_id: _Optional[str] = ..., secret: _Optional[str] = ..., prefix: _Optional[str] = ...) -> None: ...

class ResolveDeploymentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ResolveDeploymentResponse(_message.Message):
    __slots__ = ("deployment", "upstream_api_key")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_API_KEY_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    upstream_api_key: str
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ..., upstream_api_key: _Optional[str] = ...) -> None: ...

class WatchChangesRequest(_message.Message):
    __slots__ = ("after_sequence",)
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    def __init__(self, after_sequence: _Optional[int] = ...) -> None: ...

class WatchChangesResponse(_message.Message):
    __slots__ = ("sequence", "kind", "id")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    kind: str
    id: str
    def __init__(self, sequence: _Optional[int] = ..., kind: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tokenyard.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UsageRecord(_message.Message):
    __slots__ = ("request_id", "time", "account_id", "app_id", "key_id", "model", "target", "usage", "cost_micros", "latency_ms", "ttft_ms", "status", "kind", "reservation_id", "cost_nanos", "client_request_id", "reservation_share_nanos")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    TTFT_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    COST_NANOS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_SHARE_NANOS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    time: _timestamp_pb2.Timestamp
    account_id: str
    app_id: str
    key_id: str
    model: str
    target: str
    usage: _common_pb2.Usage
    cost_micros: int
    latency_ms: float
    ttft_ms: float
    status: str
    kind: str
    reservation_id: str
    cost_nanos: int
    client_request_id: str
    reservation_share_nanos: int
    def __init__(self, request_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., account_id: _Optional[str] = ..., app_id: _Optional[str] = ..., key_id: _Optional[str] = ..., model: _Optional[str] = ..., target: _Optional[str] = ..., usage: _Optional[_Union[_common_pb2.Usage, _Mapping]] = ..., cost_micros: _Optional[int] = ..., latency_ms: _Optional[float] = ..., ttft_ms: _Optional[float] = ..., status: _Optional[str] = ..., kind: _Optional[str] = ..., reservation_id: _Optional[str] = ..., cost_nanos: _Optional[int] = ..., client_request_id: _Optional[str] = ..., reservation_share_nanos: _Optional[int] = ...) -> None: ...

class RecordUsageRequest(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[UsageRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[UsageRecord, _Mapping]]] = ...) -> None: ...

class RecordUsageResponse(_message.Message):
    __slots__ = ("stored",)
    STORED_FIELD_NUMBER: _ClassVar[int]
    stored: int
    def __init__(self, stored: _Optional[int] = ...) -> None: ...

class ModelUsage(_message.Message):
    __slots__ = ("model", "requests", "prompt_tokens", "completion_tokens", "cost_micros", "total_tokens", "cost_nanos")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_MICROS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_NANOS_FIELD_NUMBER: _ClassVar[int]
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_micros: int
    total_tokens: int
    cost_nanos: int
    def __init__(self, model: _Optional[str] = ..., requests: _Optional[int] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., cost_micros: _Optional[int] = ..., total_tokens: _Optional[int] = ..., cost_nanos: _Optional[int] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("app_id", "start_date", "end_date", "account_id")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    start_date: str
    end_date: str
    account_id: str
    def __init__(self, app_id: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., account_id: _Optional[str] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("total", "by_model", "start_date", "end_date")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    BY_MODEL_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    total: ModelUsage
    by_model: _containers.RepeatedCompositeFieldContainer[ModelUsage]
    start_date: str
    end_date: str
    def __init__(self, total: _Optional[_Union[ModelUsage, _Mapping]] = ..., by_model: _Optional[_Iterable[_Union[ModelUsage, _Mapping]]] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class ListUsageRecordsRequest(_message.Message):
    __slots__ = ("page", "start_date", "end_date", "account_id")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    start_date: str
    end_date: str
    account_id: str
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., account_id: _Optional[str] = ...) -> None: ...

class ListUsageRecordsResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[UsageRecord]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[UsageRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReserveRequest(_message.Message):
    __slots__ = ("account_id", "amount_micros", "request_id", "amount_nanos")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MICROS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_NANOS_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    amount_micros: int
    request_id: str
    amount_nanos: int
    def __init__(self, account_id: _Optional[str] = ..., amount_micros: _Optional[int] = ..., request_id: _Optional[str] = ..., amount_nanos: _Optional[int] = ...) -> None: ...

class ReserveResponse(_message.Message):
    __slots__ = ("reservation_id", "remaining_micros", "remaining_nanos")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REMAINING_MICROS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_NANOS_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    remaining_micros: int
    remaining_nanos: int
    def __init__(self, reservation_id: _Optional[str] = ..., remaining_micros: _Optional[int] = ..., remaining_nanos: _Optional[int] = ...) -> None: ...

class SettleRequest(_message.Message):
    __slots__ = ("reservation_id", "amount_micros", "amount_nanos")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MICROS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_NANOS_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    amount_micros: int
    amount_nanos: int
    def __init__(self, reservation_id: _Optional[str] = ..., amount_micros: _Optional[int] = ..., amount_nanos: _Optional[int] = ...) -> None: ...

class SettleResponse(_message.Message):
    __slots__ = ("remaining_micros", "remaining_nanos")
    REMAINING_MICROS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_NANOS_FIELD_NUMBER: _ClassVar[int]
    remaining_micros: int
    remaining_nanos: int
    def __init__(self, remaining_micros: _Optional[int] = ..., remaining_nanos: _Optional[int] = ...) -> None: ...

class ReleaseRequest(_message.Message):
    __slots__ = ("reservation_id", "amount_nanos", "lease_owner")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_NANOS_FIELD_NUMBER: _ClassVar[int]
    LEASE_OWNER_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    amount_nanos: int
    lease_owner: str
    def __init__(self, reservation_id: _Optional[str] = ..., amount_nanos: _Optional[int] = ..., lease_owner: _Optional[str] = ...) -> None: ...

class ReleaseResponse(_message.Message):
    __slots__ = ("remaining_micros", "remaining_nanos")
    REMAINING_MICROS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_NANOS_FIELD_NUMBER: _ClassVar[int]
    remaining_micros: int
    remaining_nanos: int
    def __init__(self, remaining_micros: _Optional[int] = ..., remaining_nanos: _Optional[int] = ...) -> None: ...

class CheckLimitRequest(_message.Message):
    __slots__ = ("key", "rpm", "tpm", "tokens")
    KEY_FIELD_NUMBER: _ClassVar[int]
    RPM_FIELD_NUMBER: _ClassVar[int]
    TPM_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    key: str
    rpm: int
    tpm: int
    tokens: int
    def __init__(self, key: _Optional[str] = ..., rpm: _Optional[int] = ..., tpm: _Optional[int] = ..., tokens: _Optional[int] = ...) -> None: ...

class CheckLimitResponse(_message.Message):
    __slots__ = ("allowed", "remaining_requests", "remaining_tokens", "reset_seconds", "retry_after_seconds")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_TOKENS_FIELD_NUMBER: _ClassVar[int]
    RESET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    remaining_requests: int
    remaining_tokens: int
    reset_seconds: float
    retry_after_seconds: float
    def __init__(self, allowed: _Optional[bool] = ..., remaining_requests: _Optional[int] = ..., remaining_tokens: _Optional[int] = ..., reset_seconds: _Optional[float] = ..., retry_after_seconds: _Optional[float] = ...) -> None: ...

class GetBalanceRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("account_id", "plan", "balance_micros", "allowance_remaining_micros", "reserved_micros", "balance_nanos", "allowance_remaining_nanos", "reserved_nanos", "topup_nanos", "monthly_allowance_nanos", "unlimited", "period")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    BALANCE_MICROS_FIELD_NUMBER: _ClassVar[int]
    ALLOWANCE_REMAINING_MICROS_FIELD_NUMBER: _ClassVar[int]
    RESERVED_MICROS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_NANOS_FIELD_NUMBER: _ClassVar[int]
    ALLOWANCE_REMAINING_NANOS_FIELD_NUMBER: _ClassVar[int]
    RESERVED_NANOS_FIELD_NUMBER: _ClassVar[int]
    TOPUP_NANOS_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_ALLOWANCE_NANOS_FIELD_NUMBER: _ClassVar[int]
    UNLIMITED_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    plan: str
    balance_micros: int
    allowance_remaining_micros: int
    reserved_micros: int
    balance_nanos: int
    allowance_remaining_nanos: int
    reserved_nanos: int
    topup_nanos: int
    monthly_allowance_nanos: int
    unlimited: bool
    period: str
    def __init__(self, account_id: _Optional[str] = ..., plan: _Optional[str] = ..., balance_micros: _Optional[int] = ..., allowance_remaining_micros: _Optional[int] = ..., reserved_micros: _Optional[int] = ..., balance_nanos: _Optional[int] = ..., allowance_remaining_nanos: _Optional[int] = ..., reserved_nanos: _Optional[int] = ..., topup_nanos: _Optional[int] = ..., monthly_allowance_nanos: _Optional[int] = ..., unlimited: _Optional[bool] = ..., period: _Optional[str] = ...) -> None: ...

class TopUpRequest(_message.Message):
    __slots__ = ("account_id", "amount_micros", "amount_usd", "note")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MICROS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_USD_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    amount_micros: int
    amount_usd: str
    note: str
    def __init__(self, account_id: _Optional[str] = ..., amount_micros: _Optional[int] = ..., amount_usd: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class TopUpResponse(_message.Message):
    __slots__ = ("balance_micros", "balance")
    BALANCE_MICROS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    balance_micros: int
    balance: GetBalanceResponse
    def __init__(self, balance_micros: _Optional[int] = ..., balance: _Optional[_Union[GetBalanceResponse, _Mapping]] = ...) -> None: ...

class SetPlanRequest(_message.Message):
    __slots__ = ("account_id", "plan")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    plan: str
    def __init__(self, account_id: _Optional[str] = ..., plan: _Optional[str] = ...) -> None: ...

class SetPlanResponse(_message.Message):
    __slots__ = ("balance",)
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    balance: GetBalanceResponse
    def __init__(self, balance: _Optional[_Union[GetBalanceResponse, _Mapping]] = ...) -> None: ...

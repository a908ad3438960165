from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
OUTCOME_ABORTED: Outcome
OUTCOME_COMMITTED: Outcome
OUTCOME_PENDING: Outcome
OUTCOME_UNSPECIFIED: Outcome
TRANSACTION_STATE_ABORTED: TransactionState
TRANSACTION_STATE_ABORTING: TransactionState
TRANSACTION_STATE_ACTIVE: TransactionState
TRANSACTION_STATE_COMMITTED: TransactionState
TRANSACTION_STATE_COMMITTING: TransactionState
TRANSACTION_STATE_IN_DOUBT: TransactionState
TRANSACTION_STATE_PREPARING: TransactionState
TRANSACTION_STATE_UNSPECIFIED: TransactionState
VOTE_ABORT: Vote
VOTE_PREPARED: Vote
VOTE_READ_ONLY: Vote
VOTE_UNSPECIFIED: Vote

class AbortRequest(_message.Message):
    __slots__ = ["reason", "txn_id"]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    reason: str
    txn_id: str
    def __init__(self, txn_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AbortResponse(_message.Message):
    __slots__ = ["outcome", "reason", "state"]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    outcome: Outcome
    reason: str
    state: TransactionState
    def __init__(self, outcome: _Optional[_Union[Outcome, str]] = ..., reason: _Optional[str] = ..., state: _Optional[_Union[TransactionState, str]] = ...) -> None: ...

class BeginRequest(_message.Message):
    __slots__ = ["labels", "participants", "timeout_ms", "txn_id"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    participants: _containers.RepeatedCompositeFieldContainer[ParticipantRef]
    timeout_ms: int
    txn_id: str
    def __init__(self, timeout_ms: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., participants: _Optional[_Iterable[_Union[ParticipantRef, _Mapping]]] = ..., txn_id: _Optional[str] = ...) -> None: ...

class BeginResponse(_message.Message):
    __slots__ = ["lease_expires_at", "txn_id"]
    LEASE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    lease_expires_at: _timestamp_pb2.Timestamp
    txn_id: str
    def __init__(self, txn_id: _Optional[str] = ..., lease_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CommitRequest(_message.Message):
    __slots__ = ["txn_id", "wait_for_acks"]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_ACKS_FIELD_NUMBER: _ClassVar[int]
    txn_id: str
    wait_for_acks: bool
    def __init__(self, txn_id: _Optional[str] = ..., wait_for_acks: bool = ...) -> None: ...

class CommitResponse(_message.Message):
    __slots__ = ["outcome", "reason", "state"]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    outcome: Outcome
    reason: str
    state: TransactionState
    def __init__(self, outcome: _Optional[_Union[Outcome, str]] = ..., reason: _Optional[str] = ..., state: _Optional[_Union[TransactionState, str]] = ...) -> None: ...

class EnlistRequest(_message.Message):
    __slots__ = ["participant", "txn_id"]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    participant: ParticipantRef
    txn_id: str
    def __init__(self, txn_id: _Optional[str] = ..., participant: _Optional[_Union[ParticipantRef, _Mapping]] = ...) -> None: ...

class EnlistResponse(_message.Message):
    __slots__ = ["lease_expires_at", "newly_enlisted"]
    LEASE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    NEWLY_ENLISTED_FIELD_NUMBER: _ClassVar[int]
    lease_expires_at: _timestamp_pb2.Timestamp
    newly_enlisted: bool
    def __init__(self, newly_enlisted: bool = ..., lease_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetTransactionRequest(_message.Message):
    __slots__ = ["txn_id"]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    txn_id: str
    def __init__(self, txn_id: _Optional[str] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ["extend_ms", "txn_id"]
    EXTEND_MS_FIELD_NUMBER: _ClassVar[int]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    extend_ms: int
    txn_id: str
    def __init__(self, txn_id: _Optional[str] = ..., extend_ms: _Optional[int] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ["lease_expires_at", "state"]
    LEASE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    lease_expires_at: _timestamp_pb2.Timestamp
    state: TransactionState
    def __init__(self, state: _Optional[_Union[TransactionState, str]] = ..., lease_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListTransactionsRequest(_message.Message):
    __slots__ = ["heuristic_only", "labels", "min_age_seconds", "page_size", "page_token", "participant", "states", "stuck_only", "tenant"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    HEURISTIC_ONLY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MIN_AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    STUCK_ONLY_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    heuristic_only: bool
    labels: _containers.ScalarMap[str, str]
    min_age_seconds: int
    page_size: int
    page_token: str
    participant: str
    states: _containers.RepeatedScalarFieldContainer[TransactionState]
    stuck_only: bool
    tenant: str
    def __init__(self, states: _Optional[_Iterable[_Union[TransactionState, str]]] = ..., min_age_seconds: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., stuck_only: bool = ..., heuristic_only: bool = ..., labels: _Optional[_Mapping[str, str]] = ..., tenant: _Optional[str] = ..., participant: _Optional[str] = ...) -> None: ...

class ListTransactionsResponse(_message.Message):
    __slots__ = ["next_page_token", "transactions"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    def __init__(self, transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class OperatorAction(_message.Message):
    __slots__ = ["action", "at", "detail", "participant", "principal"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    action: str
    at: _timestamp_pb2.Timestamp
    detail: str
    participant: str
    principal: str
    def __init__(self, at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., action: _Optional[str] = ..., participant: _Optional[str] = ..., detail: _Optional[str] = ..., principal: _Optional[str] = ...) -> None: ...

class ParticipantRef(_message.Message):
    __slots__ = ["endpoint", "name"]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    endpoint: str
    name: str
    def __init__(self, name: _Optional[str] = ..., endpoint: _Optional[str] = ...) -> None: ...

class ParticipantStatus(_message.Message):
    __slots__ = ["acknowledged", "acknowledged_at", "attempts", "endpoint", "enlisted_at", "heuristic_outcome", "last_error", "name", "next_attempt_at", "vote", "vote_reason", "voted_at"]
    ACKNOWLEDGED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    ENLISTED_AT_FIELD_NUMBER: _ClassVar[int]
    HEURISTIC_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    VOTED_AT_FIELD_NUMBER: _ClassVar[int]
    VOTE_FIELD_NUMBER: _ClassVar[int]
    VOTE_REASON_FIELD_NUMBER: _ClassVar[int]
    acknowledged: bool
    acknowledged_at: _timestamp_pb2.Timestamp
    attempts: int
    endpoint: str
    enlisted_at: _timestamp_pb2.Timestamp
    heuristic_outcome: Outcome
    last_error: str
    name: str
    next_attempt_at: _timestamp_pb2.Timestamp
    vote: Vote
    vote_reason: str
    voted_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., endpoint: _Optional[str] = ..., vote: _Optional[_Union[Vote, str]] = ..., vote_reason: _Optional[str] = ..., acknowledged: bool = ..., acknowledged_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., next_attempt_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., heuristic_outcome: _Optional[_Union[Outcome, str]] = ..., enlisted_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., voted_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ResolveParticipantRequest(_message.Message):
    __slots__ = ["note", "outcome", "participant", "txn_id"]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    note: str
    outcome: Outcome
    participant: str
    txn_id: str
    def __init__(self, txn_id: _Optional[str] = ..., participant: _Optional[str] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., note: _Optional[str] = ...) -> None: ...

class RetryNowRequest(_message.Message):
    __slots__ = ["txn_id"]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    txn_id: str
    def __init__(self, txn_id: _Optional[str] = ...) -> None: ...

class Transaction(_message.Message):
    __slots__ = ["created_at", "decided_at", "finished_at", "heuristic", "labels", "lease_expires_at", "one_phase", "operator_actions", "outcome", "participants", "principal", "reason", "state", "stuck", "tenant", "trace_id", "txn_id"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    HEURISTIC_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ONE_PHASE_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STUCK_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    created_at: _timestamp_pb2.Timestamp
    decided_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    heuristic: bool
    labels: _containers.ScalarMap[str, str]
    lease_expires_at: _timestamp_pb2.Timestamp
    one_phase: bool
    operator_actions: _containers.RepeatedCompositeFieldContainer[OperatorAction]
    outcome: Outcome
    participants: _containers.RepeatedCompositeFieldContainer[ParticipantStatus]
    principal: str
    reason: str
    state: TransactionState
    stuck: bool
    tenant: str
    trace_id: str
    txn_id: str
    def __init__(self, txn_id: _Optional[str] = ..., state: _Optional[_Union[TransactionState, str]] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., reason: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., participants: _Optional[_Iterable[_Union[ParticipantStatus, _Mapping]]] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., lease_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., decided_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., one_phase: bool = ..., trace_id: _Optional[str] = ..., stuck: bool = ..., heuristic: bool = ..., operator_actions: _Optional[_Iterable[_Union[OperatorAction, _Mapping]]] = ..., tenant: _Optional[str] = ..., principal: _Optional[str] = ...) -> None: ...

class TransactionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Vote(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from twopc.v1 import coordinator_pb2 as _coordinator_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExchangeRequest(_message.Message):
    __slots__ = ["calls"]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    calls: _containers.RepeatedCompositeFieldContainer[PhaseCall]
    def __init__(self, calls: _Optional[_Iterable[_Union[PhaseCall, _Mapping]]] = ...) -> None: ...

class ExchangeResponse(_message.Message):
    __slots__ = ["answers"]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    answers: _containers.RepeatedCompositeFieldContainer[PhaseAnswer]
    def __init__(self, answers: _Optional[_Iterable[_Union[PhaseAnswer, _Mapping]]] = ...) -> None: ...

class ParticipantAbortRequest(_message.Message):
    __slots__ = ["participant_name", "reason", "txn_id"]
    PARTICIPANT_NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    participant_name: str
    reason: str
    txn_id: str
    def __init__(self, txn_id: _Optional[str] = ..., participant_name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ParticipantAbortResponse(_message.Message):
    __slots__ = ["outcome"]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    outcome: _coordinator_pb2.Outcome
    def __init__(self, outcome: _Optional[_Union[_coordinator_pb2.Outcome, str]] = ...) -> None: ...

class ParticipantCommitRequest(_message.Message):
    __slots__ = ["one_phase", "participant_name", "txn_id"]
    ONE_PHASE_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_NAME_FIELD_NUMBER: _ClassVar[int]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    one_phase: bool
    participant_name: str
    txn_id: str
    def __init__(self, txn_id: _Optional[str] = ..., participant_name: _Optional[str] = ..., one_phase: bool = ...) -> None: ...

class ParticipantCommitResponse(_message.Message):
    __slots__ = ["outcome", "reason"]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    outcome: _coordinator_pb2.Outcome
    reason: str
    def __init__(self, outcome: _Optional[_Union[_coordinator_pb2.Outcome, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class PhaseAnswer(_message.Message):
    __slots__ = ["abort", "commit", "error", "id", "prepare"]
    ABORT_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PREPARE_FIELD_NUMBER: _ClassVar[int]
    abort: ParticipantAbortResponse
    commit: ParticipantCommitResponse
    error: PhaseError
    id: int
    prepare: PrepareResponse
    def __init__(self, id: _Optional[int] = ..., prepare: _Optional[_Union[PrepareResponse, _Mapping]] = ..., commit: _Optional[_Union[ParticipantCommitResponse, _Mapping]] = ..., abort: _Optional[_Union[ParticipantAbortResponse, _Mapping]] = ..., error: _Optional[_Union[PhaseError, _Mapping]] = ...) -> None: ...

class PhaseCall(_message.Message):
    __slots__ = ["abort", "commit", "deadline", "id", "prepare", "trace_context"]
    class TraceContextEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ABORT_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PREPARE_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    abort: ParticipantAbortRequest
    commit: ParticipantCommitRequest
    deadline: _timestamp_pb2.Timestamp
    id: int
    prepare: PrepareRequest
    trace_context: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[int] = ..., prepare: _Optional[_Union[PrepareRequest, _Mapping]] = ..., commit: _Optional[_Union[ParticipantCommitRequest, _Mapping]] = ..., abort: _Optional[_Union[ParticipantAbortRequest, _Mapping]] = ..., trace_context: _Optional[_Mapping[str, str]] = ..., deadline: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PhaseError(_message.Message):
    __slots__ = ["code", "message"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class PrepareRequest(_message.Message):
    __slots__ = ["deadline", "participant_name", "txn_id"]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_NAME_FIELD_NUMBER: _ClassVar[int]
    TXN_ID_FIELD_NUMBER: _ClassVar[int]
    deadline: _timestamp_pb2.Timestamp
    participant_name: str
    txn_id: str
    def __init__(self, txn_id: _Optional[str] = ..., participant_name: _Optional[str] = ..., deadline: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PrepareResponse(_message.Message):
    __slots__ = ["reason", "vote"]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VOTE_FIELD_NUMBER: _ClassVar[int]
    reason: str
    vote: _coordinator_pb2.Vote
    def __init__(self, vote: _Optional[_Union[_coordinator_pb2.Vote, str]] = ..., reason: _Optional[str] = ...) -> None: ...

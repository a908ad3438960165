"""Checks of the identifiers that end up in logs and in database transaction ids."""

from __future__ import annotations

import re

from .errors import ErrorCode, InvalidArgumentError

TXN_ID_METADATA = "twopc-txn-id"
"""The gRPC metadata key that carries the transaction id to participant services."""

NAME_MAX = 64
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _clip(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."


def _invalid(field: str, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{field}: {problem}", code=ErrorCode.INVALID_ARGUMENT)


def parse_txn_id(value: str, field: str = "txn_id") -> str:
    """A transaction id (a UUID, as the coordinator hands out) in lowercase, the one form gids use.

    :raises InvalidArgumentError: when it is empty or not a UUID
    """
    if value == "":
        raise _invalid(field, "is required")
    txn_id = value.lower()
    if _UUID.fullmatch(txn_id) is None:
        raise _invalid(field, f"'{_clip(value)}' is not a transaction id (a UUID)")
    return txn_id


def parse_name(value: str, field: str = "participant.name") -> str:
    """A participant name: it becomes part of database transaction ids, so it is held to a strict pattern.

    :raises InvalidArgumentError: when it is empty, too long or holds other characters
    """
    if value == "":
        raise _invalid(field, "is required")
    if len(value) > NAME_MAX:
        raise _invalid(field, f"is {len(value)} characters; the limit is {NAME_MAX}")
    if _NAME.fullmatch(value) is None:
        raise _invalid(field, f"'{_clip(value)}' may hold only [A-Za-z0-9._-] and must start with a letter or digit")
    return value


def txn_metadata(txn_id: str, metadata: tuple[tuple[str, str], ...] = ()) -> tuple[tuple[str, str], ...]:
    """Metadata that carries a transaction id to a participant service (pass it as ``metadata=``)."""
    return (*metadata, (TXN_ID_METADATA, parse_txn_id(txn_id)))

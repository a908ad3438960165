"""When a failed call is tried again: capped exponential backoff with jitter, or the server's hint."""

from __future__ import annotations

import random
import time
from typing import Optional

import grpc

from .errors import TwopcError


def backoff_s(attempt: int, base_s: float = 0.1, cap_s: float = 2.0) -> float:
    """Delay before retry number ``attempt`` (1-based), "equal jitter": half fixed, half random."""
    exp = min(cap_s, base_s * float(2 ** min(30, max(0, attempt - 1))))
    return exp / 2 + random.random() * exp / 2


def retry_delay_s(err: TwopcError, attempt: int) -> Optional[float]:
    """How long to wait before retrying, or None to give up.

    UNAVAILABLE backs off; RESOURCE_EXHAUSTED is retried only when the
    coordinator says when (its log sheds new work).
    """
    if err.status == grpc.StatusCode.UNAVAILABLE:
        return backoff_s(attempt)
    if err.status == grpc.StatusCode.RESOURCE_EXHAUSTED and err.retry_after_s is not None:
        return max(err.retry_after_s, backoff_s(attempt))
    return None


class CallDeadline:
    """One deadline for a whole call, retries included (as the TypeScript SDK does).

    Every attempt gets the time that is left, and no back-off is waited
    past the deadline: once it is spent the call raises the last error (an
    UNAVAILABLE saying why, rather than a bare DEADLINE_EXCEEDED).
    """

    def __init__(self, timeout_s: float) -> None:
        self._at = time.monotonic() + timeout_s

    def remaining_s(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self._at - time.monotonic())

    def allows(self, delay_s: float) -> bool:
        """Whether a retry after ``delay_s`` still starts before the deadline."""
        return delay_s < self.remaining_s()

"""W3C trace context on every call: from OpenTelemetry when it is importable, else from the call being served.

Without OpenTelemetry, a participant passes on the ``traceparent`` of the
business call it serves (so its Enlist joins the caller's trace), and an
application can name one with :func:`use_traceparent`.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from typing import Iterator, Optional, Sequence

_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
_HEADERS = ("traceparent", "tracestate")

_current: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar(
    "twopc_trace_headers", default=()
)

try:  # OpenTelemetry is used when the application has it, never required.
    from opentelemetry import propagate as _otel_propagate
except ImportError:  # pragma: no cover - depends on the environment
    _otel_propagate = None


def trace_headers() -> tuple[tuple[str, str], ...]:
    """The W3C headers for an outgoing call: OpenTelemetry's current span, else the context's."""
    if _otel_propagate is not None:
        carrier: dict[str, str] = {}
        _otel_propagate.inject(carrier)
        if "traceparent" in carrier:
            return tuple((k, v) for k, v in carrier.items() if k in _HEADERS)
    return _current.get()


def headers_from_metadata(metadata: Optional[Sequence[tuple[str, object]]]) -> tuple[tuple[str, str], ...]:
    """The valid W3C headers a received call carries (an invalid traceparent is dropped)."""
    found: dict[str, str] = {}
    for key, value in metadata or ():
        if key in _HEADERS and key not in found:
            found[key] = value.decode() if isinstance(value, bytes) else str(value)
    if _TRACEPARENT.fullmatch(found.get("traceparent", "")) is None:
        return ()
    return tuple(found.items())


@contextlib.contextmanager
def use_traceparent(traceparent: str, tracestate: str = "") -> Iterator[None]:
    """Within the block, calls of this package carry this trace context (when OpenTelemetry has none).

    :raises ValueError: for a traceparent that is not W3C's form
    """
    if _TRACEPARENT.fullmatch(traceparent) is None:
        raise ValueError(f"traceparent '{traceparent}' is not version-traceid-spanid-flags in lowercase hex")
    headers = (("traceparent", traceparent),) + ((("tracestate", tracestate),) if tracestate else ())
    with use_headers(headers):
        yield


@contextlib.contextmanager
def use_headers(headers: tuple[tuple[str, str], ...]) -> Iterator[None]:
    """Within the block, calls carry these already-validated W3C headers."""
    token = _current.set(headers)
    try:
        yield
    finally:
        _current.reset(token)

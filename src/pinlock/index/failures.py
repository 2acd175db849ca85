"""What went wrong with a request, in a user's words, and whether another attempt may help.

``HttpSession`` retries what is transient (timeouts, connections dropped or refused, 429 and
5xx answers) and gives up at once on what another attempt cannot change: a host name that does
not resolve (the resolver already retried, and the answer is cached for the next attempt as
well), a TLS failure, a redirect loop.
"""

from __future__ import annotations

import http.client
import re
import socket
from dataclasses import dataclass

from urllib3.exceptions import (
    ConnectTimeoutError,
    IncompleteRead,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

__all__ = ["Failure", "describe_failure", "retry_after_seconds", "status_text"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Failure:
    """``reason`` for a message; ``transient`` when a later attempt may succeed."""

    reason: str
    transient: bool


def status_text(status: int, reason: str = "") -> str:
    """``HTTP 503 Service Unavailable``: the server's reason phrase, else the standard one."""
    if not reason:
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    return f"HTTP {status} {reason}".strip()


def describe_failure(error: BaseException, *, timeout: float) -> Failure:
    """What ``error`` (raised by urllib3 or the socket layer) means, for a request whose every
    connect and read may take ``timeout`` seconds."""
    if isinstance(error, MaxRetryError) and error.reason is not None:
        error = error.reason
    seconds = f"{timeout:g} s"
    if isinstance(error, NameResolutionError):
        return Failure(reason=_resolution_failure(error), transient=False)
    if isinstance(error, SSLError):
        return Failure(reason=f"TLS error: {_plain(error)}", transient=False)
    if isinstance(error, NewConnectionError):
        cause = _cause(error)
        if isinstance(cause, ConnectionRefusedError):
            return Failure(reason="connection refused", transient=True)
        return Failure(reason=f"cannot connect: {_plain(cause or error)}", transient=True)
    if isinstance(error, ConnectTimeoutError):
        return Failure(reason=f"no connection within {seconds} (the timeout)", transient=True)
    if isinstance(error, ReadTimeoutError | TimeoutError | socket.timeout):
        return Failure(reason=f"no answer within {seconds} (the timeout)", transient=True)
    if isinstance(error, ProtocolError):
        return Failure(reason=_broken_connection(error), transient=True)
    return Failure(reason=_plain(error), transient=True)


def _resolution_failure(error: NameResolutionError) -> str:
    host = getattr(error, "_host", None) or _host_in(str(error))
    cause = getattr(error, "_reason", None) or _cause(error)
    detail = cause.strerror if isinstance(cause, OSError) and cause.strerror else _plain(cause)
    detail = f" ({detail})" if detail else ""
    return f"cannot resolve the host name {host}{detail}"


def _broken_connection(error: ProtocolError) -> str:
    for part in (*error.args, error.__cause__, error.__context__):
        if isinstance(part, IncompleteRead | http.client.IncompleteRead):
            got, wanted = _incomplete_counts(part)
            counts = f" after {got} of {wanted} bytes" if wanted else ""
            return f"the connection broke mid-answer{counts}"
        if isinstance(part, ConnectionResetError):
            return "the connection broke mid-answer (reset by the server or a proxy)"
        if isinstance(part, http.client.RemoteDisconnected):
            return "the server closed the connection without answering"
    return f"the connection broke: {_plain(error)}"


def _incomplete_counts(error: BaseException) -> tuple[int, int | None]:
    partial = getattr(error, "partial", 0)
    got = partial if isinstance(partial, int) else len(partial)
    expected = getattr(error, "expected", None)
    if isinstance(expected, int):
        # urllib3 gives the bytes still missing; http.client the bytes still expected too.
        return got, got + expected
    return got, None


def _cause(error: BaseException) -> BaseException | None:
    return error.__cause__ or error.__context__


def _host_in(text: str) -> str:
    found = re.search(r"resolve '([^']+)'", text)
    return found.group(1) if found else "of the URL"


def _plain(error: BaseException | None) -> str:
    if error is None:
        return ""
    text = str(error) or type(error).__name__
    # urllib3 prefixes some messages with the repr of its connection object: noise to a user.
    return re.sub(r"^<[^>]*object at 0x[0-9a-f]+>: ", "", text)


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header's delay in seconds; None when absent or not a number."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None

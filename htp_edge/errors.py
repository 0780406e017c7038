"""The one user-facing exception type of htp-edge.

Messages follow the form "<what>: <what is wrong>. Expected <x>, got <y>. <hint>" so that the
CLI can print them as a single line and exit non-zero without a traceback.
"""
from __future__ import annotations


class HtpEdgeError(Exception):
    """An error caused by the user's input, files or environment (not a bug)."""


def expect(condition: bool, message: str) -> None:
    """Raise :class:`HtpEdgeError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise HtpEdgeError(message)


class GateFailed(HtpEdgeError):
    """A quality gate (comparison with FP32, an MPJPE gate) failed: the command exits 3 and keeps
    no artifact unless asked to (``--no-gate``)."""

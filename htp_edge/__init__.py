"""htp-edge: deploy the diffusion-based 3D human pose lifters D3DP and HTP to the edge.

Importing the package imports neither torch nor tensorrt: the runtime classes are loaded on
first access.
"""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Lifter", "StreamingLifter", "MultiStreamLifter", "HtpEdgeError", "__version__"]

from htp_edge.errors import HtpEdgeError


def __getattr__(name: str):
    if name == "Lifter":
        from htp_edge.runtime.lifter import Lifter
        return Lifter
    if name == "StreamingLifter":
        from htp_edge.runtime.streaming import StreamingLifter
        return StreamingLifter
    if name == "MultiStreamLifter":
        from htp_edge.runtime.multistream import MultiStreamLifter
        return MultiStreamLifter
    raise AttributeError(f"module 'htp_edge' has no attribute {name!r}")

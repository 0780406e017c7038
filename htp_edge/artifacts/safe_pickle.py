"""Loading pickled data without running code: a restricted unpickler and the one trust opt-in.

A pickle can name any importable callable and call it while loading, so a file from elsewhere
(a checkpoint, a VideoPose3D ``.npz``) must never be fully unpickled by default. Two paths:

* :class:`RestrictedUnpickler` admits only the globals that numpy object arrays holding dicts,
  lists, tuples, strings, numbers and ndarrays need (:data:`ALLOWED_GLOBALS`) and refuses
  anything else with :class:`RefusedGlobal`; :func:`load_npz_member` reads one member of an
  ``.npz`` through it (``np.load(allow_pickle=True)`` would use the full :func:`pickle.load`).
* the explicit, loudly named opt-in ``HTP_EDGE_TRUST_PICKLE=1`` (the CLI's ``--trust-pickle``),
  read through :func:`trust_pickle_enabled` only, loads a refused file fully, with a warning.

numpy-only (no torch): the checkpoint reader (workstation half) applies the same policy to
torch's weights-only loader.
"""
from __future__ import annotations

import io
import os
import pickle
import sys
import zipfile
from typing import Any

import numpy as np

from htp_edge.errors import HtpEdgeError

TRUST_PICKLE_ENV = "HTP_EDGE_TRUST_PICKLE"
TRUST_HINT = (f"If you trust the file, set {TRUST_PICKLE_ENV}=1 (or pass --trust-pickle) to load it with full "
              f"unpickling")

# (module, name) -> what it resolves to; numpy 1.x files say numpy.core, numpy 2.x numpy._core
ALLOWED_GLOBALS: dict[tuple[str, str], str] = {
    ("numpy.core.multiarray", "_reconstruct"): "multiarray._reconstruct",  # ndarray.__reduce__
    ("numpy._core.multiarray", "_reconstruct"): "multiarray._reconstruct",
    ("numpy.core.multiarray", "scalar"): "multiarray.scalar",  # numpy scalars (np.float64(1.0))
    ("numpy._core.multiarray", "scalar"): "multiarray.scalar",
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
    ("builtins", "set"): "set",  # protocol 3 (np.save's) has no opcode for these three
    ("builtins", "frozenset"): "frozenset",
    ("builtins", "complex"): "complex",
}


def trust_pickle_enabled() -> bool:
    """Whether the user opted in to full unpickling (``HTP_EDGE_TRUST_PICKLE=1``)."""
    return os.environ.get(TRUST_PICKLE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def warn_full_unpickle(path: Any) -> None:
    """The one-line warning printed whenever the opt-in loads a refused file fully."""
    print(f"htp-edge: warning: {TRUST_PICKLE_ENV}=1: loading {path} with full unpickling; it can execute "
          f"code (only for files you trust)", file=sys.stderr)


def numpy_multiarray():
    """numpy's ``multiarray`` module (``numpy._core`` on numpy 2, ``numpy.core`` before)."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    return multiarray


def _resolve(target: str) -> Any:
    if target.startswith("multiarray."):
        return getattr(numpy_multiarray(), target.split(".", 1)[1])
    if target in ("ndarray", "dtype"):
        return getattr(np, target)
    return {"set": set, "frozenset": frozenset, "complex": complex}[target]


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a global outside :data:`ALLOWED_GLOBALS`."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"global {module}.{name} is not allowed")
        self.module, self.name = module, name

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}"


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` admits only :data:`ALLOWED_GLOBALS` (no persistent ids)."""

    def find_class(self, module: str, name: str) -> Any:
        target = ALLOWED_GLOBALS.get((module, name))
        if target is None:
            raise RefusedGlobal(module, name)
        return _resolve(target)


def restricted_load(handle, *, encoding: str = "ASCII") -> Any:
    """``pickle.load`` through :class:`RestrictedUnpickler` (numpy's default encoding)."""
    return RestrictedUnpickler(handle, fix_imports=True, encoding=encoding).load()


def restricted_loads(data: bytes, **kwargs) -> Any:
    return restricted_load(io.BytesIO(data), **kwargs)


def read_npy(handle) -> np.ndarray:
    """An ``.npy`` stream as an array; object arrays unpickled by :func:`restricted_load`.

    Raises :class:`RefusedGlobal` for a pickle that needs anything else, ``ValueError`` for a
    malformed file.
    """
    from numpy.lib import format as npy_format
    version = npy_format.read_magic(handle)
    if version == (1, 0):
        shape, fortran, dtype = npy_format.read_array_header_1_0(handle)
    elif version == (2, 0):
        shape, fortran, dtype = npy_format.read_array_header_2_0(handle)
    elif version == (3, 0) and hasattr(npy_format, "_read_array_header"):
        shape, fortran, dtype = npy_format._read_array_header(handle, version)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if not dtype.hasobject:
        handle.seek(0)
        return npy_format.read_array(handle, allow_pickle=False)
    array = restricted_load(handle)
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        raise ValueError(f"the pickled member is not the {tuple(shape)} object array its header declares")
    return array


def load_npz_member(path: str | os.PathLike, key: str) -> np.ndarray:
    """Member ``key`` of an ``.npz`` (object arrays included) without running code.

    A pickle needing a global outside :data:`ALLOWED_GLOBALS` raises a one-line
    :class:`HtpEdgeError`, unless :func:`trust_pickle_enabled` (then: a warning, full load).
    ``KeyError`` for a missing member, ``OSError``/``ValueError``/``zipfile.BadZipFile`` for a
    file that is not an npz.
    """
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        member = f"{key}.npy" if f"{key}.npy" in names else key
        if member not in names:
            raise KeyError(f"no member {key!r} (members: {', '.join(n.removesuffix('.npy') for n in names)})")
        with archive.open(member) as handle:
            try:
                return read_npy(handle)
            except RefusedGlobal as exc:
                if not trust_pickle_enabled():
                    raise HtpEdgeError(
                        f"{path}: refused to load '{key}': its pickle needs the Python global {exc.qualified}, "
                        f"which is not allowed because unpickling it could execute code. {TRUST_HINT}.") from None
            except (pickle.UnpicklingError, EOFError, AttributeError, TypeError) as exc:
                raise ValueError(f"the pickled member is malformed ({type(exc).__name__}: {exc})") from None
    warn_full_unpickle(path)
    with np.load(path, allow_pickle=True) as data:
        return data[key]

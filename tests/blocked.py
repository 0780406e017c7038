"""Run code with some top-level packages unimportable (as on a device without them).

``python tests/blocked.py torch,onnx,tensorrt -- CODE`` or ``... -m htp_edge.cli.main ARGS``:
a meta-path finder refuses the named packages (``onnx`` blocks ``onnx`` and ``onnx.*``, not
``onnxruntime``); at exit the process fails if any of them reached ``sys.modules``.
"""
from __future__ import annotations

import atexit
import importlib.abc
import os
import runpy
import sys


class Blocker(importlib.abc.MetaPathFinder):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ImportError(f"{fullname} is blocked")
        return None


def _check(names: set[str]) -> None:
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in names)
    if leaked:
        sys.stderr.write(f"blocked modules were imported: {leaked}\n")
        sys.stderr.flush()
        os._exit(3)


def main(argv: list[str]) -> None:
    names = set(argv[0].split(","))
    sys.meta_path.insert(0, Blocker(names))
    atexit.register(_check, names)
    rest = argv[1:]
    if rest[:1] == ["--"]:
        code = rest[1]
        sys.argv = ["-c"]
        exec(compile(code, "<blocked>", "exec"), {"__name__": "__main__"})
    elif rest[:1] == ["-m"]:
        sys.argv = [rest[1], *rest[2:]]
        runpy.run_module(rest[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])

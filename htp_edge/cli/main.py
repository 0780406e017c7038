"""The `htp-edge` command: one thin module per sub-command.

Every sub-command module in :mod:`htp_edge.cli` defines

* ``HELP``: a one-line description,
* ``add_arguments(parser)``: its flags,
* ``run(args) -> dict``: parse flags into a config, make one library call, return the summary.

and optionally ``format_text(result) -> str`` for the human-readable summary. Modules import
heavy dependencies (torch, onnx, tensorrt) inside ``run`` only, so ``htp-edge --help`` is fast
and works on any machine.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
from typing import Sequence

from htp_edge.cli.args import OneLineParser
from htp_edge.errors import GateFailed, HtpEdgeError

TRUST_PICKLE_ENV = "HTP_EDGE_TRUST_PICKLE"  # read by htp_edge.artifacts.safe_pickle

COMMANDS = ("info", "macs", "export", "quantize", "build", "eval", "bench", "lift", "stream", "train", "data",
            "plan")


def _module(name: str):
    return importlib.import_module(f"htp_edge.cli.cmd_{name}")


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="htp-edge", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = _module(name)
        except ModuleNotFoundError as exc:
            if exc.name != f"htp_edge.cli.cmd_{name}":
                raise
            continue
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        p.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")
        p.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
        p.add_argument("--trust-pickle", action="store_true",
                       help="UNSAFE: fully unpickle checkpoint/data files that the safe loader refuses (this can run "
                            "code from the file; only for files you trust)")
        mod.add_arguments(p)
    return parser


def _version() -> str:
    from htp_edge import __version__
    return f"htp-edge {__version__}"


def _default_text(result: dict) -> str:
    lines = []
    for key, value in result.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        lines.append(f"{key:>24}: {value}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 success, 2 user error or unwritable output, 3 a failed
    quality gate, 1 internal error, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    mod = _module(args.command)
    if args.trust_pickle:
        os.environ[TRUST_PICKLE_ENV] = "1"
    try:
        result = mod.run(args)
    except GateFailed as exc:
        if args.debug:
            raise
        print(f"htp-edge {args.command}: gate failed: {exc}", file=sys.stderr)
        return 3
    except HtpEdgeError as exc:
        if args.debug:
            raise
        print(f"htp-edge {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"htp-edge {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if args.debug:
            raise
        where = f" {exc.filename!s}" if exc.filename else ""
        print(f"htp-edge {args.command}: error: cannot access{where}: {exc.strerror or exc}. Nothing was "
              f"written there.", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one line for the user, traceback with --debug
        if args.debug:
            raise
        print(f"htp-edge {args.command}: internal error: {type(exc).__name__}: {exc} "
              f"(run again with --debug for the traceback)", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, default=_json_default))
    else:
        text = getattr(mod, "format_text", _default_text)(result)
        print(text)
    return 0


def _json_default(obj):
    try:
        import numpy as np
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(obj)


def entry() -> None:  # console_scripts entry point
    sys.exit(main())


if __name__ == "__main__":
    entry()

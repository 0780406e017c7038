"""Argument types shared by the commands: sizes must be positive, never a silent default."""
from __future__ import annotations

import argparse

# upper bounds that keep one call within memory on an edge device; the message says why
MAX_HYPOTHESES = 64
MAX_STEPS = 1000
MAX_FRAMES = 4096


def _bounded(kind, low, high, what):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}") from None
        if value != value or value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value
    parse.__name__ = what
    return parse


positive_int = _bounded(int, 1, None, "positive integer")
positive_float = _bounded(float, 1e-9, None, "positive number")
steps = _bounded(int, 1, MAX_STEPS, "number of DDIM steps")
hypotheses = _bounded(int, 1, MAX_HYPOTHESES, "number of hypotheses")
frames = _bounded(int, 1, MAX_FRAMES, "number of frames")


class OneLineParser(argparse.ArgumentParser):
    """Bad flags give one ``htp-edge CMD: error: ...`` line (no usage dump) and exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}. See {self.prog.split()[0]} --help.\n")

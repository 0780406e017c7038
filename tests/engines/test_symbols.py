"""The fake tensorrt uses only names that exist in the real bindings of the same version.

The real ``tensorrt-cu12-bindings`` wheels (10.3.0 and 11.4.0.106, ~1.2 MB each) download from
PyPI but cannot be imported without the TensorRT libraries. Their ``tensorrt.so`` still carries
every Python name pybind11 registers as a NUL-terminated string, so the wheel's string table
(printable runs, like ``strings``) is the API of that version. A name counts as present when a
string equals it or ends with it: the linker merges a string into the tail of a longer one
(``INT8`` is stored inside ``UINT8``). Names defined in the wheel's ``__init__.py``
(``__version__``) count too.

``tests/engines/fixtures/trt_names_<version>.txt`` lists the names per version (derived from the
fake); regenerate with ``python -m tests.engines.test_symbols``.
"""
from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.engines.fake_tensorrt import api_names, make_fake_tensorrt

WHEELS = {"10.3": "10.3.0", "11.4": "11.4.0.106"}
FIXTURES = Path(__file__).parent / "fixtures"
# names the 10.3 fake has and the 11.4 fake lacks: TensorRT 11 removed them
REMOVED_IN_11 = {"FP16", "EXPLICIT_BATCH", "int8_calibrator", "device_memory_size", "platform_has_fast_fp16"}


def wheel_cache() -> Path:
    base = os.environ.get("HTP_EDGE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "htp_edge")
    return Path(base) / "wheels"


def fetch_wheel(version: str) -> Path:
    """The bindings wheel of ``version`` from the cache, downloading it once; skips offline."""
    cache = wheel_cache()
    found = sorted(cache.glob(f"tensorrt_cu12_bindings-{version}-*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", f"tensorrt-cu12-bindings=={version}",
           "-d", str(cache), "--only-binary=:all:", "--python-version", "311",
           "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux_2_28_x86_64",
           "--platform", "manylinux2014_x86_64", "--disable-pip-version-check", "--quiet"]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot download tensorrt-cu12-bindings=={version} (offline?): {exc}")
    found = sorted(cache.glob(f"tensorrt_cu12_bindings-{version}-*.whl"))
    if result.returncode != 0 or not found:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no wheel"]
        pytest.skip(f"cannot download tensorrt-cu12-bindings=={version} (offline?): {tail[0]}")
    return found[0]


@functools.lru_cache(maxsize=None)
def string_table(flavour: str) -> tuple[frozenset, frozenset]:
    """(NUL-terminated printable strings of tensorrt.so, identifiers of its __init__.py)."""
    with zipfile.ZipFile(fetch_wheel(WHEELS[flavour])) as wheel:
        names = wheel.namelist()
        so = wheel.read(next(n for n in names if n.endswith("/tensorrt.so")))
        init = wheel.read(next(n for n in names if n.endswith("_bindings/__init__.py"))).decode()
    strings = frozenset(m.group().decode() for m in re.finditer(rb"[\x20-\x7e]{2,}(?=\x00)", so))
    return strings, frozenset(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", init))


def present(name: str, flavour: str) -> bool:
    strings, python_names = string_table(flavour)
    return name in strings or name in python_names or any(s.endswith(name) for s in strings)


def fixture_names(flavour: str) -> list[str]:
    lines = (FIXTURES / f"trt_names_{flavour}.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


@pytest.mark.parametrize("flavour", sorted(WHEELS))
def test_fixture_lists_the_fakes_names(flavour):
    assert fixture_names(flavour) == sorted(api_names(make_fake_tensorrt(flavour))), (
        "regenerate with: python -m tests.engines.test_symbols")


@pytest.mark.parametrize("flavour", sorted(WHEELS))
def test_every_fake_name_exists_in_the_real_bindings(flavour):
    missing = [name for name in sorted(api_names(make_fake_tensorrt(flavour))) if not present(name, flavour)]
    assert missing == [], f"names the fake {flavour} provides but tensorrt {WHEELS[flavour]} lacks"


def test_names_removed_in_11_are_gone_from_the_11_4_bindings():
    fake_10, fake_11 = api_names(make_fake_tensorrt("10.3")), api_names(make_fake_tensorrt("11.4"))
    assert fake_10 - fake_11 == REMOVED_IN_11
    assert [n for n in sorted(REMOVED_IN_11) if not present(n, "10.3")] == []
    assert [n for n in sorted(REMOVED_IN_11) if present(n, "11.4")] == []


def write_fixtures() -> None:
    """Rewrite fixtures/trt_names_<flavour>.txt from the fake."""
    FIXTURES.mkdir(exist_ok=True)
    for flavour, version in WHEELS.items():
        names = sorted(api_names(make_fake_tensorrt(flavour)))
        header = (f"# Python names of tensorrt {version} that htp_edge's fake (and so htp_edge) may use;\n"
                  f"# derived from tests/engines/fake_tensorrt.py, checked by tests/engines/test_symbols.py\n")
        (FIXTURES / f"trt_names_{flavour}.txt").write_text(header + "\n".join(names) + "\n")


if __name__ == "__main__":
    write_fixtures()

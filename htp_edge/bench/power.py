"""Power sampling during a timed window, and energy per inference.

Sources, in the order :func:`auto_source` tries them:

* ``hwmon``: the INA3221 power monitors of a Jetson module in sysfs (``in*_input`` mV times
  ``curr*_input`` mA), polled every interval;
* ``tegrastats``: ``tegrastats --interval N`` in a background process, each line parsed
  generically (rail names differ per module and release);
* ``nvml``: ``nvmlDeviceGetPowerUsage`` of a desktop GPU through ``pynvml`` (``nvidia-ml-py``).

The total power of a sample is the module input rail when the module has one (``VDD_IN`` on
Orin NX/Nano and Xavier NX, ``POM_5V_IN`` on Nano/TX1), else the sum of all measured rails (AGX
Orin has no input rail: ``VIN_SYS_5V0`` is its 5 V system rail, one part next to
``VDD_GPU_SOC`` and ``VDD_CPU_CV``). Energy per inference is the trapezoidal integral of that
total over the timed window divided by the iterations in it: mW x s = mJ.
"""
from __future__ import annotations

import glob
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Protocol, Sequence

import numpy as np

from htp_edge.errors import HtpEdgeError

# Rails that measure the whole module input, most specific first.
INPUT_RAILS = ("VDD_IN", "POM_5V_IN", "VIN")
# Channels that are not connected to anything.
IGNORED_RAILS = ("NC",)

_RAIL_RE = re.compile(r"(?<!\S)([A-Za-z][A-Za-z0-9_]*) (\d+)(?:mW)?/(\d+)(?:mW)?(?=\s|$)")
_TEMP_RE = re.compile(r"(?<![\w.])([A-Za-z][A-Za-z0-9_]*)@(-?\d+(?:\.\d+)?)C\b")
_RAM_RE = re.compile(r"(?<![A-Za-z])RAM (\d+)/(\d+)MB")
_GPU_LOAD_RE = re.compile(r"GR3D_FREQ (\d+)%")
_CPU_RE = re.compile(r"CPU \[([^\]]*)\]")
# Thermal zones that are switched off read -256C (or similar); such values are dropped.
_MIN_VALID_TEMP_C = -100.0


@dataclass(frozen=True)
class TegrastatsLine:
    """One parsed ``tegrastats`` line; fields absent from the line are empty or ``None``."""

    rails_mw: dict[str, float] = field(default_factory=dict)
    rails_avg_mw: dict[str, float] = field(default_factory=dict)
    temps_c: dict[str, float] = field(default_factory=dict)
    ram_used_mb: int | None = None
    ram_total_mb: int | None = None
    gpu_load_pct: int | None = None
    cpu_load_pct: tuple[int | None, ...] = ()


def parse_tegrastats_line(line: str) -> TegrastatsLine:
    """Parse one line of ``tegrastats`` output, whatever the module and release.

    Rails appear as ``NAME cur/avg`` with or without ``mW`` (``VDD_GPU_SOC 2381mW/2381mW``,
    ``POM_5V_GPU 123/456``), temperatures as ``name@45.5C``, memory as ``RAM used/totalMB``.
    """
    rails = {m.group(1): float(m.group(2)) for m in _RAIL_RE.finditer(line)}
    averages = {m.group(1): float(m.group(3)) for m in _RAIL_RE.finditer(line)}
    temps = {m.group(1): float(m.group(2)) for m in _TEMP_RE.finditer(line)
             if float(m.group(2)) > _MIN_VALID_TEMP_C}
    ram = _RAM_RE.search(line)
    gpu = _GPU_LOAD_RE.search(line)
    return TegrastatsLine(
        rails_mw=rails, rails_avg_mw=averages, temps_c=temps,
        ram_used_mb=int(ram.group(1)) if ram else None,
        ram_total_mb=int(ram.group(2)) if ram else None,
        gpu_load_pct=int(gpu.group(1)) if gpu else None,
        cpu_load_pct=_parse_cpu_loads(line),
    )


def _parse_cpu_loads(line: str) -> tuple[int | None, ...]:
    """``CPU [2%@729,off,...]`` -> (2, None, ...)."""
    match = _CPU_RE.search(line)
    if match is None:
        return ()
    loads = []
    for entry in match.group(1).split(","):
        pct = re.match(r"\s*(\d+)%", entry)
        loads.append(int(pct.group(1)) if pct else None)
    return tuple(loads)


def total_power_mw(rails_mw: Mapping[str, float],
                   input_rails: Sequence[str] = INPUT_RAILS) -> tuple[float, str] | None:
    """The module's total power and how it was obtained: ``(mW, rail name)`` for an input rail,
    ``(mW, "sum")`` for the sum of all connected rails; ``None`` when there are no rails."""
    for name in input_rails:
        if name in rails_mw:
            return float(rails_mw[name]), name
    parts = [v for k, v in rails_mw.items() if k not in IGNORED_RAILS]
    if not parts:
        return None
    return float(sum(parts)), "sum"


# -- energy ----------------------------------------------------------------------------------
def energy_mj(samples: Iterable, t0: float, t1: float) -> float:
    """Energy in mJ over ``[t0, t1]`` (seconds): trapezoidal integral of the total power.

    ``samples`` are ``(t_s, total_mW)`` pairs or :class:`PowerSample`; the power at ``t0`` and
    ``t1`` is interpolated linearly (held constant beyond the first/last sample).
    """
    t, p = _as_trace(samples)
    if not t1 > t0:
        raise HtpEdgeError(f"energy window: empty. Expected t1 > t0, got t0={t0}, t1={t1}. "
                           "Take both times from time.perf_counter() around the timed loop.")
    inside = (t > t0) & (t < t1)
    tw = np.concatenate([[t0], t[inside], [t1]])
    pw = np.interp(tw, t, p)
    # Trapezoids: mean of neighbouring powers (mW) times the time step (s) -> mJ.
    return float(np.sum((pw[1:] + pw[:-1]) * 0.5 * np.diff(tw)))


def energy_per_inference(samples: Iterable, t0: float, t1: float, iterations: int) -> float:
    """Energy per inference in mJ: :func:`energy_mj` over the window / ``iterations``."""
    if iterations < 1:
        raise HtpEdgeError(f"energy per inference: no inferences. Expected iterations >= 1, "
                           f"got {iterations}. Pass the number of timed iterations.")
    return energy_mj(samples, t0, t1) / iterations


def _as_trace(samples: Iterable) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``(t_s, total_mW)`` arrays from pairs or :class:`PowerSample` objects."""
    pairs = [(s.t_s, s.total_mw) if isinstance(s, PowerSample) else (s[0], s[1]) for s in samples]
    if not pairs:
        raise HtpEdgeError("power trace: no samples. Expected at least 1 power sample in the "
                           "timed window, got 0. Lengthen the timed run or shorten the sampling interval.")
    trace = np.asarray(sorted(pairs), dtype=np.float64)  # (N, 2): time, power
    return trace[:, 0], trace[:, 1]


# -- samples and sources ---------------------------------------------------------------------
@dataclass(frozen=True)
class PowerSample:
    """One reading: ``t_s`` on the :func:`time.perf_counter` clock, total and per-rail mW."""

    t_s: float
    total_mw: float
    rails_mw: Mapping[str, float]
    temps_c: Mapping[str, float] = field(default_factory=dict)


class PowerSource(Protocol):
    """Something that yields power readings; :meth:`read` blocks until the next one."""

    name: str

    def open(self) -> None:
        """Acquire the device or start the process."""

    def read(self) -> tuple[dict[str, float], dict[str, float]] | None:
        """Next ``(rails_mW, temps_C)``, or ``None`` when the source has ended."""

    def close(self) -> None:
        """Release everything; a blocked :meth:`read` returns ``None`` soon after."""


class _PolledSource:
    """Base of sources that are read on a fixed interval."""

    name = "polled"

    def __init__(self, interval_ms: float) -> None:
        self.interval_s = interval_ms / 1000.0
        self._closed = threading.Event()
        self._next = 0.0

    def open(self) -> None:
        self._closed.clear()
        self._next = time.perf_counter()

    def read(self) -> tuple[dict[str, float], dict[str, float]] | None:
        delay = self._next - time.perf_counter()
        if self._closed.wait(max(delay, 0.0)):
            return None
        self._next = max(self._next + self.interval_s, time.perf_counter())
        return self.read_rails(), {}

    def close(self) -> None:
        self._closed.set()

    def read_rails(self) -> dict[str, float]:
        raise NotImplementedError


class HwmonSource(_PolledSource):
    """INA3221 channels in sysfs: power = ``in<i>_input`` (mV) x ``curr<i>_input`` (mA) / 1000."""

    name = "hwmon"

    def __init__(self, interval_ms: float = 20.0, channels: dict[str, tuple[Path, Path]] | None = None):
        super().__init__(interval_ms)
        self.channels = channels if channels is not None else find_ina3221_channels()

    def read_rails(self) -> dict[str, float]:
        rails = {}
        for label, (volt_path, curr_path) in self.channels.items():
            try:
                mv = float(volt_path.read_text())
                ma = float(curr_path.read_text())
            except (OSError, ValueError):
                continue
            rails[label] = mv * ma / 1000.0
        return rails


def find_ina3221_channels(pattern: str = "/sys/bus/i2c/drivers/ina3221*/*/hwmon/hwmon*"
                          ) -> dict[str, tuple[Path, Path]]:
    """``{label: (in<i>_input, curr<i>_input)}`` for every labelled INA3221 channel."""
    channels: dict[str, tuple[Path, Path]] = {}
    for hwmon in sorted(glob.glob(pattern)):
        for volt in sorted(Path(hwmon).glob("in[0-9]*_input")):
            index = volt.name[2:-len("_input")]
            curr = volt.with_name(f"curr{index}_input")
            label_file = volt.with_name(f"in{index}_label")
            if not (curr.exists() and label_file.exists()):
                continue
            label = label_file.read_text().strip()
            if label and label not in IGNORED_RAILS and label not in channels:
                channels[label] = (volt, curr)
    return channels


class NvmlSource(_PolledSource):
    """A desktop GPU's board power through NVML (``nvidia-ml-py``)."""

    name = "nvml"

    def __init__(self, interval_ms: float = 20.0, device_index: int = 0) -> None:
        super().__init__(interval_ms)
        self.device_index = device_index
        self._nvml = None
        self._handle = None

    def open(self) -> None:
        import pynvml
        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(self.device_index)
        super().open()

    def read_rails(self) -> dict[str, float]:
        return {"GPU": float(self._nvml.nvmlDeviceGetPowerUsage(self._handle))}  # mW

    def close(self) -> None:
        super().close()
        if self._nvml is not None:
            self._nvml.nvmlShutdown()
            self._nvml = None


class TegrastatsSource:
    """``tegrastats --interval N`` in a background process, one reading per output line."""

    name = "tegrastats"

    def __init__(self, interval_ms: int = 50, executable: str = "tegrastats") -> None:
        self.interval_ms = int(interval_ms)
        self.executable = executable
        self._proc: subprocess.Popen | None = None

    def open(self) -> None:
        argv = [self.executable, "--interval", str(self.interval_ms)]
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      text=True, bufsize=1)

    def read(self) -> tuple[dict[str, float], dict[str, float]] | None:
        if self._proc is None or self._proc.stdout is None:
            return None
        for line in self._proc.stdout:
            parsed = parse_tegrastats_line(line)
            if parsed.rails_mw:
                return parsed.rails_mw, parsed.temps_c
        return None

    def close(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


def auto_source(interval_ms: float = 50.0) -> PowerSource | None:
    """The best power source on this machine (hwmon, tegrastats, NVML), ``None`` if none."""
    channels = find_ina3221_channels()
    if channels:
        return HwmonSource(interval_ms, channels)
    if shutil.which("tegrastats"):
        return TegrastatsSource(max(int(interval_ms), 1))
    if _nvml_works():
        return NvmlSource(interval_ms)
    return None


def _nvml_works() -> bool:
    try:
        import pynvml
        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        return True
    except Exception:  # noqa: BLE001 - missing package, library or driver
        return False


SOURCES = {"hwmon": HwmonSource, "tegrastats": TegrastatsSource, "nvml": NvmlSource}


def make_source(kind: str, interval_ms: float = 50.0) -> PowerSource | None:
    """A source by name (``auto``, ``hwmon``, ``tegrastats``, ``nvml``)."""
    if kind == "auto":
        return auto_source(interval_ms)
    if kind not in SOURCES:
        raise HtpEdgeError(f"power source: unknown name. Expected one of auto, "
                           f"{', '.join(SOURCES)}, got {kind!r}.")
    return SOURCES[kind](interval_ms)


# -- the sampler -----------------------------------------------------------------------------
class PowerSampler:
    """Collects :class:`PowerSample` readings in a background thread while a benchmark runs.

    Example::

        with PowerSampler("auto", interval_ms=20) as sampler:
            t0 = time.perf_counter(); run(iters); t1 = time.perf_counter()
        report = sampler.report(t0, t1, iters)
    """

    def __init__(self, source: str | PowerSource = "auto", interval_ms: float = 50.0) -> None:
        if not interval_ms > 0:
            raise HtpEdgeError(f"power sampling interval: not positive. Expected > 0 ms, got "
                               f"{interval_ms}.")
        self.source = make_source(source, interval_ms) if isinstance(source, str) else source
        self.samples: list[PowerSample] = []
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        """Whether there is a source to sample from."""
        return self.source is not None

    def start(self) -> "PowerSampler":
        """Open the source and start sampling (a no-op without a source)."""
        if self.source is None or self._thread is not None:
            return self
        self.samples = []
        self.source.open()
        self._thread = threading.Thread(target=self._loop, name="htp-edge-power", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[PowerSample]:
        """Stop sampling and return the samples."""
        if self._thread is not None:
            self.source.close()
            self._thread.join(timeout=5.0)
            self._thread = None
        return list(self.samples)

    def __enter__(self) -> "PowerSampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _loop(self) -> None:
        while True:
            reading = self.source.read()
            if reading is None:
                return
            rails, temps = reading
            total = total_power_mw(rails)
            if total is not None:
                self.samples.append(PowerSample(time.perf_counter(), total[0], rails, temps))

    def report(self, t0: float, t1: float, iterations: int) -> dict | None:
        """Power summary of the window ``[t0, t1]``, or ``None`` without source or samples."""
        if self.source is None or not self.samples:
            return None
        return power_report(self.samples, t0, t1, iterations, source=self.source.name)


def power_report(samples: Sequence[PowerSample], t0: float, t1: float, iterations: int,
                 source: str | None = None) -> dict:
    """Energy per inference, mean/peak power, the rail used and the hottest temperature."""
    per_inference = energy_per_inference(samples, t0, t1, iterations)
    inside = [s for s in samples if t0 <= s.t_s <= t1] or list(samples)
    temps = [t for s in inside for t in s.temps_c.values()]
    total = total_power_mw(inside[-1].rails_mw)
    return {
        "source": source,
        "rail": total[1] if total else None,
        "samples": len(inside),
        "energy_per_inference_mj": per_inference,
        "mean_power_mw": per_inference * iterations / (t1 - t0),
        "peak_power_mw": max(s.total_mw for s in inside),
        "max_temp_c": max(temps) if temps else None,
    }


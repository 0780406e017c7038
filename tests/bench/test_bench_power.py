"""tegrastats parsing on several module generations, energy integration, and the sampler."""
from __future__ import annotations

import math
import stat
import sys
import threading
import time

import numpy as np
import pytest

from htp_edge.bench import power
from htp_edge.bench.power import (
    HwmonSource,
    PowerSample,
    PowerSampler,
    TegrastatsSource,
    energy_mj,
    energy_per_inference,
    find_ina3221_channels,
    parse_tegrastats_line,
    power_report,
    total_power_mw,
)
from htp_edge.errors import HtpEdgeError


def _first_line(fixture_text, name):
    return fixture_text(name).splitlines()[0]


# -- parsing -------------------------------------------------------------------------------------
def test_agx_orin_rails_temps_ram(fixture_text):
    lines = fixture_text("tegrastats_agx_orin_jp6.txt").splitlines()
    idle, busy = parse_tegrastats_line(lines[0]), parse_tegrastats_line(lines[1])
    assert idle.rails_mw == {"VDD_GPU_SOC": 3170, "VDD_CPU_CV": 792, "VIN_SYS_5V0": 3830,
                             "NC": 0, "VDDQ_VDD2_1V8AO": 503}
    assert busy.rails_avg_mw["VDD_GPU_SOC"] == 10349
    assert idle.temps_c["tj"] == pytest.approx(46.281) and idle.temps_c["gpu"] == 43.5
    assert (idle.ram_used_mb, idle.ram_total_mb) == (4122, 62841)
    assert (idle.gpu_load_pct, busy.gpu_load_pct) == (0, 97)
    assert len(busy.cpu_load_pct) == 12 and busy.cpu_load_pct[0] == 12
    # AGX Orin has no module input rail: the total is the sum of the connected rails.
    assert total_power_mw(busy.rails_mw) == (17528 + 2377 + 5037 + 1108, "sum")


@pytest.mark.parametrize("name, rails, total", [
    ("tegrastats_orin_nx_jp6.txt", {"VDD_IN": 5620, "VDD_CPU_GPU_CV": 673, "VDD_SOC": 1627},
     (5620, "VDD_IN")),
    ("tegrastats_orin_nano_jp62.txt", {"VDD_IN": 4966, "VDD_CPU_GPU_CV": 513, "VDD_SOC": 1434},
     (4966, "VDD_IN")),
    ("tegrastats_xavier_nx_jp5.txt", {"VDD_IN": 4583, "VDD_CPU_GPU_CV": 651, "VDD_SOC": 1342},
     (4583, "VDD_IN")),
    # Old format without units; "CPU [..]" is the load list, "CPU 309/309" the rail.
    ("tegrastats_agx_xavier_jp4.txt",
     {"GPU": 0, "CPU": 309, "SOC": 1237, "CV": 0, "VDDRQ": 154, "SYS5V": 1896},
     (309 + 1237 + 154 + 1896, "sum")),
    # Nano: POM_ rails, and IRAM/RAM/SWAP figures must not be taken for rails.
    ("tegrastats_nano_jp4.txt", {"POM_5V_IN": 1916, "POM_5V_GPU": 40, "POM_5V_CPU": 283},
     (1916, "POM_5V_IN")),
])
def test_rails_per_module(fixture_text, name, rails, total):
    parsed = parse_tegrastats_line(_first_line(fixture_text, name))
    assert parsed.rails_mw == rails
    assert total_power_mw(parsed.rails_mw) == total
    assert parsed.ram_used_mb is not None and parsed.temps_c


def test_old_formats_temps_and_disabled_sensors(fixture_text):
    xavier = parse_tegrastats_line(_first_line(fixture_text, "tegrastats_agx_xavier_jp4.txt"))
    assert xavier.temps_c["Tdiode"] == 41.75 and xavier.temps_c["PMIC"] == 100.0
    nx = parse_tegrastats_line(_first_line(fixture_text, "tegrastats_xavier_nx_jp5.txt"))
    assert "iwlwifi" not in nx.temps_c  # -256C means the zone is off
    assert nx.cpu_load_pct == (4, 2, None, None, None, None)
    nano = parse_tegrastats_line(_first_line(fixture_text, "tegrastats_nano_jp4.txt"))
    assert (nano.ram_used_mb, nano.ram_total_mb, nano.gpu_load_pct) == (1216, 3956, 0)


def test_line_without_rails():
    parsed = parse_tegrastats_line("RAM 100/200MB CPU [1%@102]")
    assert parsed.rails_mw == {} and total_power_mw(parsed.rails_mw) is None
    assert total_power_mw({"NC": 0.0}) is None


# -- energy --------------------------------------------------------------------------------------
def test_energy_of_a_linear_trace_is_exact():
    t = np.arange(0.0, 2.0001, 0.01)
    p = 1000.0 + 500.0 * t  # mW
    # Window edges between samples: the linear interpolation keeps the trapezoid rule exact.
    t0, t1 = 0.503, 1.497
    expected = 1000.0 * (t1 - t0) + 250.0 * (t1 ** 2 - t0 ** 2)  # mJ
    assert energy_mj(zip(t, p), t0, t1) == pytest.approx(expected, rel=1e-12)
    assert energy_per_inference(zip(t, p), t0, t1, 10) == pytest.approx(expected / 10, rel=1e-12)


def test_energy_of_a_sine_trace_converges():
    t = np.linspace(0.0, 1.0, 2001)
    p = 2000.0 + 1000.0 * np.sin(2 * math.pi * t)
    samples = [PowerSample(float(a), float(b), {}) for a, b in zip(t, p)]
    assert energy_mj(samples, 0.0, 1.0) == pytest.approx(2000.0, rel=1e-6)
    assert energy_mj(samples, 0.0, 0.5) == pytest.approx(1000.0 + 1000.0 / math.pi, rel=1e-5)


def test_energy_holds_edges_and_sorts():
    samples = [(2.0, 100.0), (1.0, 100.0)]  # unsorted, window wider than the trace
    assert energy_mj(samples, 0.0, 3.0) == pytest.approx(300.0)
    assert energy_mj([(5.0, 250.0)], 0.0, 2.0) == pytest.approx(500.0)


def test_energy_errors():
    with pytest.raises(HtpEdgeError, match="no samples"):
        energy_mj([], 0.0, 1.0)
    with pytest.raises(HtpEdgeError, match="t1 > t0"):
        energy_mj([(0.0, 1.0)], 1.0, 1.0)
    with pytest.raises(HtpEdgeError, match="iterations >= 1"):
        energy_per_inference([(0.0, 1.0)], 0.0, 1.0, 0)


def test_power_report():
    samples = [PowerSample(t, 4000.0 + 1000.0 * (t >= 1.0), {"VDD_IN": 1.0}, {"tj": 40.0 + t})
               for t in np.arange(0.0, 2.01, 0.1)]
    report = power_report(samples, 0.0, 2.0, iterations=4, source="test")
    assert report["rail"] == "VDD_IN" and report["source"] == "test"
    assert report["peak_power_mw"] == 5000.0 and report["max_temp_c"] == pytest.approx(42.0)
    assert report["mean_power_mw"] == pytest.approx(4500.0, rel=0.03)
    assert report["energy_per_inference_mj"] == pytest.approx(report["mean_power_mw"] * 2 / 4)


# -- sources and sampler ---------------------------------------------------------------------------
class ConstantSource:
    """A power source that yields the same rails every few milliseconds."""

    name = "constant"

    def __init__(self) -> None:
        self._closed = threading.Event()

    def open(self) -> None:
        self._closed.clear()

    def read(self):
        if self._closed.wait(0.002):
            return None
        return {"VDD_IN": 5000.0, "VDD_SOC": 1000.0}, {"tj": 50.0}

    def close(self) -> None:
        self._closed.set()


def test_sampler_with_a_source():
    sampler = PowerSampler(ConstantSource())
    with sampler:
        t0 = time.perf_counter()
        time.sleep(0.05)
        t1 = time.perf_counter()
    assert len(sampler.samples) >= 3
    assert all(s.total_mw == 5000.0 for s in sampler.samples)
    report = sampler.report(t0, t1, iterations=5)
    assert report["energy_per_inference_mj"] == pytest.approx(5000.0 * (t1 - t0) / 5, rel=1e-9)
    assert report["source"] == "constant" and report["rail"] == "VDD_IN"


def test_sampler_without_source(monkeypatch):
    monkeypatch.setattr(power, "auto_source", lambda interval_ms: None)
    sampler = PowerSampler("auto")
    assert not sampler.available
    with sampler:
        pass
    assert sampler.stop() == [] and sampler.report(0.0, 1.0, 1) is None


def test_sampler_rejects_bad_arguments():
    with pytest.raises(HtpEdgeError, match="unknown name"):
        PowerSampler("battery")
    with pytest.raises(HtpEdgeError, match="Expected > 0"):
        PowerSampler(ConstantSource(), interval_ms=0)


def test_tegrastats_source_runs_a_background_process(tmp_path, fixture_text):
    line = _first_line(fixture_text, "tegrastats_orin_nx_jp6.txt")
    script = tmp_path / "tegrastats"
    script.write_text(f"#!/bin/sh\nwhile true; do echo '{line}'; sleep 0.01; done\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    sampler = PowerSampler(TegrastatsSource(10, executable=str(script)))
    with sampler:
        time.sleep(0.15)
    assert len(sampler.samples) >= 2
    assert sampler.samples[0].total_mw == 5620.0
    assert sampler.samples[0].temps_c["tj"] == pytest.approx(47.312)


def _fake_hwmon(root):
    hwmon = root / "ina3221" / "1-0040" / "hwmon" / "hwmon3"
    hwmon.mkdir(parents=True)
    channels = {1: ("VDD_IN", "5000", "1120"), 2: ("VDD_CPU_GPU_CV", "4992", "136"),
                3: ("NC", "0", "0")}
    for i, (label, mv, ma) in channels.items():
        (hwmon / f"in{i}_label").write_text(label + "\n")
        (hwmon / f"in{i}_input").write_text(mv + "\n")
        (hwmon / f"curr{i}_input").write_text(ma + "\n")
    (hwmon / "in7_label").write_text("sum of shunt voltages\n")  # no current: skipped
    (hwmon / "in7_input").write_text("120\n")
    return str(root / "ina3221*" / "*" / "hwmon" / "hwmon*")


def test_hwmon_channels_and_power(tmp_path):
    channels = find_ina3221_channels(_fake_hwmon(tmp_path))
    assert list(channels) == ["VDD_IN", "VDD_CPU_GPU_CV"]
    rails = HwmonSource(10, channels).read_rails()
    assert rails == {"VDD_IN": pytest.approx(5600.0), "VDD_CPU_GPU_CV": pytest.approx(678.912)}


def test_hwmon_source_in_the_sampler(tmp_path):
    source = HwmonSource(5, find_ina3221_channels(_fake_hwmon(tmp_path)))
    with PowerSampler(source) as sampler:
        time.sleep(0.04)
    assert len(sampler.samples) >= 3
    assert sampler.samples[-1].total_mw == pytest.approx(5600.0)
    times = [s.t_s for s in sampler.samples]
    mean_gap = (times[-1] - times[0]) / (len(times) - 1)
    assert mean_gap > 0.004  # polled on the 5 ms interval, not in a busy loop


class FakeNvml:
    """The few pynvml calls the NVML source makes."""

    def __init__(self) -> None:
        self.calls = []

    def nvmlInit(self):
        self.calls.append("init")

    def nvmlShutdown(self):
        self.calls.append("shutdown")

    def nvmlDeviceGetHandleByIndex(self, index):
        return f"gpu{index}"

    def nvmlDeviceGetPowerUsage(self, handle):
        return 87_500  # mW


def test_nvml_source(monkeypatch):
    nvml = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    monkeypatch.setattr(power, "find_ina3221_channels", lambda: {})
    monkeypatch.setattr(power.shutil, "which", lambda name: None)
    source = power.make_source("auto", interval_ms=5)
    assert isinstance(source, power.NvmlSource)
    with PowerSampler(source) as sampler:
        time.sleep(0.03)
    assert sampler.samples and sampler.samples[0].rails_mw == {"GPU": 87500.0}
    assert nvml.calls[-1] == "shutdown"

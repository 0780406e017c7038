"""Tests of htp_edge.bench: statistics, timers, platform probes, power, memory, plots."""

"""The shared tolerance table: lookups, aliases, gates and the pass rule."""
from __future__ import annotations

import numpy as np
import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.tolerances import (
    MPJPE_DELTA_GATE_MM,
    OUTPUTS,
    PRECISIONS,
    TOLERANCES,
    Tol,
    check_mpjpe_delta,
    mpjpe_delta_gate_mm,
    tolerance,
)


def test_every_precision_has_every_output():
    for precision in PRECISIONS:
        for output in OUTPUTS:
            assert (precision, output) in TOLERANCES


def test_unknown_outputs_use_the_float_or_index_row():
    assert tolerance("fp16", "some_other_output") == TOLERANCES[("fp16", "float")]
    assert tolerance("fp16", "some_indices", is_index=True) == Tol(exact=True)
    assert tolerance("fp16", "pose_3d", is_index=True) == TOLERANCES[("fp16", "pose_3d")]


def test_aliases_map_to_table_precisions():
    assert tolerance("int8-qdq", "pose_3d") == tolerance("int8", "pose_3d")
    assert tolerance("int8-dynamic", "pose_3d") == tolerance("int8", "pose_3d")
    assert tolerance("FP16", "pose_3d") == tolerance("fp16", "pose_3d")


def test_unknown_precision_raises():
    with pytest.raises(HtpEdgeError, match="unknown precision"):
        tolerance("bf16", "pose_3d")


def test_tolerances_only_relax_with_lower_precision():
    atols = [tolerance(p, "pose_3d").atol for p in PRECISIONS]
    assert atols == sorted(atols)
    gates = [MPJPE_DELTA_GATE_MM[p] for p in PRECISIONS]
    assert gates == sorted(gates)


@pytest.mark.parametrize("output", ["kept_frames", "keep_frames"])
def test_kept_frame_indices_are_exact_in_fp32_and_fp16(output):
    assert tolerance("fp32", output) == Tol(exact=True)
    assert tolerance("fp16", output) == Tol(exact=True)
    assert tolerance("int8", output).exact and tolerance("int8", output).min_agreement < 1.0


def test_mpjpe_gates():
    assert mpjpe_delta_gate_mm("fp16") == 0.2
    assert mpjpe_delta_gate_mm("int8-qdq") == 1.0
    assert check_mpjpe_delta("fp16", 40.15, 40.0) == pytest.approx(0.15)
    with pytest.raises(HtpEdgeError, match="MPJPE rose by 0.300 mm"):
        check_mpjpe_delta("fp16", 40.3, 40.0)


def test_pass_rule_float():
    tol = Tol(atol=1e-3, rtol=1e-2)
    expected = np.array([0.0, 1.0, 10.0])
    assert tol.passes(expected + np.array([1e-3, 1e-2, 0.1]), expected)
    assert not tol.passes(expected + np.array([2e-3, 0.0, 0.0]), expected)
    assert not tol.passes(expected[:2], expected)


def test_pass_rule_indices():
    expected = np.arange(100)
    flipped = expected.copy()
    flipped[:2] = flipped[1::-1]
    assert Tol(exact=True).passes(expected.copy(), expected)
    assert not Tol(exact=True).passes(flipped, expected)
    assert Tol(exact=True, min_agreement=0.97).passes(flipped, expected)


def test_invalid_tolerance_raises():
    with pytest.raises(HtpEdgeError):
        Tol(atol=-1.0)
    with pytest.raises(HtpEdgeError):
        Tol(exact=True, min_agreement=1.5)

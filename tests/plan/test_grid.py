"""The sweep grid: the cross product, skipped combinations, defaults and refusals."""
from __future__ import annotations

import pytest

from htp_edge.errors import HtpEdgeError
from htp_edge.plan.grid import Grid, Setting, check_backend, default_grid, pruning_problem


def test_settings_are_the_product_minus_what_the_model_cannot_run():
    grid = Grid(n1=(4, 6, 9), f=(3, 5), steps=(1, 2), hypotheses=(1,), flip=(True, False), precision=("fp32",))
    settings, skipped = grid.settings(frames=9)
    pairs = {(s.n1, s.f) for s in settings}
    assert pairs == {(4, 3), (6, 3), (6, 5), (9, 3), (9, 5)}  # not (4, 5): f > n1
    assert len(settings) == len(pairs) * 2 * 2
    assert skipped == [{"n1": 4, "f": 5, "reason": pruning_problem(4, 5, 9)}]
    assert len(set(settings)) == len(settings)


def test_pruning_problems():
    assert pruning_problem(10, 3, 9) and "exceeds" in pruning_problem(10, 3, 9)
    assert "subset" in pruning_problem(4, 5, 9)
    assert "nothing pruned" in pruning_problem(9, 9, 9)
    assert pruning_problem(9, 4, 9) is None and pruning_problem(5, 5, 9) is None
    assert pruning_problem(None, None, 9) is None


def test_no_runnable_setting_is_an_error():
    with pytest.raises(HtpEdgeError, match="no runnable setting"):
        Grid(n1=(3,), f=(5,)).settings(frames=9)


def test_default_grid_around_the_trained_counts():
    g = default_grid(27, 14, 7, "onnxruntime")
    assert g.n1 == (9, 14, 19) and g.f == (4, 7)
    assert g.flip == (True, False) and g.precision == ("fp32", "int8-dynamic") and g.steps == (1,)
    assert default_grid(243, None, None, "torch").n1 == (None,)
    assert default_grid(243, None, None, "torch").precision == ("fp32",)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n1=4, f=None), "go together"),
    (dict(n1=0, f=0), "positive"),
    (dict(n1=4, f=2, steps=0), "steps"),
    (dict(n1=4, f=2, hypotheses=65), "hypotheses"),
    (dict(n1=4, f=2, precision="fp8"), "precision"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(HtpEdgeError, match=match):
        Setting(**kwargs)


def test_setting_json_round_trip_and_label():
    s = Setting(n1=14, f=7, steps=2, hypotheses=3, flip=False, precision="int8-dynamic")
    assert Setting.from_json(s.to_json()) == s
    assert s.label() == "n1=14 f=7 K2 H3 noflip int8-dynamic"
    assert Setting(n1=None, f=None).label() == "K1 H1 flip fp32"


def test_grid_refuses_empty_and_repeated_lists():
    with pytest.raises(HtpEdgeError, match="empty"):
        Grid(n1=(), f=(3,))
    with pytest.raises(HtpEdgeError, match="repeats"):
        Grid(n1=(4, 4), f=(3,))


def test_backends_and_their_precisions():
    check_backend("onnxruntime", ("fp32", "fp16", "int8", "int8-dynamic"))
    check_backend("torch", ("fp32",))
    with pytest.raises(HtpEdgeError, match="does not run int8-dynamic"):
        check_backend("torch", ("fp32", "int8-dynamic"))
    with pytest.raises(HtpEdgeError, match="tensorrt backend is not swept"):
        check_backend("tensorrt", ("fp32",))

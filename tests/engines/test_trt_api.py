"""Feature detection, dtype mapping, logger capture and module injection in trt_api."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from htp_edge.engines import BuildConfig, build_engine, load_engine
from htp_edge.errors import HtpEdgeError
from htp_edge.runtime.trt_api import detect_features, get_logger, load_tensorrt, numpy_dtype
from tests.engines.fake_tensorrt import make_fake_tensorrt
from tests.engines.helpers import ORIN


def test_features_are_detected_by_attribute_presence():
    old, new = detect_features(make_fake_tensorrt("10.3")), detect_features(make_fake_tensorrt("11.4"))
    assert (old.weak_typing, old.int8_calibrator, old.strongly_typed_flag,
            old.device_memory_size_v2) == (True, True, True, True)
    assert (new.weak_typing, new.int8_calibrator, new.strongly_typed_flag) == (False, False, True)
    assert old.version == "10.3.0.30" and new.version == "11.4.0.106"


def test_dtypes(flavour):
    trt = make_fake_tensorrt(flavour)
    assert numpy_dtype(trt, trt.DataType.HALF) == np.float16 and numpy_dtype(trt, trt.DataType.INT64) == np.int64
    with pytest.raises(HtpEdgeError, match="unsupported I/O data type"):
        numpy_dtype(trt, trt.DataType.BF16)


def test_logger_is_shared_and_captures(flavour):
    trt = make_fake_tensorrt(flavour)
    logger = get_logger(trt)
    assert get_logger(trt) is logger and isinstance(logger, trt.ILogger)
    with logger.capture() as records:
        logger.log(trt.ILogger.Severity.WARNING, "slow tactic")
        logger.log(trt.ILogger.Severity.ERROR, "broken")
    logger.log(trt.ILogger.Severity.ERROR, "after")
    assert records.errors() == ["broken"] and len(records.entries) == 2


def test_module_can_be_passed_instead_of_imported(flavour, tiny_onnx, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    trt = make_fake_tensorrt(flavour)
    assert load_tensorrt(trt) is trt
    result = build_engine(tiny_onnx, tmp_path / "t.engine", BuildConfig(), trt=trt, device=ORIN)
    assert load_engine(result.engine, trt=trt, device=ORIN).outputs[0].name == "poses_3d"

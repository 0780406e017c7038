"""Golden outputs of tiny seeded models (tests/fixtures/golden_tiny.npz).

Regenerate only on an intended change of the function: ``python -m tests.model.test_golden``.
"""
from pathlib import Path

import numpy as np
import torch

from htp_edge.model.denoiser import Denoiser
from tests.conftest import TINY, TINY_HTP, TINY_HTP_FEATURES

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden_tiny.npz"


def _outputs() -> dict:
    out = {}
    rng = np.random.default_rng(7)
    x2d = rng.normal(size=(2, 9, 17, 2)).cumsum(1).astype(np.float32) * 0.1
    xt = rng.normal(size=(2, 9, 17, 3)).astype(np.float32)
    t = np.array([999.0, 199.0], dtype=np.float32)
    for cfg in (TINY, TINY_HTP, TINY_HTP_FEATURES):
        torch.manual_seed(0)
        net = Denoiser(cfg).eval()
        with torch.no_grad():
            x0, kept = net(torch.from_numpy(x2d), torch.from_numpy(xt), torch.from_numpy(t), return_kept=True)
        out[cfg.name] = x0.numpy()
        if kept is not None:
            out[cfg.name + "_kept"] = kept.numpy()
    return out


def test_golden_outputs():
    golden = np.load(GOLDEN)
    got = _outputs()
    assert sorted(golden.files) == sorted(got)
    for key, value in got.items():
        if key.endswith("_kept"):
            np.testing.assert_array_equal(value, golden[key])
        else:  # float32 through a few BLAS calls: a few ulp of drift across CPUs
            np.testing.assert_allclose(value, golden[key], rtol=1e-5, atol=1e-5)


if __name__ == "__main__":
    np.savez(GOLDEN, **_outputs())
    print(f"wrote {GOLDEN}")

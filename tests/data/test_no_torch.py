"""The data path and the metrics run without torch (the edge runtime has none)."""
import subprocess
import sys


def test_data_and_metrics_import_without_torch():
    code = ("import sys, htp_edge.data, htp_edge.evaluation.metrics; "
            "sys.exit(int('torch' in sys.modules or 'tqdm' in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0

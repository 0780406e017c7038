"""3D skeleton plots (matplotlib, imported lazily)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from htp_edge.pose.skeleton import LEFT_JOINTS, PARENTS


def plot_skeletons(poses: np.ndarray, path, title: str | None = None, reference: np.ndarray | None = None,
                   panels: int = 4) -> Path:
    """Draw ``panels`` evenly spaced frames of (T, 17, 3) camera-frame poses (and a reference)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    idx = np.linspace(0, len(poses) - 1, min(panels, len(poses))).astype(int)
    fig = plt.figure(figsize=(3.2 * len(idx), 3.6))
    for i, f in enumerate(idx):
        ax = fig.add_subplot(1, len(idx), i + 1, projection="3d")
        if reference is not None:
            draw_pose(ax, reference[f], "0.6", "ground truth")
        draw_pose(ax, poses[f], None, "prediction")
        ax.set_title(f"frame {f}", fontsize=9)
        ax.view_init(elev=15, azim=-70)
        for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
            setter(-0.9, 0.9)
        ax.set_xticklabels([]), ax.set_yticklabels([]), ax.set_zticklabels([])
    if reference is not None:
        fig.legend(*fig.axes[0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def draw_pose(ax, pose: np.ndarray, colour, label: str) -> None:
    # camera frame (x right, y down, z forward) -> plot axes (x, z, -y) so that up is up
    p = np.stack([pose[:, 0], pose[:, 2], -pose[:, 1]], axis=-1)
    first = True
    for j, parent in enumerate(PARENTS):
        if parent < 0:
            continue
        c = colour or ("tab:red" if j in LEFT_JOINTS else "tab:blue")
        ax.plot(*zip(p[j], p[parent]), color=c, lw=2, label=label if first else None)
        first = False

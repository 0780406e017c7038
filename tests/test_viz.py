"""Skeleton stills and animated GIFs (matplotlib Agg, checked with Pillow)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from PIL import Image, ImageSequence  # noqa: E402  (Pillow comes with matplotlib)

from htp_edge import viz  # noqa: E402
from htp_edge.bench.run import walking_keypoints  # noqa: E402
from htp_edge.errors import HtpEdgeError  # noqa: E402

T = 40
TRACKS = {3: (-300.0, 1.0), 7: (0.0, 0.8), 12: (320.0, 1.2)}  # id: (x shift px, scale)
LEAVES = 20  # track 7 is not present from this frame on


@pytest.fixture(scope="module")
def lifter():
    from htp_edge import Lifter
    return Lifter.load("htp-small")


@pytest.fixture(scope="module")
def one(lifter):
    kp = walking_keypoints(T)
    return lifter.lift(kp, 1000, 1000), kp


@pytest.fixture(scope="module")
def three(lifter):
    poses, kps = {}, {}
    for i, (track, (dx, scale)) in enumerate(TRACKS.items()):
        kp = (walking_keypoints(T, seed=i) - 500.0) * scale + np.array([500.0 + dx, 520.0], np.float32)
        poses[track], kps[track] = lifter.lift(kp, 1000, 1000).astype(float), kp.astype(float)
    poses[7][LEAVES:] = np.nan
    kps[7][LEAVES:] = np.nan
    return poses, kps


def _frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        assert im.format == "GIF"
        return [np.asarray(f.convert("RGB"), dtype=int) for f in ImageSequence.Iterator(im)]


def _near(frame: np.ndarray, colour: str, tol: float = 40.0) -> int:
    """How many pixels of ``frame`` have about the colour ``colour``."""
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.linalg.norm(frame - rgb, axis=-1) < tol).sum())


def test_gif_of_one_person_moves(tmp_path, one):
    poses, kp = one
    out = viz.animate(poses, tmp_path / "one.gif", kp, 1000, 1000, fps=20, title="walking")
    with Image.open(out) as im:
        assert im.size == (640, 320) and im.n_frames == T
        assert im.info["duration"] == 50 and im.info["loop"] == 0
    frames = _frames(out)
    moved = (np.abs(frames[0] - frames[T // 4]).sum(axis=-1) > 60)
    assert moved[:, :320].sum() > 100, "2D panel does not move"
    assert moved[:, 400:].sum() > 100, "3D panel does not move"
    # left limbs red, right limbs blue in both panels
    for colour in (viz.LEFT_COLOUR, viz.RIGHT_COLOUR):
        assert _near(frames[0][:, :320], colour) > 30 and _near(frames[0][:, 400:], colour) > 30


def test_gif_of_three_people_with_one_leaving(tmp_path, three):
    poses, kps = three
    out = viz.animate(poses, tmp_path / "three.gif", kps, 1000, 1000, fps=25)
    frames = _frames(out)
    assert len(frames) == T and frames[0].shape == (320, 640, 3)
    colours = dict(zip(sorted(TRACKS), viz.TRACK_COLOURS))
    assert len(set(colours.values())) == 3
    early, late = frames[5], frames[-1]
    for track, colour in colours.items():  # every person in its own colour, in both panels
        assert _near(early[:, :320], colour) > 30, f"track {track} missing from the 2D panel"
        assert _near(early[:, 400:], colour) > 30, f"track {track} missing from the 3D panel"
    assert _near(late, colours[7]) < 5, "track 7 left at frame 20 but is still drawn"
    assert _near(late, colours[3]) > 30 and _near(late, colours[12]) > 30


def test_long_sequences_are_subsampled(tmp_path, one):
    poses, kp = one
    out = viz.animate(poses, tmp_path / "sub.gif", kp, 1000, 1000, fps=20, max_frames=10)
    with Image.open(out) as im:
        assert im.n_frames == 10
        assert im.info["duration"] == 200  # the GIF keeps the sequence's 2 s


def test_png_path_writes_a_still_and_3d_only_works(tmp_path, three):
    poses, kps = three
    still = viz.animate(poses, tmp_path / "three.png", kps, title="three people")
    with Image.open(still) as im:
        assert im.format == "PNG" and im.size == (800, 400)
    only3d = viz.animate(poses[3], tmp_path / "only3d.gif", None, max_frames=5)
    with Image.open(only3d) as im:
        assert im.n_frames == 5 and im.size == (320, 320)


def test_plot_skeletons_writes_a_file(tmp_path, one):
    poses, _ = one
    for name, ref in (("p.png", None), ("ref.png", poses + 0.02), ("p.pdf", None)):
        out = viz.plot_skeletons(poses, tmp_path / "sub" / name, title="t", reference=ref, panels=3)
        assert out.is_file() and out.stat().st_size > 1000
    with Image.open(tmp_path / "sub" / "p.png") as im:
        assert im.height > 400 and im.width > im.height  # three tall panels side by side


def test_draw_pose_on_a_callers_axes(one):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure()
    ax = fig.add_subplot(projection="3d")
    artists = viz.draw_pose(ax, one[0][0], None, "pose")
    assert len(artists) == 6 and ax.get_legend_handles_labels()[1] == ["pose"]
    plt.close(fig)


BAD = {
    "3d shape": (dict(poses_3d=np.zeros((5, 17, 2))), "poses_3d has the wrong shape"),
    "2d shape": (dict(poses_3d=np.zeros((5, 17, 3)), keypoints_2d=np.zeros((5, 16, 2))),
                 "keypoints_2d has the wrong shape"),
    "T mismatch": (dict(poses_3d=np.zeros((5, 17, 3)), keypoints_2d=np.zeros((4, 17, 2))),
                   "keypoints_2d does not match poses_3d in length. Expected 5 frames, got 4"),
    "track T mismatch": (dict(poses_3d={1: np.zeros((5, 17, 3))}, keypoints_2d={1: np.zeros((6, 17, 2))}),
                         "keypoints_2d[1] does not match"),
    "tracks differ": (dict(poses_3d={1: np.zeros((5, 17, 3)), 2: np.zeros((6, 17, 3))}), "differ in length"),
    "structure": (dict(poses_3d={1: np.zeros((5, 17, 3))}, keypoints_2d=np.zeros((5, 17, 2))),
                  "must have the structure of poses_3d"),
    "track ids": (dict(poses_3d={1: np.zeros((5, 17, 3))}, keypoints_2d={2: np.zeros((5, 17, 2))}),
                  "Expected a dict with tracks [1], got [2]"),
    "all NaN": (dict(poses_3d=np.full((5, 17, 3), np.nan)), "no finite joint"),
    "suffix": (dict(poses_3d=np.zeros((5, 17, 3)), path="x.mp4"), "must be a .gif"),
    "one size": (dict(poses_3d=np.zeros((5, 17, 3)), width=640), "width and height"),
    "not numeric": (dict(poses_3d="poses"), "not numeric"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_inputs_give_one_clear_line(tmp_path, case):
    kwargs, expected = BAD[case]
    kwargs = {"path": tmp_path / "x.gif", **kwargs}
    if kwargs["path"] == "x.mp4":
        kwargs["path"] = tmp_path / "x.mp4"
    with pytest.raises(HtpEdgeError) as err:
        viz.animate(**kwargs)
    message = str(err.value)
    assert message.startswith("animate: ") and expected in message and "\n" not in message
    assert not (tmp_path / "x.gif").exists()


def test_plot_skeletons_bad_shapes(tmp_path):
    with pytest.raises(HtpEdgeError, match=r"^plot_skeletons: poses has the wrong shape"):
        viz.plot_skeletons(np.zeros((17, 3)), tmp_path / "p.png")
    with pytest.raises(HtpEdgeError, match=r"^plot_skeletons: reference does not match poses"):
        viz.plot_skeletons(np.zeros((4, 17, 3)), tmp_path / "p.png", reference=np.zeros((3, 17, 3)))

"""Skeleton figures: stills of 3D poses and animated GIFs of 2D input next to the 3D lift.

matplotlib (the ``plot`` extra) is imported inside the functions with the Agg backend, so the
module imports without it and works without a display.

Poses are in the camera frame (metres, x right, y down, z forward). The 3D axes show them as
(x, z, -y): up is up, depth goes into the picture, and a metre has the same length on every axis.

* :func:`plot_skeletons`: a few evenly spaced frames of one sequence (and a reference), one panel each.
* :func:`animate`: a GIF (or a ``.png`` still of the middle frame) with the 2D keypoints in image
  coordinates on the left and the 3D skeletons on the right; several people (a dict keyed by
  track id) in distinct colours, the same in both panels. A frame where a person is all NaN means
  "not present": that person is hidden there.

With one person, left limbs are red, right limbs blue and the spine grey. With several, each track
has its own colour (``TRACK_COLOURS``, in sorted track-id order) and its left limbs a lighter shade.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from htp_edge.errors import HtpEdgeError
from htp_edge.pose.skeleton import LEFT_JOINTS, NUM_JOINTS, PARENTS, RIGHT_JOINTS

LEFT_COLOUR, RIGHT_COLOUR, CENTRE_COLOUR = "#d62728", "#1f77b4", "#4d4d4d"
TRACK_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                 "#bcbd22", "#7f7f7f")
GIF_SIZE_IN, GIF_DPI = (8.0, 4.0), 80  # 640 x 320 pixels
VIEW = {"elev": 12.0, "azim": -62.0}  # seen from just right of and above the camera

_SIDES = ("centre", "right", "left")


def _side(joint: int) -> str:
    return "left" if joint in LEFT_JOINTS else "right" if joint in RIGHT_JOINTS else "centre"


_BONES = {s: [(j, p) for j, p in enumerate(PARENTS) if p >= 0 and _side(j) == s] for s in _SIDES}
_JOINTS = {s: [j for j in range(NUM_JOINTS) if _side(j) == s] for s in _SIDES}
_HEAD = 10


# ---------------------------------------------------------------------------------------------- helpers

def _pyplot():
    from htp_edge.bench.plot import pyplot
    return pyplot("viz")


def _to_plot(pose: np.ndarray) -> np.ndarray:
    """Camera frame (x right, y down, z forward) -> plot axes (x, z, -y), so that up is up."""
    pose = np.asarray(pose, dtype=float)
    return np.stack([pose[..., 0], pose[..., 2], -pose[..., 1]], axis=-1)


def _segments(pose: np.ndarray, bones) -> np.ndarray:
    """(3 * bones, C): each bone's two ends then a NaN row, so that one line draws all bones."""
    out = np.full((3 * len(bones), pose.shape[-1]), np.nan)
    for i, (j, p) in enumerate(bones):
        out[3 * i], out[3 * i + 1] = pose[j], pose[p]
    return out


def _lighter(colour, amount: float = 0.45):
    from matplotlib.colors import to_rgb
    return tuple(c + (1.0 - c) * amount for c in to_rgb(colour))


def _side_colours(colour=None, track: int | None = None) -> dict:
    """Colours of the centre, right and left parts of one skeleton."""
    if colour is not None:
        return dict.fromkeys(_SIDES, colour)
    if track is None:
        return {"centre": CENTRE_COLOUR, "right": RIGHT_COLOUR, "left": LEFT_COLOUR}
    base = TRACK_COLOURS[track % len(TRACK_COLOURS)]
    return {"centre": base, "right": base, "left": _lighter(base)}


def _nice_step(span: float) -> float:
    """A tick step (0.1, 0.2, 0.25, 0.5, 1, 2, 5 m...) giving at most about 5 ticks over ``span``."""
    for step in (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 50.0):
        if span / step <= 5:
            return step
    return 10.0 ** np.ceil(np.log10(max(span, 1e-9) / 5))


def _fit_3d(ax, points: np.ndarray, margin: float = 0.08, min_span: float = 0.8, zoom: float = 1.0) -> None:
    """Limits around the finite ``points`` (N, 3) in plot axes, equal metres on every axis, floor
    under the lowest point, metre ticks and labels."""
    from matplotlib.ticker import FixedLocator, FormatStrFormatter
    pts = points.reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        lo, hi = np.full(3, -0.9), np.full(3, 0.9)
    else:
        lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2
    span = np.maximum(hi - lo + 2 * margin, min_span)
    lo, hi = centre - span / 2, centre + span / 2
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_zlim(lo[2], hi[2])
    ax.set_box_aspect(tuple(span), zoom=zoom)
    step = _nice_step(float(span.max()))
    for axis, a, b in zip((ax.xaxis, ax.yaxis, ax.zaxis), lo, hi):
        inset = 0.12 * step  # no tick on an edge, where it would collide with the next axis' ticks
        ticks = np.arange(np.ceil((a + inset) / step), np.floor((b - inset) / step) + 1) * step
        axis.set_major_locator(FixedLocator(np.round(ticks, 6) + 0.0))
        axis.set_major_formatter(FormatStrFormatter("%g"))
    ax.tick_params(labelsize=6, pad=-1)
    ax.set_xlabel("x [m]", fontsize=7, labelpad=-8)
    ax.set_ylabel("z [m]", fontsize=7, labelpad=-8)
    ax.set_zlabel("up = -y [m]", fontsize=7, labelpad=-8)
    # opaque panes, the floor a little darker; greys at least 1/16 away from white survive the GIF's
    # fast octree quantisation
    for axis, grey in ((ax.xaxis, 0.925), (ax.yaxis, 0.905), (ax.zaxis, 0.87)):
        axis.set_pane_color((grey, grey, grey, 1.0))
    ax.view_init(**VIEW)
    ax.set_proj_type("ortho")


# ---------------------------------------------------------------------------------------------- stills

def draw_pose(ax, pose: np.ndarray, colour, label: str | None, track: int | None = None, lw: float = 2.0,
              ms: float = 3.5) -> list:
    """Draw one (17, 3) camera-frame pose on a 3D axes: bones as lines, joints as dots.

    ``colour`` None: left limbs red, right blue, spine grey (or the ``track`` colour scheme);
    otherwise the whole skeleton in ``colour``. ``label`` goes on the first line (for a legend).
    Returns the artists."""
    p = _to_plot(pose)
    colours = _side_colours(colour, track)
    artists = []
    for side in _SIDES:
        seg = _segments(p, _BONES[side])
        (line,) = ax.plot(*seg.T, color=colours[side], lw=lw, solid_capstyle="round",
                          label=label if not artists else None)
        joints = p[_JOINTS[side]]
        (dots,) = ax.plot(*joints.T, ls="", marker="o", ms=ms, color=colours[side], mec="white", mew=0.5)
        artists += [line, dots]
    return artists


def _check_poses(name: str, poses, what: str, coords: int = 3, allow_conf: bool = False) -> np.ndarray:
    try:
        arr = np.asarray(poses, dtype=float)
    except (TypeError, ValueError) as exc:
        raise HtpEdgeError(f"{what}: {name} is not numeric. Expected an array (T, {NUM_JOINTS}, {coords}), "
                           f"got {type(poses).__name__}.") from exc
    ok_last = arr.ndim == 3 and (arr.shape[2] == coords or (allow_conf and arr.shape[2] == coords + 1))
    if not (ok_last and arr.shape[0] >= 1 and arr.shape[1] == NUM_JOINTS):
        expected = f"(T, {NUM_JOINTS}, {coords})" + (f" or (T, {NUM_JOINTS}, {coords + 1})" if allow_conf else "")
        raise HtpEdgeError(f"{what}: {name} has the wrong shape. Expected {expected} with T >= 1, "
                           f"got {tuple(arr.shape)}.")
    return arr[..., :coords]


def plot_skeletons(poses: np.ndarray, path, title: str | None = None, reference: np.ndarray | None = None,
                   panels: int = 4) -> Path:
    """Draw ``panels`` evenly spaced frames of (T, 17, 3) camera-frame poses (and a reference in
    grey), one 3D panel each, all panels on the same metric scale. The format follows ``path``'s
    suffix (png, pdf, svg, jpg)."""
    poses = _check_poses("poses", poses, "plot_skeletons")
    if reference is not None:
        reference = _check_poses("reference", reference, "plot_skeletons")
        if reference.shape != poses.shape:
            raise HtpEdgeError(f"plot_skeletons: reference does not match poses. Expected {tuple(poses.shape)}, "
                               f"got {tuple(reference.shape)}.")
    if int(panels) < 1:
        raise HtpEdgeError(f"plot_skeletons: panels must be at least 1, got {panels}.")
    plt = _pyplot()
    idx = np.unique(np.linspace(0, len(poses) - 1, min(int(panels), len(poses))).round().astype(int))
    shown = poses[idx] if reference is None else np.concatenate([poses[idx], reference[idx]])
    # an Axes3D is always square: each panel gets a square as tall as the figure's plot area, centred on
    # its (narrower) column, so that a standing skeleton fills the height; neighbours overlap only in
    # their empty sides
    col_w, plot_h, top_h, bottom_h = 2.6, 3.9, 0.5 if title else 0.25, 0.3 if reference is None else 0.4
    fig_w, fig_h = col_w * len(idx) + 0.4, plot_h + top_h + bottom_h
    fig = plt.figure(figsize=(fig_w, fig_h))
    for i, f in enumerate(idx):
        ax = fig.add_axes(((0.2 + col_w * (i + 0.5) - plot_h / 2) / fig_w, bottom_h / fig_h, plot_h / fig_w,
                           plot_h / fig_h), projection="3d")
        ax.patch.set_alpha(0.0)
        if reference is not None:
            draw_pose(ax, reference[f], "0.65", "ground truth", lw=2.5, ms=3)
        draw_pose(ax, poses[f], None, "prediction")
        ax.text2D(0.5, 1.0, f"frame {f}", transform=ax.transAxes, ha="center", va="bottom", fontsize=9)
        _fit_3d(ax, _to_plot(shown), zoom=1.0)
    if reference is not None:
        from matplotlib.lines import Line2D
        handles = [Line2D([], [], color="0.65", lw=2.5), Line2D([], [], color=LEFT_COLOUR, lw=2),
                   Line2D([], [], color=RIGHT_COLOUR, lw=2)]
        fig.legend(handles, ["ground truth", "prediction (left)", "prediction (right)"], loc="lower center",
                   ncol=3, fontsize=7, frameon=False, borderaxespad=0.1)
    else:
        fig.text(0.5, 0.005, "red = left, blue = right", ha="center", fontsize=7, color="0.3")
    if title:
        fig.suptitle(title, fontsize=10, y=1 - 0.08 / fig_h, va="top")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------- animation

def _as_tracks(poses_3d, keypoints_2d):
    """Both inputs as {track: array} with the same keys and lengths (2D may be None)."""
    what = "animate"
    single = not isinstance(poses_3d, dict)
    if single:
        if isinstance(keypoints_2d, dict):
            raise HtpEdgeError(f"{what}: keypoints_2d must have the structure of poses_3d. Expected one array "
                               f"(T, {NUM_JOINTS}, 2) like poses_3d, got a dict.")
        p3 = {0: _check_poses("poses_3d", poses_3d, what)}
        k2 = None if keypoints_2d is None else {0: _check_poses("keypoints_2d", keypoints_2d, what, 2, True)}
    else:
        if not poses_3d:
            raise HtpEdgeError(f"{what}: poses_3d is an empty dict. Expected at least one track, got none.")
        if not all(isinstance(k, (int, np.integer)) for k in poses_3d):
            raise HtpEdgeError(f"{what}: poses_3d must be keyed by integer track ids. "
                               f"Expected int keys, got {sorted(map(repr, poses_3d))}.")
        p3 = {int(k): _check_poses(f"poses_3d[{k}]", v, what) for k, v in sorted(poses_3d.items())}
        k2 = None
        if keypoints_2d is not None:
            if not isinstance(keypoints_2d, dict) or set(map(int, keypoints_2d)) != set(p3):
                got = sorted(keypoints_2d) if isinstance(keypoints_2d, dict) else type(keypoints_2d).__name__
                raise HtpEdgeError(f"{what}: keypoints_2d must have the structure of poses_3d. Expected a dict with "
                                   f"tracks {sorted(p3)}, got {got}.")
            k2 = {int(k): _check_poses(f"keypoints_2d[{k}]", v, what, 2, True) for k, v in keypoints_2d.items()}
    lengths = {k: len(v) for k, v in p3.items()}
    if len(set(lengths.values())) > 1:
        raise HtpEdgeError(f"{what}: the tracks of poses_3d differ in length. Expected one T for all (NaN frames "
                           f"mean 'not present'), got {lengths}.")
    if k2 is not None:
        for k in p3:
            if len(k2[k]) != len(p3[k]):
                name = "keypoints_2d" if single else f"keypoints_2d[{k}]"
                raise HtpEdgeError(f"{what}: {name} does not match poses_3d in length. Expected {len(p3[k])} "
                                   f"frames, got {len(k2[k])}.")
    if not any(np.isfinite(v).any() for v in p3.values()):
        raise HtpEdgeError(f"{what}: poses_3d has no finite joint. Expected at least one frame with a person, "
                           "got only NaN.")
    return p3, k2, single


def _bone_sum(pose: np.ndarray) -> np.ndarray:
    """(T,) summed bone length of (T, 17, C) poses (NaN where a bone is missing)."""
    child, parent = np.array([j for j, p in enumerate(PARENTS) if p >= 0]), np.array([p for p in PARENTS if p >= 0])
    return np.linalg.norm(pose[:, child] - pose[:, parent], axis=-1).sum(axis=-1)


def _lateral_offsets(p3: dict, k2: dict | None, width) -> dict:
    """(T,) x offsets in metres placing root-relative people side by side in the 3D panel: from the
    2D root position with each person's metres per pixel (weak perspective, depth not shown), or
    1 m apart in track order without 2D."""
    tracks = list(p3)
    if len(tracks) == 1:
        return {k: np.zeros(len(p3[k])) for k in tracks}
    if k2 is None:
        return {k: np.full(len(p3[k]), (i - (len(tracks) - 1) / 2) * 1.0) for i, k in enumerate(tracks)}
    roots = np.concatenate([k2[k][:, 0, 0] for k in tracks])
    cx = width / 2 if width is not None else float(np.nanmean(roots)) if np.isfinite(roots).any() else 0.0
    out = {}
    for k in tracks:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = _bone_sum(p3[k]) / _bone_sum(k2[k])
        ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
        scale = float(np.median(ratio)) if len(ratio) else 0.0
        off = (k2[k][:, 0, 0] - cx) * scale
        fallback = float(np.nanmedian(off)) if np.isfinite(off).any() else 0.0
        out[k] = np.where(np.isfinite(off), off, fallback)
    return out


def _place_3d(fig, ax, top: float, max_width: float, pad: float = 0.04) -> float:
    """Put the (always square) 3D axes at the figure's bottom right, as large as fits under ``top``
    inches and within ``max_width`` inches with everything it draws (box, ticks, labels, title);
    return the left edge of what it draws (inches)."""
    fig_w, fig_h = fig.get_size_inches()
    dpi, renderer = fig.dpi, fig.canvas.get_renderer()
    max_h, side = fig_h - top - pad, 1.3 * fig_h
    for _ in range(4):  # what it draws grows about linearly with the square's side
        ax.set_position((0, 0, side / fig_w, side / fig_h))
        box = ax.get_tightbbox(renderer)
        scale = min(max_width / (box.width / dpi), max_h / (box.height / dpi))
        if 0.985 < scale <= 1.0:
            break
        side *= scale
    dx, dy = fig_w - pad - box.x1 / dpi, pad - box.y0 / dpi
    ax.set_position((dx / fig_w, dy / fig_h, side / fig_w, side / fig_h))
    return box.x0 / dpi + dx


class _Skeleton:
    """Reusable artists of one person on one axes (2D or 3D): updated in place every frame."""

    def __init__(self, ax, colours: dict, is3d: bool, lw: float, ms: float, label: str | None = None):
        self.is3d, self.artists = is3d, []
        empty = ([], [], []) if is3d else ([], [])
        for side in _SIDES:
            (line,) = ax.plot(*empty, color=colours[side], lw=lw, solid_capstyle="round")
            (dots,) = ax.plot(*empty, ls="", marker="o", ms=ms, color=colours[side], mec="white", mew=0.4)
            self.artists += [(line, _BONES[side], False), (dots, _JOINTS[side], True)]
        self.text = None
        if label is not None and not is3d:
            self.text = ax.text(0, 0, label, color=colours["centre"], fontsize=7, ha="center", va="bottom",
                                fontweight="bold", visible=False)

    def moving(self) -> list:
        return [a for a, _, _ in self.artists] + ([self.text] if self.text is not None else [])

    def update(self, pose: np.ndarray | None) -> None:
        present = pose is not None and np.isfinite(pose).any()
        for artist, items, is_joints in self.artists:
            artist.set_visible(present)
            if not present:
                continue
            pts = pose[items] if is_joints else _segments(pose, items)
            if self.is3d:
                artist.set_data_3d(pts[:, 0], pts[:, 1], pts[:, 2])
            else:
                artist.set_data(pts[:, 0], pts[:, 1])
        if self.text is not None:
            top = pose[_HEAD] if present and np.isfinite(pose[_HEAD]).all() else None
            if top is None and present:
                finite = pose[np.isfinite(pose).all(axis=1)]
                top = finite[np.argmin(finite[:, 1])] if len(finite) else None
            self.text.set_visible(top is not None)
            if top is not None:
                self.text.set_position((top[0], top[1] - 6))


def animate(poses_3d, path, keypoints_2d=None, width: float | None = None, height: float | None = None,
            fps: float = 30, title: str | None = None, max_frames: int = 300) -> Path:
    """Write an animated GIF of 3D poses next to their 2D input (or, for a ``.png`` path, a still of
    the middle frame with the same layout).

    ``poses_3d``: (T, 17, 3) camera-frame metres, or {track id: (T, 17, 3)} for several people on one
    timeline (an all-NaN frame means the person is not present there). ``keypoints_2d``: the same
    structure of (T, 17, 2) pixels (a confidence channel is ignored), or None for the 3D panel only.
    ``width``/``height``: the image size in pixels for the 2D panel (y down); None: fit the keypoints.
    More than ``max_frames`` frames are subsampled evenly (the GIF keeps the sequence's duration)."""
    what = "animate"
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".gif", ".png"):
        raise HtpEdgeError(f"{what}: path must be a .gif (animation) or .png (still) file, got {str(path)!r}.")
    if (width is None) != (height is None) or (width is not None and not (width > 0 and height > 0)):
        raise HtpEdgeError(f"{what}: width and height must both be positive pixel sizes or both None, "
                           f"got width={width!r}, height={height!r}.")
    if not fps > 0:
        raise HtpEdgeError(f"{what}: fps must be positive, got {fps!r}.")
    if int(max_frames) < 1:
        raise HtpEdgeError(f"{what}: max_frames must be at least 1, got {max_frames!r}.")
    p3, k2, single = _as_tracks(poses_3d, keypoints_2d)
    tracks = list(p3)
    total = len(next(iter(p3.values())))
    idx = np.arange(total)
    if total > int(max_frames):
        idx = np.unique(np.linspace(0, total - 1, int(max_frames)).round().astype(int))
    if kind == ".png":
        idx = idx[[len(idx) // 2]]

    plt = _pyplot()
    offsets = _lateral_offsets(p3, k2, width)
    plot3 = {k: _to_plot(p3[k]) + np.stack([offsets[k], np.zeros(total), np.zeros(total)], -1)[:, None]
             for k in tracks}
    colours = {k: _side_colours(track=None if single and len(tracks) == 1 else i) for i, k in enumerate(tracks)}
    labels = {k: (None if single else f"id {k}") for k in tracks}

    fig_w, fig_h = GIF_SIZE_IN if k2 is not None else (GIF_SIZE_IN[1], GIF_SIZE_IN[1])
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=GIF_DPI)
    top = 0.26  # inches for the counter and the title
    ax3 = fig.add_axes((0, 0, 1, 1), projection="3d")
    ax3.patch.set_alpha(0.0)
    _fit_3d(ax3, np.concatenate([plot3[k][idx].reshape(-1, 3) for k in tracks]))
    placed = "root-relative" if len(tracks) == 1 else "placed by 2D root x" if k2 is not None else "1 m apart"
    ax3.text2D(0.5, 1.0, f"3D [m], {placed}",
               transform=ax3.transAxes, ha="center", va="bottom", fontsize=8)
    right = _place_3d(fig, ax3, top, max_width=0.6 * fig_w if k2 is not None else fig_w)
    ax2 = None
    if k2 is not None:
        ax2 = fig.add_axes((0.45 / fig_w, 0.3 / fig_h, (right - 0.55) / fig_w, 1 - (0.3 + top + 0.2) / fig_h))
    sk3 = {k: _Skeleton(ax3, colours[k], True, lw=1.8, ms=3.2) for k in tracks}
    sk2 = {}
    if ax2 is not None:
        if width is not None:
            ax2.set_xlim(0, float(width))
            ax2.set_ylim(float(height), 0)
        else:
            pts = np.concatenate([k2[k][idx].reshape(-1, 2) for k in tracks])
            pts = pts[np.isfinite(pts).all(axis=1)]
            lo, hi = (pts.min(0), pts.max(0)) if len(pts) else (np.zeros(2), np.ones(2))
            centre, span = (lo + hi) / 2, (hi - lo) + 0.08 * (hi - lo).max() + 2
            box = ax2.get_position()  # widen the shorter side to the panel's shape: fills the panel
            shape = (box.width * fig_w) / (box.height * fig_h)
            span = np.maximum(span, [span[1] * shape, span[0] / shape])
            ax2.set_xlim(centre[0] - span[0] / 2, centre[0] + span[0] / 2)
            ax2.set_ylim(centre[1] + span[1] / 2, centre[1] - span[1] / 2)
        ax2.set_aspect("equal", adjustable="box")
        ax2.set_facecolor("#ebebeb")
        ax2.tick_params(labelsize=6)
        ax2.set_title("2D input [px]" + (f" ({width:g} x {height:g})" if width is not None else ""), fontsize=8)
        sk2 = {k: _Skeleton(ax2, colours[k], False, lw=1.6, ms=3.2, label=labels[k]) for k in tracks}
    if title:
        fig.suptitle(title, fontsize=9, x=0.5, y=1 - 0.05 / fig_h, va="top")
    counter = fig.text(0.06 / fig_w, 1 - 0.05 / fig_h, "", fontsize=8, va="top", family="monospace")

    def show(f: int) -> None:
        for k in tracks:
            sk3[k].update(plot3[k][f] if np.isfinite(p3[k][f]).any() else None)
            if k in sk2:
                sk2[k].update(k2[k][f])
        counter.set_text(f"frame {f}/{total} {f / fps:6.2f} s")

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if kind == ".png":
            show(int(idx[0]))
            fig.savefig(path, dpi=100)
        else:
            # blitting: the axes, ticks and labels are drawn once; each frame restores them and draws
            # only the skeletons and the counter (several times faster than a full draw per frame)
            moving = [a for sk in (*sk3.values(), *sk2.values()) for a in sk.moving()] + [counter]
            for artist in moving:
                artist.set_visible(False)
            fig.canvas.draw()
            background = fig.canvas.copy_from_bbox(fig.bbox)
            writer = _gif_writer(float(fps) * len(idx) / total)
            with writer.saving(fig, str(path), dpi=GIF_DPI):
                for f in idx:
                    fig.canvas.restore_region(background)
                    show(int(f))
                    counter.set_visible(True)
                    for artist in moving:
                        if artist.get_visible():
                            (artist.axes or fig).draw_artist(artist)
                    writer.grab_frame()
    finally:
        plt.close(fig)
    return path


def _gif_writer(fps: float):
    """matplotlib's PillowWriter, taking each frame from the canvas as it stands (blitted) instead of
    a full redraw, and quantising it with Pillow's fast octree (a GIF has 256 colours a frame)."""
    from matplotlib.animation import PillowWriter
    from PIL import Image
    fast_octree = getattr(Image, "Quantize", Image).FASTOCTREE  # Pillow < 9.1 has the bare constant

    class BlitPillowWriter(PillowWriter):
        def setup(self, fig, outfile, dpi=None):
            super().setup(fig, outfile, dpi=dpi)
            self._images = []

        def grab_frame(self, **savefig_kwargs):
            rgb = np.asarray(self.fig.canvas.buffer_rgba())[..., :3]
            self._images.append(Image.fromarray(np.ascontiguousarray(rgb)).quantize(256, method=fast_octree))

        def finish(self):
            self._images[0].save(self.outfile, save_all=True, append_images=self._images[1:],
                                 duration=max(20, int(round(1000 / self.fps))), loop=0)

    return BlitPillowWriter(fps=fps)

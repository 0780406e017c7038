"""Which data a command trains, evaluates or calibrates on: the one owner of the dataset flags.

* ``motion`` (default): the built-in real-motion split (:mod:`htp_edge.data.motion`).
* ``h36m``: Human3.6M in VideoPose3D's files (:mod:`htp_edge.data.h36m`); ``--keypoints NAME``
  picks ``data_2d_h36m_NAME.npz`` as VideoPose3D's ``-k`` does; D3DP's subjects by default.
* ``3dhp``: MPI-INF-3DHP in D3DP's processed files (:mod:`htp_edge.data.mpi3dhp`); every
  subject of the file by default.

``train``, ``eval`` and ``quantize`` add the flags with :func:`add_dataset_arguments`, map them
with :func:`dataset_config` and open the data with :func:`open_recordings`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from htp_edge.errors import HtpEdgeError

DATASETS = ("motion", "h36m", "3dhp")
H36M_TRAIN = ("S1", "S5", "S6", "S7", "S8")  # D3DP's --subjects-train / --subjects-test defaults
H36M_TEST = ("S9", "S11")
DEFAULT_KEYPOINTS = "cpn_ft_h36m_dbb"  # D3DP's -k default
SPLITS = ("train", "test")


def _subjects(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = tuple(s.strip() for s in (value.split(",") if isinstance(value, str) else value))
    return items


@dataclass(frozen=True)
class DatasetConfig:
    """A dataset and its selection.

    Attributes:
        name: ``motion``, ``h36m`` or ``3dhp``.
        data_dir: folder of the data files (h36m, 3dhp).
        keypoints: h36m 2D file ``data_2d_h36m_<keypoints>.npz``.
        subjects_train, subjects_test: subjects of each split (``None``: the dataset's default).
        cache_dir: the real-motion cache (motion).
    """

    name: str = "motion"
    data_dir: str | None = None
    keypoints: str = DEFAULT_KEYPOINTS
    subjects_train: tuple[str, ...] | None = None
    subjects_test: tuple[str, ...] | None = None
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        if self.name not in DATASETS:
            raise HtpEdgeError(f"dataset: unknown name. Expected one of {', '.join(DATASETS)}, got {self.name!r}.")
        for key in ("subjects_train", "subjects_test"):
            value = _subjects(getattr(self, key))
            if value is not None and (not value or not all(value)):
                raise HtpEdgeError(f"dataset: bad --{key.replace('_', '-')}. Expected comma-separated subject names "
                                   f"like S9,S11, got {getattr(self, key)!r}.")
            object.__setattr__(self, key, value)
        if self.name == "motion":
            extra = [f for f, v in (("--data-dir", self.data_dir), ("--subjects-train", self.subjects_train),
                                    ("--subjects-test", self.subjects_test)) if v is not None]
            if extra:
                raise HtpEdgeError(f"dataset: {', '.join(extra)} need --dataset h36m or 3dhp. Expected them with an "
                                   f"outside dataset, got --dataset motion (the built-in split).")
            return
        if not self.data_dir:
            raise HtpEdgeError(f"dataset: --dataset {self.name} needs --data-dir. Expected the folder holding its "
                               f"files, got none.")
        if not self.keypoints or any(c in self.keypoints for c in "/\\") or self.keypoints.startswith("."):
            raise HtpEdgeError(f"dataset: bad --keypoints. Expected a name like gt or cpn_ft_h36m_dbb (the file is "
                               f"data_2d_h36m_<name>.npz), got {self.keypoints!r}.")

    def subjects(self, split: str) -> tuple[str, ...] | None:
        """The subjects of ``split`` (``train`` or ``test``): given, or the dataset's default."""
        if split not in SPLITS:
            raise HtpEdgeError(f"dataset: unknown split. Expected train or test, got {split!r}.")
        given = self.subjects_train if split == "train" else self.subjects_test
        if given is not None or self.name != "h36m":
            return given
        return H36M_TRAIN if split == "train" else H36M_TEST

    def describe(self) -> dict:
        """The settings for reports and checkpoint records (plain JSON values)."""
        d = asdict(self)
        d["subjects_train"], d["subjects_test"] = (list(v) if v else v for v in
                                                   (self.subjects("train"), self.subjects("test")))
        if self.name != "h36m":
            d.pop("keypoints")
        if self.name == "motion":
            return {"name": "motion"}
        d.pop("cache_dir")
        return d


def add_dataset_arguments(parser, splits=SPLITS) -> None:
    """``--dataset``, ``--data-dir``, ``--keypoints`` and ``--subjects-<split>`` for ``splits``."""
    group = parser.add_argument_group("dataset")
    group.add_argument("--dataset", default="motion", choices=DATASETS,
                       help="motion: the built-in real-motion split (default); h36m: Human3.6M in VideoPose3D's files; "
                            "3dhp: MPI-INF-3DHP in D3DP's processed files")
    group.add_argument("--data-dir", default=None, help="folder of the h36m/3dhp data files")
    group.add_argument("--keypoints", default=DEFAULT_KEYPOINTS,
                       help=f"h36m: 2D file data_2d_h36m_NAME.npz, e.g. gt (default {DEFAULT_KEYPOINTS})")
    for split in splits:
        default = ",".join(H36M_TRAIN if split == "train" else H36M_TEST)
        group.add_argument(f"--subjects-{split}", default=None,
                           help=f"comma-separated {split} subjects (h36m default {default}; 3dhp: all in the file)")


def dataset_config(args) -> DatasetConfig:
    """The flags of :func:`add_dataset_arguments` (and ``--cache-dir``) as a :class:`DatasetConfig`."""
    return DatasetConfig(name=args.dataset, data_dir=args.data_dir, keypoints=args.keypoints,
                         subjects_train=getattr(args, "subjects_train", None),
                         subjects_test=getattr(args, "subjects_test", None),
                         cache_dir=getattr(args, "cache_dir", None))


def open_recordings(cfg: DatasetConfig, split: str):
    """The :class:`~htp_edge.data.recording.Recording` s of ``split`` of an outside dataset."""
    if cfg.name == "h36m":
        from htp_edge.data.h36m import load_h36m
        return load_h36m(cfg.data_dir, cfg.keypoints, cfg.subjects(split))
    if cfg.name == "3dhp":
        from htp_edge.data.mpi3dhp import load_3dhp
        return load_3dhp(cfg.data_dir, split, cfg.subjects(split))
    raise HtpEdgeError("dataset: the built-in motion split has no recordings. Expected --dataset h36m or 3dhp, "
                       "got motion. Use htp_edge.data.load_motion for it.")

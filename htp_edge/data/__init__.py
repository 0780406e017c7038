"""Real human motion for training and evaluation, with no image data set needed.

Pipeline: :func:`prepare_motion` converts the mocap shipped in two PyPI wheels into a cache of
H36M-17 world positions (see :mod:`htp_edge.data.motion` for the clips and the train/test
split); :func:`load_motion` reads it back as :class:`MotionClip` s; virtual cameras
(:mod:`~htp_edge.data.camera`) and detector-like noise (:mod:`~htp_edge.data.synth`) turn
them into 2D/3D pairs for :class:`TrainSampler` and :func:`make_test_set`;
:func:`load_videopose3d` brings outside data into the same form. D3DP's test-time clip rule and
the COCO mapping are runtime preprocessing: :mod:`htp_edge.pose`. Everything here is numpy only.
"""
from __future__ import annotations

from htp_edge.data.camera import Camera, CameraConfig, sample_camera
from htp_edge.data.motion import MotionClip, load_motion, select
from htp_edge.data.prepare import prepare_motion
from htp_edge.data.sampler import SamplerConfig, TrainBatch, TrainSampler
from htp_edge.data.synth import Synth, SynthConfig, mirror_pair, synthesize
from htp_edge.data.testset import TestSequence, TestSetConfig, make_test_set
from htp_edge.data.videopose3d import load_videopose3d

__all__ = [
    "Camera", "CameraConfig", "MotionClip", "SamplerConfig", "Synth", "SynthConfig", "TestSequence",
    "TestSetConfig", "TrainBatch", "TrainSampler", "load_motion", "load_videopose3d", "make_test_set",
    "mirror_pair", "prepare_motion", "sample_camera", "select", "synthesize",
]

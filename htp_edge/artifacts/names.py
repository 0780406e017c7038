"""Tensor names of the exported graphs and metadata keys of the artifacts (one owner).

denoiser: KEYPOINTS_2D (N, F, J, 2), NOISY_POSE (N, F, J, 3), TIMESTEP (N,) float,
[KEEP_FRAMES (N, n1) int64] [KEEP_TOKENS (N, f) int64] -> POSE_3D (N, F, J, 3)
[, KEPT_FRAMES (N, f) int64]; planner: KEYPOINTS_2D (B, F, J, 2) -> [KEEP_FRAMES] [KEEP_TOKENS];
sampler: KEYPOINTS_2D (B, F, J, 2), NOISE (K, B, H, F, J, 3) [, plan] -> POSE_3D (B, H, F, J, 3).
"""
from __future__ import annotations

KEYPOINTS_2D = "keypoints_2d"
NOISY_POSE = "noisy_pose"
TIMESTEP = "timestep"
NOISE = "noise"
KEEP_FRAMES = "keep_frames"
KEEP_TOKENS = "keep_tokens"
POSE_3D = "pose_3d"
KEPT_FRAMES = "kept_frames"

DENOISER_INPUTS = (KEYPOINTS_2D, NOISY_POSE, TIMESTEP)
PLAN_TENSORS = (KEEP_FRAMES, KEEP_TOKENS)
INDEX_TENSORS = (KEEP_FRAMES, KEEP_TOKENS, KEPT_FRAMES)

# ONNX metadata_props keys
META_GRAPH = "htp_edge.graph"
META_PRECISION = "htp_edge.precision"
META_CALIBRATION = "htp_edge.calibration_sha256"
META_SOURCE = "htp_edge.source_onnx_sha256"
META_RECIPE = "htp_edge.recipe"

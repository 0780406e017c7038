#!/usr/bin/env bash
# Re-measure every figure in the README on this machine: accuracy of the bundled checkpoints
# and of their FP16/INT8 variants, CPU latency (small models, 243-frame D3DP vs HTP), streaming
# rate and memory. Results go to out/results/*.json (and plots). Run after `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
H=".venv/bin/htp-edge"
PY=".venv/bin/python"
R="${1:-out/results}"
mkdir -p "$R"
step() { echo "== $*" >&2; }

step "accuracy of the bundled checkpoints (test split)"
$H eval --checkpoint d3dp-small --json > "$R/eval_d3dp_k1h1.json"
$H eval --checkpoint htp-small --json > "$R/eval_htp_k1h1.json"
$H eval --checkpoint d3dp-small --steps 5 --hypotheses 5 --json > "$R/eval_d3dp_k5h5.json"
$H eval --checkpoint htp-small --steps 5 --hypotheses 5 --json > "$R/eval_htp_k5h5.json"
$H eval --checkpoint d3dp-small --steps 5 --hypotheses 5 --aggregation mean --json > "$R/eval_d3dp_k5h5_mean.json"
$H eval --checkpoint htp-small --steps 5 --hypotheses 5 --aggregation mean --json > "$R/eval_htp_k5h5_mean.json"
$H eval --checkpoint d3dp-small --split train --max-sequences 40 --json > "$R/eval_d3dp_train.json"
$H eval --checkpoint htp-small --split train --max-sequences 40 --json > "$R/eval_htp_train.json"
$H eval --baseline mean-pose --json > "$R/eval_mean_pose.json"

step "export and precision variants of htp-small"
$H export --model htp-small --checkpoint htp-small --out "$R/htp-small.onnx" --json > "$R/export_htp_small.json"
$H quantize --onnx "$R/htp-small.onnx" --precision fp16 --out "$R/htp-small_fp16.onnx" --json > "$R/quantize_fp16.json"
$H quantize --onnx "$R/htp-small.onnx" --precision int8 --out "$R/htp-small_int8.onnx" --json > "$R/quantize_int8.json"
$H quantize --onnx "$R/htp-small.onnx" --precision int8 --float-pairs 0 --out "$R/htp-small_int8all.onnx" --json > "$R/quantize_int8all.json"
$H quantize --onnx "$R/htp-small.onnx" --precision int8-dynamic --out "$R/htp-small_int8dyn.onnx" --json > "$R/quantize_int8dyn.json"
for v in "" _fp16 _int8 _int8all _int8dyn; do
    $H eval --onnx "$R/htp-small$v.onnx" --json > "$R/eval_onnx$v.json"
done

step "CPU latency of the small variants"
for v in "" _int8 _int8dyn; do
    $H bench --onnx "$R/htp-small$v.onnx" --backend onnxruntime --iters 50 --warmup 5 --json > "$R/bench_small$v.json"
done

step "243 frames, one denoiser pass: D3DP vs HTP (random weights, FP32, ONNX Runtime)"
[ -f export/out/d3dp_f243_c1_h1_noflip.onnx ] || $H export --model d3dp --frames 243 --no-flip --out export/out/d3dp_f243_c1_h1_noflip.onnx --json > /dev/null
[ -f export/out/htp_f243_n121_m61_c1_h1_noflip.onnx ] || $H export --model htp --frames 243 --no-flip --out export/out/htp_f243_n121_m61_c1_h1_noflip.onnx --json > /dev/null
$PY scripts/bench_compare.py --run d3dp-f243=onnx:export/out/d3dp_f243_c1_h1_noflip.onnx \
    --run htp-f243=onnx:export/out/htp_f243_n121_m61_c1_h1_noflip.onnx --iters 5 --warmup 1 \
    --plot "$R/compare_f243.png" --json "$R/compare_f243.json"
$H bench --onnx export/out/htp_f243_n121_m61_c1_h1_noflip.onnx --backend onnxruntime --iters 3 --warmup 1 --gemm-reference --json > "$R/bench_htp243.json"

step "per-step loop vs the unrolled K-step sampler graph (htp-small, K=5)"
$H export --model htp-small --checkpoint htp-small --unrolled-steps 5 --out "$R/htp-small_sampler_k5.onnx" --json > /dev/null
$PY scripts/bench_compare.py --run per-step=onnx:"$R/htp-small.onnx" --run unrolled=onnx:"$R/htp-small_sampler_k5.onnx" \
    --steps 5 --iters 30 --warmup 3 --plot "$R/compare_unrolled.png" --json "$R/compare_unrolled.json"

step "fixed cameras (views, reframe) and Human3.6M's cameras"
for m in d3dp-small htp-small; do
    for v in aimed approach cross; do
        $H eval --checkpoint $m --views $v --json > "$R/views_${m}_$v.json"
        $H eval --checkpoint $m --views $v --reframe --json > "$R/views_${m}_${v}_reframe.json"
    done
done
[ -f "$R/h36m/data_3d_h36m.npz" ] || $H data export-h36m "$R/h36m" > /dev/null
for m in d3dp-small htp-small; do
    $H eval --checkpoint $m --dataset h36m --data-dir "$R/h36m" --keypoints gt --json > "$R/h36m_$m.json"
done

step "streaming accuracy (causal, centred, offline) on the aimed and fixed cameras"
for g in htp-small_c8_h1_flip d3dp-small_c1_h1_flip htp-small-causal_c8_h1_flip; do
    for v in aimed approach cross; do
        $H eval --onnx htp_edge/checkpoints/$g.onnx --stream --views $v --json > "$R/stream_${g}_$v.json"
    done
done

step "streaming and soak"
$PY scripts/soak.py --frames 10000 --json > "$R/soak.json"

step "plots"
$PY scripts/plot_augment.py --out "$R/augment.png" --chunks 6 --seed 3
$PY scripts/plot_pruning.py --out "$R/pruning.png"
echo "results in $R" >&2

#!/usr/bin/env bash
# The demo: set up (or reuse) the environment, generate the synthetic shapes
# unless they are there, pretrain I2P-MAE on them for 4 epochs with a tiny
# randomly initialised CLIP teacher (minutes on a CPU), print the linear-SVM
# accuracy of the pretrained encoder beside the same encoder untrained, and
# draw the guided mask (masking.png) and the reconstruction of the masked
# tokens (reconstruction.png).
#
# Usage: bash tools/run_demo.sh [--data-root DIR] [--work-dir DIR]
#            [tools/train.py options, e.g. --cfg-options randomness.seed=1]
#   --data-root  the synthetic data (default data/synthetic): generated
#                with make_synthetic_shapes.py's defaults when absent,
#                reused when complete, an error when incomplete
#   --work-dir   the run's folder (default
#                work_dirs/i2pmae_pretrain_synthetic); a re-run continues
#                from (or stops at) its last checkpoint
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# the defaults are inside the repository, given folders relative to the
# current one
data=data/synthetic
work=work_dirs/i2pmae_pretrain_synthetic
from_here() { [[ "$1" == /* ]] && echo "$1" || echo "$PWD/$1"; }
train_args=()
while (($#)); do
    case "$1" in
        --data-root) data="$(from_here "${2:?--data-root needs a folder}")"
            shift 2 ;;
        --data-root=*) data="$(from_here "${1#*=}")"; shift ;;
        --work-dir) work="$(from_here "${2:?--work-dir needs a folder}")"
            shift 2 ;;
        --work-dir=*) work="$(from_here "${1#*=}")"; shift ;;
        *) train_args+=("$1"); shift ;;
    esac
done
cd "$repo"

# first_missing ROOT: print the first missing file among those the demo
# reads (the ShapeNet-55 clouds and the ModelNet40 h5 files, following
# their lists) and the file make_synthetic_shapes.py writes last (it writes
# every file whole under a temporary name, and each layout's lists after
# its clouds); print nothing when ROOT is complete.
first_missing() {
    local sn="$1/ShapeNet55-34" h5="$1/modelnet40_ply_hdf5_2048" f
    local last="$1/shapenetcore_partanno_segmentation_benchmark_v0_normal"
    for f in "$sn/ShapeNet-55/train.txt" "$sn/ShapeNet-55/test.txt" \
        "$h5/train_files.txt" "$h5/test_files.txt" \
        "$last/train_test_split/shuffled_test_file_list.json"; do
        [[ -f "$f" ]] || { echo "$f"; return; }
    done
    while read -r f; do
        [[ -z "$f" || -f "$sn/shapenet_pc/$f" ]] ||
            { echo "$sn/shapenet_pc/$f"; return; }
    done < <(cat "$sn/ShapeNet-55/train.txt" "$sn/ShapeNet-55/test.txt")
    while read -r f; do
        [[ -z "$f" || -f "$h5/${f##*/}" ]] || { echo "$h5/${f##*/}"; return; }
    done < <(cat "$h5/train_files.txt" "$h5/test_files.txt")
}
# the data is checked before anything else runs: an existing folder must be
# complete (a partial one, e.g. from an interrupted generation, is never
# used or overwritten)
if [[ -e "$data" && ! -d "$data" ]]; then
    echo "error: --data-root $data is not a folder" >&2
    exit 1
elif [[ -d "$data" ]]; then
    missing="$(first_missing "$data")"
    if [[ -n "$missing" ]]; then
        echo "error: the synthetic data in $data is incomplete: $missing is" \
            "missing. Remove $data to let the demo generate it, or complete" \
            "it with tools/dataset_converters/make_synthetic_shapes.py" \
            "--out $data and the arguments it was made with" >&2
        exit 1
    fi
fi

phases=()
phase_start=$(date +%s)
# end_phase NAME: record how long the phase since the last one took
end_phase() {
    local now
    now=$(date +%s)
    phases+=("$1 $((now - phase_start)) s")
    phase_start=$now
}
demo_start=$phase_start

bash tools/setup_env.sh
py="${I2PMAE_VENV:-$repo/.venv}/bin/python"
end_phase set-up

if [[ -d "$data" ]]; then
    echo "[demo] reusing the synthetic shapes in $data (remove the folder to" \
        "generate them again)"
else
    echo "[demo] generating the synthetic shapes in $data"
    "$py" tools/dataset_converters/make_synthetic_shapes.py --out "$data"
    missing="$(first_missing "$data")"
    if [[ -n "$missing" ]]; then
        echo "error: $missing is missing after generating $data" >&2
        exit 1
    fi
fi
end_phase data

h5="$data/modelnet40_ply_hdf5_2048"
"$py" tools/train.py configs/i2pmae_pretrain_synthetic.py --work-dir "$work" \
    --resume --cfg-options \
    "train_dataloader.dataset.data_root=$data/ShapeNet55-34" \
    "svm_train_dataloader.dataset.data_root=$h5" \
    "svm_test_dataloader.dataset.data_root=$h5" ${train_args[@]+"${train_args[@]}"}
end_phase pretraining

# the run's own config (every override above included) and last checkpoint
cfg="$work/i2pmae_pretrain_synthetic.py"
ckpt="$(cat "$work/last_checkpoint")"
"$py" tools/analysis_tools/svm_vs_random.py "$cfg" "$ckpt" \
    --work-dir "$work/svm_vs_random"
end_phase 'linear SVM (pretrained and random)'

"$py" tools/visualize_masking.py "$cfg" --checkpoint "$ckpt" \
    --out "$work/masking.png" --reconstruction "$work/reconstruction.png"
end_phase pictures

# newest_log DIR: the log file of the newest run in DIR (mmengine writes
# DIR/<timestamp>/<timestamp>.log)
newest_log() {
    local run
    run="$(find "$1" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*_[0-9]*' |
        sort | tail -n 1)"
    echo "$run/$(basename "$run").log"
}
echo
echo "[demo] pretraining log:   $(newest_log "$work")"
echo "[demo] linear-SVM log:    $(newest_log "$work/svm_vs_random")"
echo "[demo] guided mask:       $work/masking.png"
echo "[demo] reconstruction:    $work/reconstruction.png"
summary="$(printf '%s, ' "${phases[@]}")"
echo "[demo] time: ${summary%, }; total $(($(date +%s) - demo_start)) s"

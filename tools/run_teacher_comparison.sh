#!/usr/bin/env bash
# Does a 2D teacher that has learned something make I2P-MAE pretraining
# better? One command for the whole comparison on the synthetic shapes:
#   1. the teacher's own data: synthetic ModelNet40-h5 clouds generated with
#      data seed 1 (other instances of the same kinds of classes than the
#      pretraining and evaluation data, which use seed 0);
#   2. the depth teacher: tools/train_depth_teacher.py on that data (a small
#      open_clip ViT, 112 x 112 depth images), and a picture of its
#      class-token attention beside the untrained tower's (attention.png);
#   3. tools/analysis_tools/teacher_comparison.py: random init, Point-M2AE
#      (3D only), I2P-MAE with the untrained tower and with the trained one,
#      each pretrained with the embedded default's encoder, data and
#      schedule, scored by the linear SVM on the synthetic ModelNet40 test
#      split (mean ± std over the seeds).
# Every step is skipped when its output exists, so a re-run continues where
# the last one stopped. On 2 CPU cores shared with other jobs: the teacher
# about 5 minutes, the 9 pretrainings of 3 seeds with their SVM scorings
# 2 h 15 min.
#
# Usage: bash tools/run_teacher_comparison.sh [--seeds 0-2]
#            [--data-root data/synthetic] [--work-dir work_dirs/teacher]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seeds=0-2
data=data/synthetic
work=work_dirs/teacher
from_here() { [[ "$1" == /* ]] && echo "$1" || echo "$PWD/$1"; }
while (($#)); do
    case "$1" in
        --seeds) seeds="${2:?--seeds needs a range}"; shift 2 ;;
        --data-root) data="$(from_here "${2:?--data-root needs a folder}")"
            shift 2 ;;
        --work-dir) work="$(from_here "${2:?--work-dir needs a folder}")"
            shift 2 ;;
        *) echo "error: unknown argument $1 (see the usage in $0)" >&2
            exit 2 ;;
    esac
done
cd "$repo"
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
python="${PYTHON:-$repo/.venv/bin/python}"
[[ -x "$python" ]] || python=python

teacher_data="$work/teacher_data_seed1"
teacher="$work/depth_teacher/depth_teacher.pt"
if [[ ! -d "$data/ShapeNet55-34" || ! -d "$data/modelnet40_ply_hdf5_2048" ]]
then
    echo "== the pretraining and evaluation data (seed 0) in $data"
    "$python" tools/dataset_converters/make_synthetic_shapes.py --out "$data"
fi
if [[ ! -f "$teacher_data/modelnet40_ply_hdf5_2048/test_files.txt" ]]; then
    echo "== the teacher's data (seed 1) in $teacher_data"
    "$python" tools/dataset_converters/make_synthetic_shapes.py \
        --out "$teacher_data" --seed 1 --layouts modelnet_h5 \
        --per-class 24 --test-per-class 8
fi
if [[ ! -f "$teacher" ]]; then
    echo "== training the depth teacher: $teacher"
    "$python" tools/train_depth_teacher.py \
        --data-root "$teacher_data/modelnet40_ply_hdf5_2048" \
        --out "$teacher" --image-size 112 --width 64 --layers 2 --heads 2
fi
picture="$(dirname "$teacher")/attention.png"
if [[ ! -f "$picture" ]]; then
    echo "== its attention: $picture"
    "$python" tools/visualize_teacher_attention.py \
        --data-root "$teacher_data/modelnet40_ply_hdf5_2048" \
        --teacher "$teacher" --out "$picture" --samples 6
fi
echo "== the comparison (seeds $seeds) in $work/runs"
"$python" tools/analysis_tools/teacher_comparison.py --seeds "$seeds" \
    --data-root "$data" --teacher "$teacher" --work-root "$work/runs"

#!/usr/bin/env bash
# Set up (or reuse) the environment, generate the synthetic shapes and run
# I2P-MAE pretraining on them with a tiny randomly initialised CLIP teacher
# (a few minutes on CPU), then draw the depth views, teacher saliency and
# guided mask of one cloud to work_dirs/i2pmae_pretrain_synthetic/masking.png.
# Extra arguments go to tools/train.py (e.g. --cfg-options ...).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash tools/setup_env.sh
py="${I2PMAE_VENV:-$repo/.venv}/bin/python"
"$py" tools/dataset_converters/make_synthetic_shapes.py --out data/synthetic
work=work_dirs/i2pmae_pretrain_synthetic
# --resume: a re-run continues from (or stops at) the last checkpoint
"$py" tools/train.py configs/i2pmae_pretrain_synthetic.py --work-dir "$work" \
    --resume "$@"
"$py" tools/visualize_masking.py configs/i2pmae_pretrain_synthetic.py \
    --checkpoint "$(cat "$work/last_checkpoint")" --out "$work/masking.png"

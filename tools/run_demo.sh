#!/usr/bin/env bash
# Set up (or reuse) the environment, generate the synthetic shapes and run
# I2P-MAE pretraining on them with a tiny randomly initialised CLIP teacher
# (a few minutes on CPU), then write the mask / saliency visualisation.
# Extra arguments go to tools/train.py (e.g. --cfg-options ...).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash tools/setup_env.sh
py="${I2PMAE_VENV:-$repo/.venv}/bin/python"
"$py" tools/dataset_converters/make_synthetic_shapes.py --out data/synthetic
"$py" tools/train.py configs/i2pmae_pretrain_synthetic.py "$@"

#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in ./.venv.
#
# Safe to re-run: when neither this script nor requirements/*.txt changed
# since the last successful run, it returns at once.
#
# Environment variables:
#   I2PMAE_VENV   where the environment lives (default: <repo>/.venv)
#   PYTHON        interpreter used to create it (default: python3.11, else python3)
#   FORCE_CUDA=1  compile mmcv's CUDA ops even when no GPU is visible
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${I2PMAE_VENV:-$repo/.venv}"
py="${PYTHON:-$(command -v python3.11 || command -v python3)}"
stamp="$venv/.i2pmae-setup-stamp"

digest="$(cat "$repo/tools/setup_env.sh" "$repo"/requirements/*.txt | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$digest" ]]; then
    exit 0
fi

echo "[setup_env] creating environment in $venv"
[[ -x "$venv/bin/python" ]] || "$py" -m venv "$venv"
vpy="$venv/bin/python"
cons="$repo/requirements/constraints.txt"
# Some machines ship a local CPU-only torch wheel that breaks torchvision;
# ignore local wheel folders so PyPI's build is used.
export PIP_FIND_LINKS=/nonexistent
export PIP_DISABLE_PIP_VERSION_CHECK=1
pipi() { "$vpy" -m pip install --progress-bar off -c "$cons" "$@"; }

echo "[setup_env] 1/4 build tools"
pipi -r "$repo/requirements/build.txt"
echo "[setup_env] 2/4 torch + torchvision"
pipi -r "$repo/requirements/torch.txt"
if ! "$vpy" -c "import mmcv.ops" 2>/dev/null; then
    echo "[setup_env] 3/4 mmcv (compiled from source with its ops; ~10 min the first time)"
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        pipi --no-build-isolation -r "$repo/requirements/mminstall.txt"
else
    echo "[setup_env] 3/4 mmcv already built"
fi
echo "[setup_env] 4/4 OpenMMLab stack, open_clip and test tools"
pipi -r "$repo/requirements/runtime.txt" -r "$repo/requirements/tests.txt"

"$vpy" - <<'PY'
import torch, torchvision, mmcv, mmcv.ops, mmengine, mmdet, mmdet3d, mmpretrain, open_clip, numpy
assert torch.__version__.split('+')[0] == '2.13.0', torch.__version__
assert int(numpy.__version__.split('.')[0]) < 2, numpy.__version__
print('[setup_env] torch', torch.__version__, '| torchvision', torchvision.__version__,
      '| mmcv', mmcv.__version__, '| mmengine', mmengine.__version__,
      '| mmdet', mmdet.__version__, '| mmdet3d', mmdet3d.__version__,
      '| mmpretrain', mmpretrain.__version__, '| open_clip', open_clip.__version__,
      '| numpy', numpy.__version__)
PY
echo "$digest" > "$stamp"
echo "[setup_env] done"

#!/usr/bin/env bash
# Set up (or reuse) the environment, then run the test suite on CPU.
# Extra arguments go to pytest (e.g. -k parity, -m slow).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash tools/setup_env.sh
venv="${I2PMAE_VENV:-$repo/.venv}"
exec "$venv/bin/python" -m pytest -q "$@"

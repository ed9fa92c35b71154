#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG NPROC [train.py options]
# Starts NPROC training processes on this node with torchrun: one per GPU
# (NCCL), or NPROC CPU processes (gloo) when no GPU is visible. Several
# nodes: run it on each with NNODES, NODE_RANK, MASTER_ADDR and PORT set.
# Python: ${I2PMAE_VENV:-<repo>/.venv}/bin/python when it exists, else the
# python on PATH (tools/launch_env.sh).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NPROC [train.py options]" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/launch_env.sh"
torchrun_tool "$2" train.py "$1" --launcher pytorch "${@:3}"

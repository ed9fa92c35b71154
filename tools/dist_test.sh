#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py options]
# Starts NPROC test processes on this node with torchrun: one per GPU
# (NCCL), or NPROC CPU processes (gloo) when no GPU is visible. Several
# nodes: run it on each with NNODES, NODE_RANK, MASTER_ADDR and PORT set.
# Python: ${I2PMAE_VENV:-<repo>/.venv}/bin/python when it exists, else the
# python on PATH (tools/launch_env.sh).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NPROC [test.py options]" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/launch_env.sh"
torchrun_tool "$3" test.py "$1" "$2" --launcher pytorch "${@:4}"

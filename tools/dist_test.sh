#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py options]
# Starts NPROC test processes on this node with torchrun: one per GPU
# (NCCL), or NPROC CPU processes (gloo) when no GPU is visible. Several
# nodes: run it on each with NNODES, NODE_RANK, MASTER_ADDR and PORT set.
# Python: ${I2PMAE_VENV:-<repo>/.venv}/bin/python when it exists, else the
# python on PATH.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NPROC [test.py options]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${I2PMAE_VENV:-$repo/.venv}/bin/python"
[ -x "$py" ] || py=python

PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" \
"$py" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$repo/tools/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "${@:4}"

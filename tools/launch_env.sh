# Sourced by the launch scripts (dist_train.sh, dist_test.sh,
# slurm_train.sh). Sets repo (the repository root) and py: the python of
# ${I2PMAE_VENV:-<repo>/.venv} when it exists, else the python on PATH.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${I2PMAE_VENV:-$repo/.venv}/bin/python"
[ -x "$py" ] || py=python

# Usage: torchrun_tool NPROC SCRIPT [arguments]
# Starts NPROC processes of tools/SCRIPT on this node with torchrun, the
# repository on PYTHONPATH. Several nodes: NNODES, NODE_RANK, MASTER_ADDR and
# PORT from the environment (defaults 1, 0, 127.0.0.1, 29500).
torchrun_tool() {
    PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" \
    "$py" -m torch.distributed.run \
        --nnodes="${NNODES:-1}" \
        --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --nproc_per_node="$1" \
        --master_port="${PORT:-29500}" \
        "$repo/tools/$2" "${@:3}"
}

#!/usr/bin/env bash
# Usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [options]
# One training process per GPU (NCCL) on a Slurm cluster; CPU-only runs use
# tools/dist_train.sh (torchrun) instead.
# Python: ${I2PMAE_VENV:-<repo>/.venv}/bin/python when it exists, else the
# python on PATH (tools/launch_env.sh).
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PY_ARGS=${@:5}
source "$(dirname "${BASH_SOURCE[0]}")/launch_env.sh"

PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" \
srun -p ${PARTITION} \
    --job-name=${JOB_NAME} \
    --gres=gpu:${GPUS_PER_NODE} \
    --ntasks=${GPUS} \
    --ntasks-per-node=${GPUS_PER_NODE} \
    --cpus-per-task=${CPUS_PER_TASK} \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$py" -u "$repo/tools/train.py" ${CONFIG} --work-dir=${WORK_DIR} \
    --launcher="slurm" ${PY_ARGS}

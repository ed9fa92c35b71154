"""Distributed training on CPUs: gloo, DDP without device_ids, and
tools/dist_train.sh with 2 processes on generated data."""
import os
import os.path as osp
import pickle
import re
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.model import MMDistributedDataParallel
from torch import distributed as torch_dist
from torch import nn

from projects.I2PMAE.i2pmae.engine import (DeviceAwareRunner,
                                           resolve_dist_backend)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_backend_follows_the_device():
    assert resolve_dist_backend('auto', 'cpu') == 'gloo'
    assert resolve_dist_backend(None, 'cpu') == 'gloo'
    assert resolve_dist_backend('auto', 'cuda') == 'nccl'
    assert resolve_dist_backend(None, 'cuda') == 'nccl'
    assert resolve_dist_backend('gloo', 'cuda') == 'gloo'
    assert resolve_dist_backend('nccl', 'cuda') == 'nccl'
    with pytest.raises(
            ValueError,
            match=r"env_cfg.dist_cfg.backend='nccl' needs GPUs but none is "
            r"visible; set it to 'auto'"):
        resolve_dist_backend('nccl', 'cpu')


@pytest.fixture
def single_process_group(monkeypatch):
    """torchrun's environment for a world of one process on this host."""
    for key, value in dict(
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(_free_port()),
            RANK='0',
            LOCAL_RANK='0',
            WORLD_SIZE='1').items():
        monkeypatch.setenv(key, value)
    yield
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def _runner(tmp_path, **kwargs):
    return DeviceAwareRunner(
        model=nn.Linear(2, 2),
        work_dir=str(tmp_path),
        launcher='pytorch',
        env_cfg=dict(dist_cfg=dict(backend='auto', timeout=60)),
        **kwargs)


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU path (no GPU visible)')
def test_cpu_runner_uses_gloo_and_ddp_without_device_ids(
        tmp_path, single_process_group):
    runner = _runner(tmp_path)
    assert torch_dist.get_backend() == 'gloo'
    assert runner.world_size == 1
    model = runner.model
    assert isinstance(model, MMDistributedDataParallel)
    assert model.device_ids is None
    assert next(model.parameters()).device.type == 'cpu'


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU path (no GPU visible)')
def test_cpu_runner_refuses_sync_bn(tmp_path, single_process_group):
    with pytest.raises(
            ValueError, match=r"sync_bn='torch' needs GPUs \(SyncBatchNorm"):
        _runner(tmp_path, cfg=dict(sync_bn='torch'))


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='the CPU path (no GPU visible)')
def test_cpu_runner_refuses_gpu_only_launchers(tmp_path):
    with pytest.raises(
            ValueError,
            match=r"launcher='slurm' needs GPUs; without one, "
            r'start the processes with torchrun'):
        DeviceAwareRunner(
            model=nn.Linear(2, 2),
            work_dir=str(tmp_path),
            launcher='slurm',
            env_cfg=dict(dist_cfg=dict(backend='auto')))
    assert not torch_dist.is_initialized()


# ------------------------------------------------- tools/dist_train.sh (2)
NUM_CLOUDS = 32  # 2 per class of 16: ShapeNet-55 train and SVM train
BATCH = 4


@pytest.fixture(scope='module')
def synthetic_root(synthetic_data):
    return synthetic_data(['shapenet55', 'modelnet_h5'],
                          per_class=2,
                          test_per_class=1,
                          num_points=1024,
                          shapenet_points=2048)


def _write_config(tmp_path, synthetic_root) -> str:
    """The demo pretraining config, tiny, 1 epoch, then the SVM validation.

    A DumpResults metric next to the LinearSVMMetric writes the gathered
    validation samples (with their dataset indices).
    """
    sn = osp.join(synthetic_root, 'ShapeNet55-34')
    h5 = osp.join(synthetic_root, 'modelnet40_ply_hdf5_2048')
    base = osp.join(REPO, 'configs', 'i2pmae_pretrain_synthetic.py')
    dump = str(tmp_path / 'svm_samples.pkl')
    text = f"""
_base_ = [{base!r}]
model = dict(
    tokenizer=dict(num_groups=[64, 32, 8]),
    backbone=dict(depths=[1, 1, 1]),
    teacher=dict(vision_cfg=dict(patch_size=32, layers=1)))
train_dataloader = dict(
    batch_size={BATCH}, num_workers=0, dataset=dict(data_root={sn!r}))
svm_train_dataloader = dict(
    batch_size={BATCH}, num_workers=0, dataset=dict(data_root={h5!r}))
svm_test_dataloader = dict(
    batch_size={BATCH}, num_workers=0, dataset=dict(data_root={h5!r}))
train_cfg = dict(max_epochs=1, val_begin=1, val_interval=1)
val_evaluator = [
    dict(type='LinearSVMMetric', holdout=0.2),
    dict(type='DumpResults', out_file_path={dump!r}),
]
default_hooks = dict(logger=dict(interval=1))
"""
    path = tmp_path / 'tiny_dist.py'
    path.write_text(text)
    return str(path)


def test_dist_train_two_cpu_processes(synthetic_root, tmp_path):
    config = _write_config(tmp_path, synthetic_root)
    work = tmp_path / 'work'
    env = dict(
        os.environ,
        PORT=str(_free_port()),
        # the CPU path wherever the test runs; the interpreter running it
        CUDA_VISIBLE_DEVICES='',
        I2PMAE_VENV=sys.prefix)
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', config, '2', '--work-dir',
         str(work)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    out = proc.stdout + proc.stderr
    # torchrun exits 0 only when both ranks did
    assert proc.returncode == 0, out[-4000:]
    assert 'distributed: gloo backend, world size 2, device cpu' in out
    assert 'world size 2' in out
    # each rank trained on its half: 32 clouds / (2 ranks x 4) = 4 steps
    per_rank = NUM_CLOUDS // (2 * BATCH)
    steps = re.findall(r'Epoch\(train\) \[1\]\[(\d+)/(\d+)\]', out)
    assert steps and {int(total) for _, total in steps} == {per_rank}, out
    # one checkpoint, written by rank 0
    saved = sorted(
        osp.relpath(osp.join(d, f), work) for d, _, files in os.walk(work)
        for f in files if f.endswith('.pth'))
    assert saved == ['epoch_1.pth']
    state = torch.load(work / 'epoch_1.pth', weights_only=True)
    assert state['meta']['iter'] == per_rank
    # SVM: rank 0 extracted 4 batches of 4 (its half of the 32 clouds) ...
    val_steps = re.findall(r'Epoch\(val\) \[1\]\[(\d+)/(\d+)\]', out)
    assert {int(total) for _, total in val_steps} == {per_rank}, out
    # ... and the gathered features are all 32, each cloud once: the other
    # half came from rank 1
    fitted = re.search(
        r'linear SVM: fitted on (\d+) of the split \(20% held out\).*'
        r'on (\d+) samples', out)
    assert fitted, out[-4000:]
    assert int(fitted.group(1)) + int(fitted.group(2)) == NUM_CLOUDS
    with open(tmp_path / 'svm_samples.pkl', 'rb') as f:
        samples = pickle.load(f)
    indices = [s['sample_idx'] for s in samples]
    assert sorted(indices) == list(range(NUM_CLOUDS))
    assert all(s['feature'].shape == (192, ) for s in samples)
    assert re.search(r'svm/accuracy: [0-9.]+', out)

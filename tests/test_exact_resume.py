"""Resuming after a SIGKILL repeats an uninterrupted run exactly.

Tiny pretraining runs on generated data (CPU, fixed seed): a run killed in
the middle of epoch 2 and resumed with ``--resume`` must log the same
per-iteration losses and learning rates as a run that was never
interrupted, with DataLoader workers (persistent) or without.
"""
import glob
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler

from projects.I2PMAE.i2pmae.datasets import ShapeNet55Dataset
from projects.I2PMAE.i2pmae.datasets.samplers import (SeededIndex,
                                                      SeededSampler,
                                                      isolated_rng)
from projects.I2PMAE.i2pmae.engine import IterationSeedHook, iteration_seed

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

# tools/train.py with a hook that SIGKILLs the process once iteration
# $KILL_AFTER_ITER is done (after the logger hook wrote it)
KILL_SCRIPT = '''
import os, signal, sys
sys.path.insert(0, os.getcwd())
from mmengine.hooks import Hook
from mmengine.runner import Runner
from tools import train as train_tool

class KillAfterIter(Hook):
    priority = 'LOWEST'
    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 >= int(os.environ['KILL_AFTER_ITER']):
            os.kill(os.getpid(), signal.SIGKILL)

run_training = Runner.train
def train_and_kill(self):
    self.register_hook(KillAfterIter())
    return run_training(self)
Runner.train = train_and_kill
train_tool.main(sys.argv[1:])
'''
ITERS_PER_EPOCH = 3
BATCH = 4
# the synthetic pretraining config, shrunk to ~1 s per iteration on a CPU
TINY_MODEL = [
    'model.tokenizer.num_groups=[32,16,8]', 'model.backbone.depths=[1,1,1]',
    'model.projector.image_size=64', 'model.teacher.vision_cfg.image_size=64',
    'train_dataloader.dataset.pipeline.0.num_points=512'
]


@pytest.fixture(scope='module')
def shapenet_root(synthetic_data):
    root = synthetic_data(['shapenet55'], per_class=1, test_per_class=1)
    return osp.join(root, 'ShapeNet55-34')


def _train(work, data_root, workers, kill_after=None, resume=False):
    args = [sys.executable]
    args += ['-c', KILL_SCRIPT] if kill_after else ['tools/train.py']
    args += ['configs/i2pmae_pretrain_synthetic.py', '--work-dir', str(work)]
    if resume:
        args.append('--resume')
    args += [
        '--cfg-options', *TINY_MODEL, f'train_dataloader.batch_size={BATCH}',
        f'train_dataloader.num_workers={workers}',
        f'train_dataloader.dataset.data_root={data_root}',
        f'train_dataloader.dataset.indices={BATCH * ITERS_PER_EPOCH}',
        'train_cfg.max_epochs=2', 'default_hooks.logger.interval=1',
        'log_processor.window_size=1'
    ]
    env = dict(os.environ, KILL_AFTER_ITER=str(kill_after or 0))
    os.makedirs(work, exist_ok=True)
    log_path = osp.join(work, f'stdout_{len(os.listdir(work))}.txt')
    with open(log_path, 'w') as out:
        proc = subprocess.run(
            args,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900)
    with open(log_path) as f:
        return proc.returncode, f.read()


def _scalars(work):
    """Per run (oldest first): {step: {loss*/lr: value}}."""
    runs = []
    for path in sorted(
            glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records = [json.loads(line) for line in f]
        runs.append({
            r['step']: {
                k: v
                for k, v in r.items() if k.startswith('loss') or k == 'lr'
            }
            for r in records if 'loss' in r  # training iterations
        })
    return runs


@pytest.fixture(scope='module')
def uninterrupted(shapenet_root, tmp_path_factory):
    work = tmp_path_factory.mktemp('uninterrupted')
    code, log = _train(work, shapenet_root, workers=2)
    assert code == 0, log[-3000:]
    (steps, ) = _scalars(work)
    assert sorted(steps) == list(range(1, 2 * ITERS_PER_EPOCH + 1))
    return steps


@pytest.mark.parametrize('workers', [0, 2])
def test_sigkill_and_resume_repeats_the_run(workers, shapenet_root,
                                            uninterrupted, tmp_path):
    work = tmp_path / 'run'
    kill_after = ITERS_PER_EPOCH + 2  # the middle of epoch 2
    code, log = _train(work, shapenet_root, workers, kill_after=kill_after)
    assert code == -9, log[-3000:]
    assert (work / 'epoch_1.pth').is_file()
    assert not glob.glob(str(work / '*.tmp')) and not glob.glob(
        str(work / '.*.tmp'))
    if workers:
        # a checkpoint truncated by an older, non-atomic writer is skipped
        data = (work / 'epoch_1.pth').read_bytes()
        (work / 'epoch_2.pth').write_bytes(data[:len(data) // 2])
        (work / 'last_checkpoint').write_text(str(work / 'epoch_2.pth'))
    code, log = _train(work, shapenet_root, workers, resume=True)
    assert code == 0, log[-3000:]
    assert 'resumed epoch: 1, iter: 3' in log
    if workers:
        assert f'skipping {work / "epoch_2.pth"} when resuming' in log
    killed, resumed = _scalars(work)
    assert sorted(killed) == list(range(1, kill_after + 1))
    assert sorted(resumed) == list(
        range(ITERS_PER_EPOCH + 1, 2 * ITERS_PER_EPOCH + 1))
    # the same numbers as the uninterrupted run (2 persistent workers)
    for step, values in {**killed, **resumed}.items():
        assert values == uninterrupted[step], step


def test_seeded_sampler_keeps_the_default_order():
    dataset = list(range(10))
    for round_up in (True, False):
        seeded = SeededSampler(dataset, seed=3, round_up=round_up)
        default = DefaultSampler(dataset, seed=3, round_up=round_up)
        for epoch in (0, 1):
            seeded.set_epoch(epoch)
            default.set_epoch(epoch)
            indices = list(seeded)
            assert indices == list(default)
            assert all(isinstance(i, SeededIndex) for i in indices)
    seeded.set_epoch(0)
    first = [i.seed for i in seeded]
    assert first == [i.seed for i in seeded]  # a function of (seed, epoch)
    assert len(set(first)) == len(first)
    seeded.set_epoch(1)
    assert set(first).isdisjoint(i.seed for i in seeded)
    index = SeededIndex(7, 12345)
    clone = pickle.loads(pickle.dumps(index))
    assert (clone, clone.seed, type(clone)) == (7, 12345, SeededIndex)
    assert type(index + 1) is int


def test_isolated_rng_leaves_the_global_state():
    np.random.seed(1)
    torch.manual_seed(1)
    expected = (np.random.rand(), torch.rand(1).item())
    np.random.seed(1)
    torch.manual_seed(1)
    with isolated_rng(99):
        inside = (np.random.rand(), torch.rand(1).item())
    assert (np.random.rand(), torch.rand(1).item()) == expected
    with isolated_rng(99):
        assert (np.random.rand(), torch.rand(1).item()) == inside


def test_dataset_runs_the_pipeline_under_the_index_seed(synthetic_data):
    root = synthetic_data(['shapenet55'],
                          per_class=1,
                          test_per_class=1,
                          shapenet_points=256)
    dataset = ShapeNet55Dataset(
        data_root=osp.join(root, 'ShapeNet55-34'),
        pipeline=[
            dict(type='PointCloudRandomSample', num_points=64),
            dict(type='PointCloudScaleAndTranslate'),
            dict(type='PackPointCloudInputs')
        ])

    def points(index):
        return dataset[index]['inputs']['points']

    np.random.seed(0)
    first = points(SeededIndex(2, 7))
    state = np.random.get_state()[1].copy()
    np.random.seed(5)  # another global state: same sample
    assert torch.equal(points(SeededIndex(2, 7)), first)
    np.random.seed(0)
    points(SeededIndex(2, 7))
    assert np.array_equal(np.random.get_state()[1], state)  # undisturbed
    assert not torch.equal(points(SeededIndex(2, 8)), first)
    assert not torch.equal(points(2), points(2))  # plain ints: global RNG


def test_iteration_seed_hook_reseeds_from_the_iteration():
    runner = type('R', (), dict(seed=5, iter=7))()
    hook = IterationSeedHook()
    hook.before_train_iter(runner, batch_idx=0)
    first = (torch.rand(2), np.random.rand())
    torch.rand(5)
    hook.before_train_iter(runner, batch_idx=0)
    assert torch.equal(torch.rand(2), first[0])
    assert np.random.rand() == first[1]
    assert iteration_seed(5, 0, 7) != iteration_seed(5, 0, 8)
    assert iteration_seed(5, 0, 7) != iteration_seed(5, 1, 7)

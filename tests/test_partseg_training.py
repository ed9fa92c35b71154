"""Part segmentation end to end on tiny synthetic ShapeNetPart data (CPU).

The synthetic config trains from a pretrained checkpoint through the Runner,
the loss falls and both mIoUs are reported; ``tools/test.py`` prints them
for the saved checkpoint; ``tools/benchmark.py partseg`` runs.
"""
import argparse
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from conftest import TINY_SYNTHETIC, save_tiny_pretraining_checkpoint
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from projects.I2PMAE.i2pmae.engine import CheckpointMismatchError
from tools.benchmark_modes import partseg as benchmark_mode

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'i2pmae_partseg_synthetic_shapenetpart.py')
EPOCHS = 8
ENCODER = dict(embed_dims=[24, 48, 96], depths=[1, 1, 1])


def _options(data_root: str) -> dict:
    """``--cfg-options`` of a tiny model on the tiny data (256 points)."""
    options = {
        'model.tokenizer.num_groups': [32, 16, 8],
        'model.tokenizer.group_sizes': [8, 4, 4],
        'model.backbone.embed_dims': ENCODER['embed_dims'],
        'model.backbone.depths': ENCODER['depths'],
        'model.decode_head.in_channels': ENCODER['embed_dims'],
        'model.decode_head.fp_channels': 32,
        'model.decode_head.hidden_channels': [32],
        'model.decode_head.channels': 32,
        'train_cfg.max_epochs': EPOCHS,
        'train_cfg.val_interval': EPOCHS,
        # the tiny model's few dozen steps: the encoder at 1e-3 and the head
        # at 1e-2 (the recipe's 1e-4 / 1e-3 move it too little to test)
        'optim_wrapper.optimizer.lr': 1e-3,
    }
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options.update({
            f'{loader}.num_workers': 0,
            f'{loader}.persistent_workers': False,
            f'{loader}.dataset.data_root': data_root,
            f'{loader}.dataset.pipeline.1.num_points': 256,
        })
    return options


def _cli(options: dict) -> list:
    """The options as ``tools/*.py --cfg-options`` arguments."""

    def text(value):
        if isinstance(value, list):
            return '[' + ','.join(str(v) for v in value) + ']'
        return str(value)

    return [f'{key}={text(value)}' for key, value in options.items()]


@pytest.fixture(scope='module')
def partseg_root(synthetic_data):
    sizes = {k: v for k, v in TINY_SYNTHETIC.items() if k != 'show_progress'}
    root = synthetic_data(['shapenetpart'], **sizes)
    return osp.join(root,
                    'shapenetcore_partanno_segmentation_benchmark_v0_normal')


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    """A tiny pretraining (I2PMAE without teacher) checkpoint."""
    path = tmp_path_factory.mktemp('pretrain') / 'epoch_1.pth'
    save_tiny_pretraining_checkpoint(
        path,
        dict(num_heads=6, **ENCODER),
        num_groups=(32, 16, 8),
        perturb=False,
        seed=1)
    return str(path)


class _Recorder(Hook):
    """Keeps the encoder as training starts and every training loss."""

    def __init__(self):
        self.losses, self.backbone = [], None

    def before_train(self, runner):
        self.backbone = {
            k: v.clone()
            for k, v in runner.model.backbone.state_dict().items()
        }

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.losses.append(outputs['loss'].item())


def _runner(options: dict, work_dir: str, load_from: str) -> Runner:
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    cfg.load_from = load_from
    cfg.default_hooks.logger.interval = 100
    return Runner.from_cfg(cfg)


def test_train_from_pretrained_then_tools_test(partseg_root, pretrained,
                                               tmp_path):
    options = _options(partseg_root)
    runner = _runner(options, str(tmp_path / 'train'), pretrained)
    recorder = _Recorder()
    runner.register_hook(recorder)
    runner.train()

    # the pretrained encoder loaded; only the scale-0 norm kept its
    # initialisation (the pretraining encoder has none)
    state = torch.load(pretrained, weights_only=True)['state_dict']
    for key, value in recorder.backbone.items():
        if key.startswith('norms.0.'):
            assert f'backbone.{key}' not in state
        else:
            assert torch.equal(value, state[f'backbone.{key}']), key
    # 48 train + val shapes, batch 8, drop_last: 6 iterations an epoch
    losses = recorder.losses
    assert len(losses) == 6 * EPOCHS
    first, last = sum(losses[:6]) / 6, sum(losses[-6:]) / 6
    assert last < 0.85 * first, losses
    scalars = runner.message_hub.log_scalars
    for name in ('class_miou', 'instance_miou'):
        value = scalars[f'val/partseg/{name}'].current()
        assert 0 < value <= 100

    checkpoint = tmp_path / 'train' / f'epoch_{EPOCHS}.pth'
    proc = subprocess.run(
        [
            sys.executable, 'tools/test.py', CONFIG,
            str(checkpoint), '--work-dir',
            str(tmp_path / 'test'), '--cfg-options'
        ] + _cli(options),
        cwd=REPO,
        capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    found = re.search(
        r'partseg/class_miou: ([0-9.]+)\s+partseg/instance_miou: ([0-9.]+)',
        log)
    assert found, log[-3000:]
    assert 0 < float(found.group(1)) <= 100
    assert 0 < float(found.group(2)) <= 100
    assert 'part-segmentation mIoU per category (shapes): Airplane' in log


def test_pretrained_checkpoint_without_the_encoder_is_refused(
        partseg_root, pretrained, tmp_path):
    state = torch.load(pretrained, weights_only=True)['state_dict']
    partial = {
        k: v
        for k, v in state.items() if not k.startswith('backbone.stages.')
    }
    path = tmp_path / 'partial.pth'
    torch.save(dict(state_dict=partial, meta=dict()), path)
    runner = _runner(_options(partseg_root), str(tmp_path / 'w'), str(path))
    with pytest.raises(
            CheckpointMismatchError,
            match="the keys under 'backbone.token_embeds.'"):
        runner.train()


def test_benchmark_mode_times_the_decode_head(capsys):
    parser = argparse.ArgumentParser()
    benchmark_mode.add_arguments(parser)
    benchmark_mode.run(
        parser.parse_args([
            '--config', CONFIG, '--batch-size', '2', '--num-points', '256',
            '--steps', '1', '--device', 'cpu'
        ]))
    out = capsys.readouterr().out
    rows = dict(
        re.findall(r'^(tokenizer|encoder|decode head|step total)\s+([0-9.]+)',
                   out, re.M))
    assert set(rows) == {'tokenizer', 'encoder', 'decode head', 'step total'}
    assert 0 < float(rows['decode head']) < float(rows['step total'])
    assert re.search(
        r'decode head alone, forward \+ loss \+ backward: '
        r'[0-9.]+ ms/step', out)
    assert re.search(r'peak process RSS: \d+ MiB', out)

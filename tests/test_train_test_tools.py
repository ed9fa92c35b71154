"""tools/train.py and tools/test.py end to end on generated data (CPU)."""
import os.path as osp
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _tool(*args):
    proc = subprocess.run(
        [sys.executable] + list(args),
        cwd=REPO,
        capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _tool_error(*args):
    """Run a tool that must fail; returns its stderr."""
    proc = subprocess.run(
        [sys.executable] + list(args),
        cwd=REPO,
        capture_output=True,
        text=True)
    assert proc.returncode != 0, proc.stdout[-3000:]
    return proc.stderr


@pytest.fixture(scope='module')
def synthetic_root(synthetic_data):
    return Path(
        synthetic_data(['shapenet55', 'scanobjectnn'],
                       per_class=1,
                       test_per_class=1))


def _loader_opts(prefix, data_root):
    # num_workers=0 alone: the tools turn the configs' persistent_workers off
    return [
        f'{prefix}.batch_size=4', f'{prefix}.num_workers=0',
        f'{prefix}.dataset.data_root={data_root}'
    ]


SMALL_MODEL = ['model.tokenizer.num_groups=[128,64,16]']


def test_pretrain_resume_finetune_and_test(synthetic_root, tmp_path):
    work = tmp_path / 'pre'
    common = ['tools/train.py', 'configs/i2pmae_pretrain_synthetic.py',
              '--work-dir', str(work), '--cfg-options'] + SMALL_MODEL + \
        _loader_opts('train_dataloader', synthetic_root / 'ShapeNet55-34')
    log = _tool(*common, 'train_cfg.max_epochs=1')
    assert re.search(r'loss_3d: [0-9.]+\s+loss_2d: [0-9.]+', log), log[-2000:]
    ckpt1 = work / 'epoch_1.pth'
    assert ckpt1.is_file()
    # the checkpoint loads under weights_only and holds no teacher weights
    state = torch.load(ckpt1, map_location='cpu', weights_only=True)
    assert not any(k.startswith('teacher.') for k in state['state_dict'])
    assert state['meta']['epoch'] == 1

    log = _tool(*common, 'train_cfg.max_epochs=2', 'resume=True')
    assert 'resumed epoch: 1' in log
    state2 = torch.load(work / 'epoch_2.pth', weights_only=True)
    assert state2['meta']['epoch'] == 2
    assert state2['meta']['iter'] == 2 * state['meta']['iter']

    fine = tmp_path / 'fine'
    scan = synthetic_root / 'ScanObjectNN'
    opts = SMALL_MODEL + _loader_opts('train_dataloader', scan) + \
        _loader_opts('val_dataloader', scan) + \
        _loader_opts('test_dataloader', scan) + ['train_cfg.max_epochs=1']
    log = _tool('tools/train.py',
                'configs/i2pmae_finetune_synthetic_scanobjectnn.py',
                '--work-dir', str(fine), '--cfg-options',
                f'load_from={work / "epoch_2.pth"}', *opts)
    assert 'accuracy/top1' in log
    png = tmp_path / 'masking.png'
    _tool(
        'tools/visualize_masking.py',
        'configs/i2pmae_pretrain_synthetic.py', '--checkpoint',
        str(work / 'epoch_2.pth'), '--out', str(png), '--cfg-options',
        *SMALL_MODEL, f'train_dataloader.dataset.data_root='
        f'{synthetic_root / "ShapeNet55-34"}')
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

    # the pretrained encoder loads; only decoder/head keys are left over
    assert f'Load checkpoint from {work / "epoch_2.pth"}' in log
    unexpected = re.search(r'unexpected key in source state_dict: (.*)', log)
    assert unexpected and not re.search(r'\bbackbone\.(?!norms)',
                                        unexpected.group(1))
    log = _tool('tools/test.py',
                'configs/i2pmae_finetune_synthetic_scanobjectnn.py',
                str(fine / 'epoch_1.pth'), '--work-dir', str(fine / 'test'),
                '--cfg-options', *opts)
    acc = re.findall(r'accuracy/top1: ([0-9.]+)', log)
    assert acc and 0.0 <= float(acc[-1]) <= 100.0

    # checkpoints whose weights do not fit the model are errors
    pretrained = work / 'epoch_2.pth'
    err = _tool_error('tools/test.py',
                      'configs/i2pmae_finetune_synthetic_scanobjectnn.py',
                      str(pretrained), '--work-dir', str(tmp_path / 'bad1'),
                      '--cfg-options', *opts)
    assert err.startswith(f'error: {pretrained} does not fit the '
                          'PointClassifier model'), err[-3000:]
    assert 'for evaluation' in err and re.search(r'\bhead\.\S+\.\*: ', err)
    err = _tool_error('tools/train.py',
                      'configs/i2pmae_finetune_synthetic_scanobjectnn.py',
                      '--work-dir', str(tmp_path / 'bad2'), '--cfg-options',
                      f'load_from={pretrained}',
                      'model.backbone.embed_dims=[96,192,384]',
                      'model.head.in_channels=768', *opts)
    assert "the keys under 'backbone.'" in err, err[-3000:]
    assert re.search(r'different shape: \d+ keys', err)
    assert 'allow_partial_load=True' in err and len(err.splitlines()) < 20
    err = _tool_error(
        'tools/train.py', 'configs/i2pmae_pretrain_synthetic.py', '--work-dir',
        str(tmp_path / 'bad3'), '--resume', str(fine / 'epoch_1.pth'),
        '--cfg-options', *SMALL_MODEL, 'train_cfg.max_epochs=1',
        *_loader_opts('train_dataloader', synthetic_root / 'ShapeNet55-34'))
    assert 'belongs to a different model (saved by model type ' \
        'PointClassifier, experiment i2pmae_finetune_synthetic_' in err, \
        err[-3000:]


def test_train_checks_the_resume_file_first(tmp_path):
    corrupt = tmp_path / 'epoch_1.pth'
    corrupt.write_bytes(b'PK\x03\x04 truncated')
    missing = tmp_path / 'missing.pth'
    for path, message in ((missing, f'checkpoint not found: {missing}'),
                          (corrupt, f'checkpoint {corrupt} is truncated')):
        proc = subprocess.run([
            sys.executable, 'tools/train.py',
            'configs/i2pmae_pretrain_synthetic.py', '--work-dir',
            str(tmp_path), '--resume',
            str(path)
        ],
                              cwd=REPO,
                              capture_output=True,
                              text=True)
        assert proc.returncode != 0
        assert proc.stderr.startswith(f'error: {message}'), proc.stderr[-2000:]
        # nothing was built: a Runner would have made its log folder
        assert not [p for p in tmp_path.iterdir() if p.is_dir()]
    err = _tool_error('tools/test.py',
                      'configs/i2pmae_finetune_synthetic_scanobjectnn.py',
                      str(corrupt))
    assert err.startswith(f'error: checkpoint {corrupt} is truncated')


def test_persistent_workers_follow_num_workers():
    from mmengine.config import Config

    from projects.I2PMAE.i2pmae.engine import sync_persistent_workers
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/i2pmae_finetune_synthetic_scanobjectnn.py'))
    cfg.merge_from_dict({'train_dataloader.num_workers': 0})
    assert sync_persistent_workers(cfg) == ['train_dataloader']
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.val_dataloader.persistent_workers is True


@pytest.mark.parametrize(
    'args, message', [
        (['tools/train.py', '{tmp}/nope.py'], 'config file not found'),
        ([
            'tools/test.py', 'configs/i2pmae_finetune_modelnet40.py',
            '{tmp}/missing.pth'
        ], 'checkpoint not found'),
        (['tools/visualize_masking.py', '{tmp}/nope.py'
          ], 'config file not found'),
        ([
            'tools/visualize_masking.py',
            'configs/i2pmae_pretrain_synthetic.py', '--checkpoint',
            '{tmp}/missing.pth', '--cfg-options',
            'train_dataloader.dataset.data_root={tmp}'
        ], 'ShapeNet-55'),
        ([
            'tools/model_converters/i2pmae_official_to_mm.py', '{tmp}/in.pth',
            '{tmp}/out.pth'
        ], 'checkpoint not found'),
        (['tools/parity_check.py', '{tmp}/fixture.pt'], 'fixture not found'),
    ],
    ids=[
        'train', 'test', 'visualize-config', 'visualize-data', 'converter',
        'parity'
    ])
def test_tools_name_bad_inputs(args, message, tmp_path):
    args = [a.format(tmp=tmp_path) for a in args]
    proc = subprocess.run(
        [sys.executable] + args, cwd=REPO, capture_output=True, text=True)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / 'out.pth').exists()

"""tools/train.py and tools/test.py end to end on generated data (CPU)."""
import os.path as osp
import re
import subprocess
import sys

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


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    _tool('tools/dataset_converters/make_synthetic_shapes.py', '--out',
          str(root), '--per-class', '1', '--test-per-class', '1', '--layouts',
          'shapenet55', 'scanobjectnn')
    return root


def _loader_opts(prefix, data_root):
    return [
        f'{prefix}.batch_size=4', f'{prefix}.num_workers=0',
        f'{prefix}.persistent_workers=False',
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

"""The linear-SVM settings of the configs, and tools/test.py on them (CPU).
"""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmdet3d.registry import DATASETS, MODELS, RUNNERS
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# pretraining config -> the dataset config whose svm_* dataloaders it uses
SVM_DATA = [
    ('i2pmae_pretrain.py', 'modelnet40_svm.py'),
    ('point_m2ae_pretrain.py', 'modelnet40_svm.py'),
    ('i2pmae_pretrain_synthetic.py', 'synthetic_modelnet40_svm.py'),
    ('i2pmae_svm_scanobjectnn_objbg.py', 'scanobjectnn_objbg_svm.py'),
    ('i2pmae_svm_synthetic_scanobjectnn_objbg.py',
     'synthetic_scanobjectnn_objbg_svm.py'),
]
# a fast stand-in for the demo encoder (same weights, fewer tokens)
SMALL_MODEL = 'model.tokenizer.num_groups=[64,32,8]'


def _config(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


def _tools_test(checkpoint, work_dir, synthetic_root):
    """Run tools/test.py on the demo config with the synthetic h5 data."""
    h5_root = osp.join(synthetic_root, 'modelnet40_ply_hdf5_2048')
    proc = subprocess.run([
        sys.executable, 'tools/test.py',
        'configs/i2pmae_pretrain_synthetic.py',
        str(checkpoint), '--work-dir',
        str(work_dir), '--cfg-options', SMALL_MODEL,
        f'svm_train_dataloader.dataset.data_root={h5_root}',
        f'svm_test_dataloader.dataset.data_root={h5_root}',
        'svm_train_dataloader.num_workers=0',
        'svm_test_dataloader.num_workers=0'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


@pytest.mark.parametrize('name, svm_data', SVM_DATA)
def test_pretraining_configs_evaluate_with_the_linear_svm(name, svm_data):
    cfg = _config(name)
    assert cfg.val_dataloader == 'svm_train_dataloader'
    assert cfg.val_cfg.type == 'LinearSVMValLoop'
    assert cfg.val_evaluator == dict(type='LinearSVMMetric', holdout=0.2)
    assert cfg.test_dataloader == 'svm_test_dataloader'
    assert cfg.test_cfg == dict(
        type='LinearSVMTestLoop', fit_dataloader='svm_train_dataloader')
    assert cfg.test_evaluator == dict(type='LinearSVMMetric')
    data = _config(osp.join('_base_', 'datasets', svm_data))
    for key in ('svm_train_dataloader', 'svm_test_dataloader'):
        assert cfg[key].to_dict() == data[key].to_dict(), key
    train = cfg.train_cfg
    if 'synthetic' in name:
        # the demo validates once, after its last epoch; shorter runs never
        # read the SVM data
        assert train.val_begin == train.max_epochs == 4
        assert cfg.val_cfg.lazy_init is True
    else:
        assert train.val_interval == 10 and train.get('val_begin', 1) == 1
        assert not cfg.val_cfg.get('lazy_init', False)


@pytest.mark.parametrize('name', [
    'scanobjectnn_objbg_svm.py', 'synthetic_scanobjectnn_objbg_svm.py',
    'modelnet40_svm.py', 'synthetic_modelnet40_svm.py'
])
def test_svm_dataset_configs(name, synthetic_root):
    cfg = _config(osp.join('_base_', 'datasets', name))
    for key, split in (('svm_train_dataloader', 'train'),
                       ('svm_test_dataloader', 'test')):
        loader = cfg[key]
        assert loader.sampler == dict(type='SeededSampler', shuffle=False)
        assert loader.collate_fn.type == 'default_collate'
        assert not loader.drop_last
        dataset = loader.dataset.to_dict()
        assert dataset['split'] == split and dataset['test_mode']
        if not name.startswith('synthetic_'):
            assert dataset['data_root'].startswith('data/')
            continue
        dataset['data_root'] = osp.join(
            synthetic_root, osp.relpath(dataset['data_root'],
                                        'data/synthetic'))
        built = DATASETS.build(dataset)
        points = built[0]['inputs']['points']
        assert points.shape == (1024, 3)
        if 'scanobjectnn' in name:
            assert len(built.metainfo['classes']) == 15


@pytest.fixture(scope='module')
def synthetic_root(synthetic_data):
    return synthetic_data(['modelnet_h5', 'scanobjectnn'],
                          per_class=2,
                          test_per_class=1,
                          num_points=1024)


@pytest.fixture(scope='module')
def random_demo_checkpoint(tmp_path_factory):
    """The demo encoder, randomly initialised, saved like a checkpoint."""
    cfg = _config('i2pmae_pretrain_synthetic.py')
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = tmp_path_factory.mktemp('ckpt') / 'random.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def test_tools_test_prints_the_svm_accuracy(synthetic_root,
                                            random_demo_checkpoint, tmp_path):
    out = _tools_test(random_demo_checkpoint, tmp_path, synthetic_root)
    accuracy = re.findall(r'svm/accuracy: (\d+\.\d\d)\d*\s+svm/C: ([0-9.]+)',
                          out)
    assert len(accuracy) == 1, out[-3000:]
    assert 0.0 <= float(accuracy[0][0]) <= 100.0
    # 32 train clouds of 16 classes: 2-fold cross-validation
    assert 'fitted on 32 of the fit split' in out
    assert 'by 2-fold cross-validation' in out
    assert 'on 16 samples' in out


def test_scanobjectnn_svm_config_scores_its_test_split(synthetic_root,
                                                       random_demo_checkpoint,
                                                       tmp_path):
    cfg = _config('i2pmae_svm_synthetic_scanobjectnn_objbg.py')
    scan_root = osp.join(synthetic_root, 'ScanObjectNN')
    cfg.merge_from_dict({
        'model.tokenizer.num_groups': [64, 32, 8],
        'svm_train_dataloader.dataset.data_root': scan_root,
        'svm_test_dataloader.dataset.data_root': scan_root,
        'svm_train_dataloader.num_workers': 0,
        'svm_test_dataloader.num_workers': 0,
        'work_dir': str(tmp_path),
        'load_from': random_demo_checkpoint,
        'experiment_name': 'scanobjectnn_svm'
    })
    metrics = RUNNERS.build(cfg).test()
    assert set(metrics) == {'svm/accuracy', 'svm/C'}
    assert 0.0 <= metrics['svm/accuracy'] <= 100.0


def test_benchmark_svm_mode_prints_throughput_and_fit_times(
        capsys, monkeypatch):
    monkeypatch.syspath_prepend(osp.join(REPO, 'tools'))
    from benchmark import main as benchmark
    benchmark([
        'svm', '--config',
        osp.join(REPO, 'configs', 'i2pmae_pretrain_synthetic.py'),
        '--num-train', '48', '--num-test', '16', '--num-classes', '4',
        '--batch-size', '4', '--extract-limit', '8', '--device', 'cpu'
    ])
    out = capsys.readouterr().out
    rate = re.search(
        r'feature extraction: 8 clouds in [0-9.]+ s = '
        r'([0-9.]+) samples/s \(192-d features\)', out)
    assert rate and float(rate.group(1)) > 0, out
    assert 'the 8 extracted, copied with noise to 64' in out
    fits = re.findall(r'fit +([0-9.]+) s +score +([0-9.]+) s +C=([0-9.e-]+)',
                      out)
    assert len(fits) == 2 and float(fits[1][2]) == 0.01, out


def test_tools_test_scores_a_converted_official_checkpoint(
        synthetic_root, parity_fixture, tmp_path):
    """An official pretraining checkpoint, converted, through tools/test.py.

    The parity fixture's official model has the demo encoder's sizes.
    """
    official = tmp_path / 'official.pth'
    torch.save(
        dict(base_model=parity_fixture['official_state_dict']), official)
    converted = tmp_path / 'converted.pth'
    converter = 'tools/model_converters/i2pmae_official_to_mm.py'
    subprocess.run([sys.executable, converter,
                    str(official),
                    str(converted)],
                   cwd=REPO,
                   check=True,
                   capture_output=True)
    out = _tools_test(converted, tmp_path / 'work', synthetic_root)
    accuracy = re.findall(r'svm/accuracy: (\d+\.\d\d)', out)
    assert len(accuracy) == 1, out[-3000:]
    assert 0.0 <= float(accuracy[0]) <= 100.0

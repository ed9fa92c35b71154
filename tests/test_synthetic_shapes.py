"""Synthetic shapes: layouts, determinism, difficulty, CLI and configs."""
import glob
import io
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from conftest import TINY_SYNTHETIC
from mmdet3d.registry import DATASETS
from mmengine.config import Config

import projects.I2PMAE.i2pmae  # noqa: F401  (registers the components)
from projects.I2PMAE.i2pmae.datasets import SHAPENETPART_SEG_CLASSES
from projects.I2PMAE.i2pmae.synthetic import (CLASSIFICATION_RECIPES,
                                              PART_RECIPES, SYNTHETIC_CLASSES,
                                              SYNTHETIC_LAYOUT, generate_shape,
                                              generate_synthetic_datasets)
from projects.I2PMAE.i2pmae.utils.progress import ProgressReporter

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets')
CLI = [sys.executable, 'tools/dataset_converters/make_synthetic_shapes.py']


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synthetic'))
    folders = generate_synthetic_datasets(root, seed=3, **TINY_SYNTHETIC)
    assert set(folders) == set(SYNTHETIC_LAYOUT)
    return root


def test_at_least_twelve_classes_and_part_categories():
    assert len(SYNTHETIC_CLASSES) >= 12
    assert list(PART_RECIPES) == list(SHAPENETPART_SEG_CLASSES)
    rng = np.random.default_rng(0)
    for name, recipe in PART_RECIPES.items():
        labels = set()
        for _ in range(8):
            _, _, lab = generate_shape(recipe, 1024, rng)
            labels |= set(lab.tolist())
        # every part of the category occurs, and nothing else
        assert labels == set(range(len(SHAPENETPART_SEG_CLASSES[name]))), \
            name


def test_shapes_are_normalised_with_unit_normals():
    for recipe in CLASSIFICATION_RECIPES.values():
        pts, nrm, _ = generate_shape(recipe, 300, np.random.default_rng(1))
        assert pts.shape == nrm.shape == (300, 3)
        assert pts.dtype == np.float32 and np.isfinite(pts).all()
        assert np.allclose(np.linalg.norm(nrm, axis=1), 1, atol=1e-4)
        assert 0.9 < np.linalg.norm(pts, axis=1).max() < 1.2


#: layout key -> the dataset type that reads it
DATASET_TYPES = {
    'shapenet55': 'ShapeNet55Dataset',
    'modelnet_resampled': 'ModelNet40Dataset',
    'modelnet_h5': 'ModelNet40H5Dataset',
    'scanobjectnn': 'ScanObjectNNDataset',
    'fewshot': 'ModelNet40FewShotDataset',
    'shapenetpart': 'ShapeNetPartDataset',
}


def run_cli(out, args, **kwargs):
    """Run the command line from the repository root (args: one string)."""
    return subprocess.run(
        CLI + ['--out', str(out)] + args.split(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        **kwargs)


def test_layouts_are_readable(synthetic_root):
    n_cls = len(SYNTHETIC_CLASSES)

    def build(layout, **kwargs):
        root = osp.join(synthetic_root, SYNTHETIC_LAYOUT[layout])
        return DATASETS.build(
            dict(type=DATASET_TYPES[layout], data_root=root, **kwargs))

    train = build('shapenet55', split='train')
    assert len(train) == 2 * n_cls
    assert np.load(train.get_data_info(0)['points_path']).shape == (512, 3)
    mn = build(
        'modelnet_resampled', split='test', cache_points=64, use_normals=True)
    assert len(mn) == n_cls and mn.metainfo['classes'] == SYNTHETIC_CLASSES
    assert mn[0]['points'].shape == (64, 6)
    h5 = build('modelnet_h5', split='train')
    assert len(h5) == 2 * n_cls
    assert len(glob.glob(osp.join(h5.data_root, 'ply_data_train*.h5'))) == 2
    assert sorted(h5.get_data_info(i)['gt_label']
                  for i in range(len(h5))) == sorted(list(range(n_cls)) * 2)
    for variant in ('obj_bg', 'obj_only', 'pb_t50_rs'):
        scan = build('scanobjectnn', variant=variant, split='test')
        assert len(scan) == 15 and scan[0]['points'].shape == (256, 3)
    with h5py.File(
            osp.join(synthetic_root, 'ScanObjectNN', 'main_split',
                     'training_objectdataset.h5'), 'r') as f:
        mask = f['mask'][()]
        assert 0 < mask.mean() < 1  # object and background points
    for way, shot in ((5, 10), (5, 20), (10, 10), (10, 20)):
        fs = build('fewshot', way=way, shot=shot, split='train')
        assert len(fs) == way * shot
        test = build(
            'fewshot', way=way, shot=shot, split='test', use_normals=True)
        assert len(test) == way * 2 and test[0]['points'].shape == (128, 6)
    part = build('shapenetpart', split='trainval')
    assert len(part) == 16 * 3
    for i in range(0, len(part), 3):
        item = part[i]
        parts = SHAPENETPART_SEG_CLASSES[item['category']]
        assert set(item['pts_semantic_mask'].tolist()) <= set(parts)


def test_generation_is_deterministic(tmp_path):
    kwargs = dict(
        TINY_SYNTHETIC, layouts=['shapenet55', 'modelnet_h5', 'fewshot'])
    a, b, c = (str(tmp_path / n) for n in 'abc')
    for root, seed in ((a, 5), (b, 5), (c, 6)):
        generate_synthetic_datasets(root, seed=seed, **kwargs)
    files = sorted(
        osp.relpath(p, a)
        for p in glob.glob(osp.join(a, '**', '*.*'), recursive=True))
    assert len(files) > 50
    for rel in files:
        with open(osp.join(a, rel), 'rb') as fa, \
                open(osp.join(b, rel), 'rb') as fb:
            if not rel.endswith('.h5'):  # HDF5: compare the arrays below
                assert fa.read() == fb.read(), rel
    h5 = osp.join('modelnet40_ply_hdf5_2048', 'ply_data_test0.h5')
    with h5py.File(osp.join(a, h5), 'r') as fa, \
            h5py.File(osp.join(b, h5), 'r') as fb:
        for key in ('data', 'label'):
            assert np.array_equal(fa[key][()], fb[key][()])
    with open(osp.join(a, 'ShapeNet55-34', 'ShapeNet-55', 'train.txt')) as f:
        name = f.readline().strip()
    cloud_a, cloud_c = (
        np.load(osp.join(root, 'ShapeNet55-34', 'shapenet_pc', name))
        for root in (a, c))
    assert not np.allclose(cloud_a, cloud_c)


def random_pointnet_features(clouds, seed=0):
    """Max- and mean-pooled features of a random two-layer point MLP."""
    rng = np.random.default_rng(seed)
    w1, b1 = rng.normal(size=(3, 64)) / np.sqrt(3), rng.normal(size=64) * .1
    w2, b2 = rng.normal(size=(64, 256)) / 8, rng.normal(size=256) * .1
    h = np.maximum(np.maximum(clouds @ w1 + b1, 0) @ w2 + b2, 0)
    return np.concatenate([h.max(1), h.mean(1)], axis=1)


def test_classes_are_not_trivially_separable():
    """A random encoder + nearest class mean: far above chance, not perfect."""
    recipes = list(CLASSIFICATION_RECIPES.values())
    clouds = [
        generate_shape(recipe, 512, np.random.default_rng([0, cls, i]))[0]
        for cls, recipe in enumerate(recipes) for i in range(12)
    ]
    labels = np.repeat(np.arange(len(recipes)), 12)
    feats = random_pointnet_features(np.stack(clouds))
    train = np.arange(len(labels)) % 12 < 8
    mean, std = feats[train].mean(0), feats[train].std(0) + 1e-6
    feats = (feats - mean) / std
    centres = np.stack(
        [feats[train & (labels == c)].mean(0) for c in range(len(recipes))])
    dist = ((feats[~train, None] - centres[None])**2).sum(-1)
    accuracy = (dist.argmin(1) == labels[~train]).mean()
    chance = 1 / len(recipes)
    assert 3 * chance < accuracy < 0.95


def test_cli_runs_from_repo_root(tmp_path):
    out = str(tmp_path / 'synthetic')
    proc = run_cli(
        out, '--seed 1 --per-class 1 --points 64 '
        '--layouts modelnet_resampled shapenetpart',
        env=dict(os.environ, PYTHONPATH=''))
    assert proc.returncode == 0, proc.stderr
    assert 'done in' in proc.stdout
    resampled = osp.join(out, SYNTHETIC_LAYOUT['modelnet_resampled'])
    rows = np.loadtxt(
        osp.join(resampled, 'sphere', 'sphere_0001.txt'), delimiter=',')
    assert rows.shape == (64, 6)
    assert not osp.exists(osp.join(out, 'ShapeNet55-34'))


@pytest.mark.parametrize('prefix', ['', 'synthetic_'])
@pytest.mark.parametrize('name', [
    'shapenet55', 'modelnet40', 'modelnet40_svm', 'scanobjectnn_objbg',
    'scanobjectnn_objonly', 'scanobjectnn_pbt50rs', 'modelnet40_fewshot',
    'shapenetpart'
])
def test_dataset_configs(synthetic_root, name, prefix):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, prefix + name + '.py'))
    keys = (('svm_train_dataloader',
             'svm_test_dataloader') if name.endswith('svm') else
            ('train_dataloader', 'val_dataloader', 'test_dataloader'))
    for key in keys:
        loader = cfg[key]
        assert loader['collate_fn']['type'] == 'default_collate'
        assert loader['sampler']['type'] == 'SeededSampler'
        assert loader['sampler']['shuffle'] == (key == 'train_dataloader')
        dataset = loader['dataset'].to_dict()
        if not prefix:
            assert dataset['data_root'].startswith('data/')
            continue
        assert dataset['data_root'].startswith('data/synthetic/')
        dataset['data_root'] = osp.join(
            synthetic_root, osp.relpath(dataset['data_root'],
                                        'data/synthetic'))
        if 'cache_points' in dataset:
            dataset['cache_points'] = 64  # keep the FPS cache small
        out = DATASETS.build(dataset)[0]
        points = out['inputs']['points']
        assert points.dim() == 2 and points.shape[1] == 3
        assert out['data_samples'].gt_label.numel() == 1
        if name == 'shapenetpart':
            mask = out['data_samples'].gt_pts_seg.pts_semantic_mask
            assert mask.shape == points.shape[:1]


def report_1000_steps(file):
    progress = ProgressReporter(1000, task='shapes', file=file)
    for _ in range(1000):
        progress.update()
    progress.finish()
    return file.getvalue()


def test_progress_is_a_bar_on_a_terminal_and_few_lines_otherwise():
    log = report_1000_steps(io.StringIO())
    lines = log.splitlines()
    assert '\r' not in log
    assert len(lines) == 10
    assert lines[0].startswith('shapes: 100/1000 (10%)')
    assert lines[-1].startswith('shapes: 1000/1000 (100%)')
    terminal = io.StringIO()
    terminal.isatty = lambda: True  # a stream that says it is a terminal
    terminal = report_1000_steps(terminal)
    assert terminal.count('\r') == 1000  # mmengine's live bar
    assert terminal.endswith('\n')
    with pytest.raises(ValueError, match='total'):
        ProgressReporter(0)


def test_cli_output_to_a_pipe_is_a_few_lines(tmp_path):
    proc = run_cli(
        tmp_path, '--per-class 2 --points 64 --shapenet-points 64 '
        '--fewshot-points 64 --layouts shapenet55 modelnet_resampled fewshot')
    assert proc.returncode == 0, proc.stderr
    assert '\r' not in proc.stdout
    lines = proc.stdout.splitlines()
    progress = [ln for ln in lines if ln.startswith('synthetic shapes:')]
    assert 1 <= len(progress) <= 10
    assert '(100%)' in progress[-1]
    # progress, one line per layout, the time
    assert len(lines) == len(progress) + 3 + 1


def test_failed_write_leaves_no_file_under_the_final_name(
        tmp_path, monkeypatch):
    """An h5 file whose second dataset fails is not left behind."""
    real_create = h5py.Group.create_dataset
    calls = []

    def fail_on_second_dataset(self, name, *args, **kwargs):
        calls.append(name)
        if len(calls) == 2:
            raise OSError('disk full (simulated)')
        return real_create(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, 'create_dataset', fail_on_second_dataset)
    with pytest.raises(OSError, match='simulated'):
        generate_synthetic_datasets(
            str(tmp_path), layouts=['modelnet_h5'], **TINY_SYNTHETIC)
    assert calls == ['data', 'normal']
    folder = tmp_path / 'modelnet40_ply_hdf5_2048'
    assert os.listdir(folder) == []  # no h5, no temporary file


def test_interrupted_cli_leaves_only_complete_files(tmp_path):
    """SIGTERM mid-run: the files present are whole, temporaries are gone."""
    out = tmp_path / 'synthetic'
    args = '--per-class 40 --points 4096 --layouts modelnet_resampled'
    proc = subprocess.Popen(
        CLI + ['--out', str(out)] + args.split(),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True)
    folder = out / 'ModelNet' / 'modelnet40_normal_resampled'
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(glob.glob(str(folder / '*' / '*.txt'))) >= 3:
            break
        time.sleep(0.01)
    assert proc.poll() is None, 'the run ended before it could be stopped'
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    written = glob.glob(str(folder / '*' / '*.txt'))
    assert len(written) >= 3
    for path in written:
        assert np.loadtxt(path, delimiter=',').shape == (4096, 6), path
    names = [name for _, _, files in os.walk(out) for name in files]
    assert [name for name in names if name.endswith('.tmp')] == []

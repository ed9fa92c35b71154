"""FPS sampling and augmentation of a batch in the data preprocessor.

``PointCloudBatchFPSSample`` and ``PointCloudBatchScaleAndTranslate`` are the
per-sample ``PointCloudFPSSample`` / ``PointCloudScaleAndTranslate`` run on a
whole batch on the model's device (the official fine-tuning does both on the
GPU); the ModelNet40 configs use them, and
``_base_/datasets/modelnet40_sample_in_workers.py`` keeps the per-sample
path.
"""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet3d.registry import DATASETS, MODELS, TRANSFORMS
from mmengine.config import Config
from mmengine.runner import Runner

from projects.I2PMAE.i2pmae.models import (PointCloudBatchFPSSample,
                                           PointCloudBatchScaleAndTranslate,
                                           PointCloudDataPreprocessor)
from projects.I2PMAE.i2pmae.ops import furthest_point_sample
from projects.I2PMAE.i2pmae.synthetic import SYNTHETIC_LAYOUT

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '*.py')))
#: the configs that sample ModelNet40 clouds in the data preprocessor
DEVICE_SAMPLING = [
    'i2pmae_finetune_modelnet40.py',
    'i2pmae_finetune_modelnet40_official_protocol.py',
    'i2pmae_finetune_synthetic_modelnet40.py', 'i2pmae_fewshot_modelnet40.py',
    'i2pmae_fewshot_synthetic_modelnet40.py'
]


def clouds(batch=4, num=200, channels=3, seed=0):
    """Random ``[batch, num, channels]`` float32 clouds."""
    rng = np.random.default_rng(seed)
    return torch.from_numpy(
        rng.normal(size=(batch, num, channels)).astype(np.float32))


def preprocessor(augment=True, **sampler):
    """A preprocessor keeping every channel, with the batched FPS (and the
    scale-and-translate augment)."""
    return PointCloudDataPreprocessor(
        point_sampler=dict(type='PointCloudBatchFPSSample', **sampler),
        batch_augments=[dict(
            type='PointCloudBatchScaleAndTranslate')] if augment else None)


def run(model, points, training):
    return model(dict(inputs=dict(points=points)),
                 training)['inputs']['points']


def rows_of(points, source):
    """Row index in ``source`` of every row of ``points`` (all must be in)."""
    matches = (points[:, None, :] == source[None, :, :]).all(-1)
    assert matches.any(1).all(), 'a sampled point is not an input point'
    return matches.float().argmax(1).tolist()


def test_training_keeps_a_random_subset_of_the_fps_candidates():
    points = clouds()
    model = preprocessor(augment=False, num_points=64, num_candidates=80)
    torch.manual_seed(0)
    out = run(model, points, training=True)
    assert out.shape == (4, 64, 3)
    candidates = furthest_point_sample(points, 80)
    for cloud, source, fps in zip(out, points, candidates):
        rows = rows_of(cloud, source)
        assert len(set(rows)) == 64
        assert set(rows) <= set(fps.tolist())
    # seeded by torch's global generator
    torch.manual_seed(0)
    assert torch.equal(run(model, points, training=True), out)
    torch.manual_seed(1)
    assert not torch.equal(run(model, points, training=True), out)
    # a subset per cloud: equal clouds get different subsets
    same = points[:1].expand(4, -1, -1).contiguous()
    subsets = [sorted(rows_of(c, same[0])) for c in run(model, same, True)]
    assert len({tuple(s) for s in subsets}) > 1
    # fewer points than candidates: FPS orders them all, then the subset
    out = run(model, points[:, :70], training=True)
    assert out.shape == (4, 64, 3)
    for cloud, source in zip(out, points[:, :70]):
        assert len(set(rows_of(cloud, source))) == 64


def test_test_mode_is_the_per_sample_fps_without_augmentation():
    points = clouds()
    for test_num_points in (None, 70):
        model = preprocessor(
            num_points=64, num_candidates=80, test_num_points=test_num_points)
        kept = test_num_points or 64
        transform = TRANSFORMS.build(
            dict(type='PointCloudFPSSample', num_points=kept))
        out = run(model, points, training=False)
        assert torch.equal(run(model, points, training=False), out)
        for cloud, source in zip(out, points):
            expected = transform(dict(points=source.numpy()))['points']
            assert np.array_equal(cloud.numpy(), expected)
    # FPS order: the first 64 of the 70 test points are the 64 FPS points
    assert torch.equal(out[:, :64],
                       run(preprocessor(num_points=64), points, False))


def test_the_augment_follows_the_sampling_and_keeps_the_normals():
    points = clouds(channels=6)
    model = preprocessor(num_points=64, num_candidates=80)
    torch.manual_seed(5)
    out = run(model, points, training=True)
    torch.manual_seed(5)
    sampled = model.point_sampler(points, True)
    assert torch.equal(out, model.batch_augments[0](sampled))
    assert not torch.equal(out[..., :3], sampled[..., :3])
    # the sampled rows carry their normals, which the augment leaves alone
    for cloud, source in zip(out, points):
        rows_of(cloud[:, 3:], source[:, 3:])
    assert torch.equal(out[..., 3:], sampled[..., 3:])


def _draws(augment, num=4000):
    """Scale and shift of ``num`` draws, read off the points 0 and 1."""
    unit = np.array([[0., 0., 0.], [1., 1., 1.]], np.float32)
    out = augment(unit, num)
    return out[:, 1] - out[:, 0], out[:, 0]


def _batched(**kwargs):
    augment = PointCloudBatchScaleAndTranslate(**kwargs)
    torch.manual_seed(0)
    return _draws(lambda unit, num: augment(
        torch.from_numpy(unit)[None].repeat(num, 1, 1)).numpy())


def _per_sample(**kwargs):
    transform = TRANSFORMS.build(
        dict(type='PointCloudScaleAndTranslate', **kwargs))
    np.random.seed(0)
    return _draws(lambda unit, num: np.stack(
        [transform(dict(points=unit.copy()))['points'] for _ in range(num)]))


@pytest.mark.parametrize(
    'kwargs, low, high, shift', [
        ({}, 2 / 3, 3 / 2, 0.2),
        (dict(
            scale_low=0.8,
            scale_high=1.25,
            translate_range=0.1,
            isotropic=True), 0.8, 1.25, 0.1),
    ],
    ids=['classification', 'isotropic'])
def test_augment_distribution_matches_the_transform(kwargs, low, high, shift):
    batched, per_sample = _batched(**kwargs), _per_sample(**kwargs)
    for (scale, offset) in (batched, per_sample):
        assert scale.min() >= low - 1e-6 and scale.max() <= high + 1e-6
        assert np.abs(offset).max() <= shift + 1e-6
        # uniform: mean and spread of U(low, high) and U(-shift, shift)
        assert np.allclose(scale.mean(0), (low + high) / 2, atol=0.015)
        assert np.allclose(
            scale.std(0), (high - low) / 12**0.5, rtol=0.05, atol=0)
        assert np.allclose(offset.mean(0), 0, atol=0.01)
        assert np.allclose(offset.std(0), 2 * shift / 12**0.5, rtol=0.05)
        axes_equal = np.allclose(scale, scale[:, :1], atol=1e-6)
        assert axes_equal == kwargs.get('isotropic', False)
    quantiles = [0.1, 0.5, 0.9]
    for a, b in zip(batched, per_sample):
        assert np.allclose(
            np.quantile(a, quantiles, axis=0),
            np.quantile(b, quantiles, axis=0),
            atol=0.03)


@pytest.mark.parametrize(
    'build, message', [
        (lambda: PointCloudBatchFPSSample(64, num_candidates=32),
         r'num_candidates \(32\) must be >= num_points \(64\)'),
        (lambda: PointCloudBatchFPSSample(0), 'num_points must be a positive'),
        (lambda: PointCloudBatchFPSSample(64, test_num_points=0),
         'test_num_points must be a positive int, got 0'),
        (lambda: PointCloudBatchScaleAndTranslate(scale_low=2, scale_high=1),
         'need 0 < scale_low <= scale_high'),
        (lambda: MODELS.build(
            dict(
                type='PointCloudDataPreprocessor',
                point_sampler=dict(
                    type='PointCloudBatchFPSSample',
                    num_points=1024,
                    num_candidates=1000))),
         r'num_candidates \(1000\) must be >= num_points \(1024\)'),
    ],
    ids=['candidates', 'points', 'test-points', 'scale', 'config'])
def test_bad_settings_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    'training, message',
    [(True, 'the clouds have 50 points, fewer than num_points=64'),
     (False, 'the clouds have 50 points, fewer than test_num_points=70')])
def test_too_small_clouds_are_named(training, message):
    model = preprocessor(num_points=64, num_candidates=80, test_num_points=70)
    with pytest.raises(ValueError, match=message):
        run(model, clouds(num=50), training)


# ------------------------------------------------------------ the configs
def _loaders_text(cfg):
    return ' '.join(
        str(cfg[key])
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader')
        if key in cfg)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_configs_sample_in_one_place(path):
    cfg = Config.fromfile(path)
    preprocessor_cfg = cfg.get('data_preprocessor')
    if preprocessor_cfg is not None:
        # the Runner merges data_preprocessor only into a model without one
        assert 'data_preprocessor' not in cfg.model
    else:
        preprocessor_cfg = cfg.model.get('data_preprocessor') or {}
    on_device = preprocessor_cfg.get('point_sampler') is not None
    assert on_device == (osp.basename(path) in DEVICE_SAMPLING)
    if on_device:
        assert 'PointCloudFPSSample' not in _loaders_text(cfg)
        assert 'PointCloudScaleAndTranslate' not in _loaders_text(cfg)


def _dataset_configs(data_root):
    """The synthetic ModelNet40 dataset config on the device path and on the
    per-sample path, sampling 128 of 160 candidates (test: 128)."""
    device = Config.fromfile(
        osp.join(REPO, 'configs/_base_/datasets/synthetic_modelnet40.py'))
    device.data_preprocessor.point_sampler.update(
        num_points=128, num_candidates=160)
    workers = Config.fromfile(
        osp.join(REPO,
                 'configs/_base_/datasets/modelnet40_sample_in_workers.py'))
    workers.train_dataloader.dataset.pipeline[2].update(
        num_points=128, num_candidates=160)
    workers.test_dataloader.dataset.pipeline[1].num_points = 128
    for cfg in (device, workers):
        for key in ('train_dataloader', 'test_dataloader'):
            cfg[key].dataset.update(data_root=data_root, cache_points=256)
    return device, workers


@pytest.fixture(scope='module')
def modelnet40_root(synthetic_data):
    root = synthetic_data(['modelnet_resampled'],
                          per_class=1,
                          test_per_class=1,
                          num_points=256)
    return osp.join(root, SYNTHETIC_LAYOUT['modelnet_resampled'])


def test_device_and_worker_paths_test_the_same_clouds(modelnet40_root):
    device, workers = _dataset_configs(modelnet40_root)
    model = MODELS.build(device.data_preprocessor)
    assert 'PointCloudFPSSample' not in str(device.train_dataloader)
    assert workers.data_preprocessor == dict(
        type='PointCloudDataPreprocessor', num_channels=3)
    loaded = {}
    for name, cfg in (('device', device), ('workers', workers)):
        for split in ('train', 'test'):
            dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
            loaded[name, split] = torch.stack(
                [dataset[i]['inputs']['points'] for i in range(4)])
    assert loaded['device', 'train'].shape == (4, 256, 3)
    assert loaded['workers', 'train'].shape == (4, 128, 3)
    assert run(model, loaded['device', 'train'], True).shape == (4, 128, 3)
    # testing: the same deterministic FPS to 128 points on both paths
    assert torch.equal(
        run(model, loaded['device', 'test'], False), loaded['workers', 'test'])


def test_tiny_finetuning_run_samples_on_the_device(modelnet40_root, tmp_path):
    """The synthetic ModelNet40 fine-tuning config through the Runner: the
    model gets 128 of 160 FPS points in training, 128 FPS points in the
    final test and in the BatchNorm recomputation."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'i2pmae_finetune_synthetic_modelnet40.py'))
    cfg.work_dir = str(tmp_path)
    cfg.model.tokenizer.update(num_groups=[32, 16, 8], group_sizes=[8, 4, 4])
    cfg.model.backbone.update(
        embed_dims=[16, 32, 64], depths=[1, 1, 1], num_heads=2)
    cfg.model.head.in_channels = 64
    cfg.data_preprocessor.point_sampler.update(
        num_points=128, num_candidates=160)
    cfg.train_cfg.max_epochs = 1
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].update(num_workers=0, persistent_workers=False)
        cfg[name].dataset.update(data_root=modelnet40_root, cache_points=256)
    cfg.default_hooks.checkpoint = dict(
        type='AtomicCheckpointHook', interval=100)
    runner = Runner.from_cfg(cfg)
    assert isinstance(runner.model.data_preprocessor.point_sampler,
                      PointCloudBatchFPSSample)
    shapes = []
    runner.model.tokenizer.register_forward_pre_hook(
        lambda module, args, kwargs: shapes.append(
            (module.training, tuple(args[0].shape))),
        with_kwargs=True)
    runner.train()
    batch = cfg.train_dataloader.batch_size
    assert (True, (batch, 128, 3)) in shapes
    assert {shape[1:] for _, shape in shapes} == {(128, 3)}
    assert any(not training for training, _ in shapes)
    assert 'val/accuracy/top1' in runner.message_hub.log_scalars

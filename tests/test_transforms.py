"""Point-cloud transforms, the pack contract and seeded determinism."""
import numpy as np
import pytest
import torch
from mmdet3d.registry import TRANSFORMS
from mmengine.dataset import default_collate
from mmengine.runner import set_random_seed

import projects.I2PMAE.i2pmae  # noqa: F401  (registers the components)
from projects.I2PMAE.i2pmae.datasets import point_sampling
from projects.I2PMAE.i2pmae.ops import furthest_point_sample

build = TRANSFORMS.build


def sample(n=64, cols=3, seed=0, with_mask=True):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(n, cols)).astype(np.float32)
    if cols == 6:
        points[:, 3:] /= np.linalg.norm(points[:, 3:], axis=1, keepdims=True)
    results = dict(points=points, gt_label=3, sample_idx=7, num_points=n)
    if with_mask:
        results['pts_semantic_mask'] = np.arange(n, dtype=np.int64)
    return results


@pytest.fixture
def warnings_log(monkeypatch):
    messages = []
    monkeypatch.setattr(point_sampling, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    return messages


def rows_of(points, source):
    """Row index in ``source`` of every row of ``points``."""
    return [int(np.flatnonzero((source == p).all(axis=1))[0]) for p in points]


def test_random_sample_subsets_points_and_mask(warnings_log):
    data = sample()
    src = data['points'].copy()
    out = build(dict(type='PointCloudRandomSample', num_points=20))(data)
    rows = rows_of(out['points'], src)
    assert len(set(rows)) == 20
    assert out['pts_semantic_mask'].tolist() == rows
    shuffled = build(dict(type='PointCloudRandomSample'))(sample())
    assert sorted(rows_of(shuffled['points'], src)) == list(range(64))
    replaced = build(
        dict(type='PointCloudRandomSample', num_points=200, replace=True))(
            sample())
    assert replaced['points'].shape == (200, 3)
    assert not warnings_log


def test_samplers_warn_once_for_small_clouds(warnings_log):
    for cfg in (dict(type='PointCloudRandomSample', num_points=100),
                dict(type='PointCloudFPSSample', num_points=100)):
        transform = build(cfg)
        warnings_log.clear()
        for seed in range(3):
            data = sample(seed=seed)
            src = data['points'].copy()
            out = transform(data)
            assert out['points'].shape == (100, 3)
            # every original point is kept, the rest are repeats
            assert set(rows_of(out['points'], src)) == set(range(64))
            assert out['pts_semantic_mask'].shape == (100, )
        assert len(warnings_log) == 1 and 'fewer than the 100' in \
            warnings_log[0]


def test_fps_sample_matches_ops():
    data = sample()
    src = data['points'].copy()
    out = build(dict(type='PointCloudFPSSample', num_points=16))(data)
    expected = furthest_point_sample(torch.from_numpy(src)[None], 16)[0]
    assert np.array_equal(out['points'], src[expected.numpy()])
    assert out['pts_semantic_mask'].tolist() == expected.tolist()
    cand = build(
        dict(type='PointCloudFPSSample', num_points=16, num_candidates=24))(
            sample())
    candidates = set(
        furthest_point_sample(torch.from_numpy(src)[None], 24)[0].tolist())
    rows = rows_of(cand['points'], src)
    assert len(set(rows)) == 16 and set(rows) <= candidates
    with pytest.raises(ValueError, match='num_candidates'):
        build(
            dict(type='PointCloudFPSSample', num_points=16, num_candidates=8))
    with pytest.raises(ValueError, match='num_points must be a positive'):
        build(dict(type='PointCloudFPSSample', num_points=0))


def test_normalize_to_unit_sphere():
    data = sample(cols=6)
    data['points'][:, :3] = data['points'][:, :3] * 5 + 3
    normals = data['points'][:, 3:].copy()
    normalize = build(dict(type='PointCloudNormalize'))
    out = normalize(data)
    xyz = out['points'][:, :3]
    assert np.allclose(xyz.mean(axis=0), 0, atol=1e-5)
    assert np.isclose(np.linalg.norm(xyz, axis=1).max(), 1, atol=1e-6)
    assert np.array_equal(out['points'][:, 3:], normals)
    flat = normalize(dict(points=np.ones((5, 3), np.float32)))
    assert np.array_equal(flat['points'], np.zeros((5, 3)))


def test_scale_and_translate_ranges():
    transform = build(dict(type='PointCloudScaleAndTranslate'))
    for seed in range(20):
        data = sample(cols=6, seed=seed)
        src = data['points'].copy()
        out = transform(data)['points']
        # xyz = src * s + t: fit s and t per axis
        s, t = np.array(
            [np.polyfit(src[:, a], out[:, a], 1) for a in range(3)]).T
        assert np.allclose(out[:, :3], src[:, :3] * s + t, atol=1e-5)
        assert np.all(s > 2 / 3 - 1e-5) and np.all(s < 1.5 + 1e-5)
        assert np.all(np.abs(t) <= 0.2 + 1e-5)
        assert np.array_equal(out[:, 3:], src[:, 3:])
    iso = build(
        dict(
            type='PointCloudScaleAndTranslate',
            scale_low=0.8,
            scale_high=1.25,
            translate_range=0.0,
            isotropic=True))
    data = sample()
    src = data['points'].copy()
    out = iso(data)['points']
    ratio = out / src
    assert np.allclose(ratio, ratio[0, 0], atol=1e-5)
    with pytest.raises(ValueError, match='scale_low'):
        build(dict(type='PointCloudScaleAndTranslate', scale_low=2.0))


def test_random_rotate_about_up_axis():
    transform = build(dict(type='PointCloudRandomRotate', axis='y'))
    data = sample(cols=6)
    src = data['points'].copy()
    out = transform(data)['points']
    assert np.allclose(out[:, 1], src[:, 1])
    assert np.allclose(
        np.linalg.norm(out[:, :3], axis=1),
        np.linalg.norm(src[:, :3], axis=1),
        atol=1e-5)
    # normals rotate with the points: angles between points and normals
    assert np.allclose(
        (out[:, :3] * out[:, 3:]).sum(1), (src[:, :3] * src[:, 3:]).sum(1),
        atol=1e-5)
    rot = transform.rotation_matrix(np.pi / 2)
    assert np.allclose(rot @ np.array([0, 0, 1]), [1, 0, 0], atol=1e-6)
    assert np.isclose(np.linalg.det(rot), 1)
    still = build(dict(type='PointCloudRandomRotate', axis=2, angle_range=0.0))
    data = sample()
    src = data['points'].copy()
    assert np.allclose(still(data)['points'], src)
    with pytest.raises(ValueError, match='axis'):
        build(dict(type='PointCloudRandomRotate', axis='w'))


def test_jitter_is_clipped():
    data = sample(n=2000, cols=6)
    src = data['points'].copy()
    out = build(dict(type='PointCloudJitter', std=0.05, clip=0.02))(data)
    diff = out['points'][:, :3] - src[:, :3]
    assert np.abs(diff).max() <= 0.02 + 1e-6 and np.abs(diff).max() > 0.015
    assert np.array_equal(out['points'][:, 3:], src[:, 3:])


def test_pack_contract():
    pack = build(dict(type='PackPointCloudInputs'))
    data = sample(n=10)
    data.update(category_id=4, taxonomy_id='02691156', ignored_key=1)
    packed = pack(data)
    assert set(packed) == {'inputs', 'data_samples'}
    points = packed['inputs']['points']
    assert points.dtype == torch.float32 and points.shape == (10, 3)
    ds = packed['data_samples']
    assert ds.gt_label.dtype == torch.long and ds.gt_label.tolist() == [3]
    mask = ds.gt_pts_seg.pts_semantic_mask
    assert mask.dtype == torch.long and mask.tolist() == list(range(10))
    assert ds.metainfo['category_id'] == 4
    assert ds.metainfo['sample_idx'] == 7
    assert ds.metainfo['taxonomy_id'] == '02691156'
    assert 'ignored_key' not in ds.metainfo
    # the classifier API of mmpretrain data samples is available
    ds.set_pred_score(torch.tensor([0.2, 0.8])).set_pred_label(1)
    unlabeled = pack(dict(points=np.zeros((4, 6), np.float32)))
    assert 'gt_label' not in unlabeled['data_samples']
    assert unlabeled['inputs']['points'].shape == (4, 6)
    # batching with mmengine's default_collate stacks the points
    batch = default_collate([packed, pack(sample(n=10, seed=1))])
    assert batch['inputs']['points'].shape == (2, 10, 3)
    assert len(batch['data_samples']) == 2
    with pytest.raises(ValueError, match=r'\[N, 3\] or \[N, 6\]'):
        pack(dict(points=np.zeros((4, 4), np.float32)))
    with pytest.raises(ValueError, match='one label per point'):
        pack(
            dict(
                points=np.zeros((4, 3), np.float32),
                pts_semantic_mask=np.zeros(3)))


def run_pipeline(seed):
    set_random_seed(seed)
    cfgs = [
        dict(type='PointCloudRandomSample'),
        dict(type='PointCloudFPSSample', num_points=24, num_candidates=32),
        dict(type='PointCloudNormalize'),
        dict(type='PointCloudScaleAndTranslate'),
        dict(type='PointCloudRandomRotate'),
        dict(type='PointCloudJitter'),
        dict(type='PackPointCloudInputs'),
    ]
    transforms = [build(c) for c in cfgs]
    outputs = []
    for i in range(3):
        data = sample(seed=i)
        for t in transforms:
            data = t(data)
        outputs.append(data['inputs']['points'])
    return torch.stack(outputs)


def test_pipeline_is_deterministic_under_seed():
    first, second = run_pipeline(123), run_pipeline(123)
    assert torch.equal(first, second)
    assert not torch.equal(first, run_pipeline(124))

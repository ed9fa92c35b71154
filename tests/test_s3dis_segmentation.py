"""S3DIS semantic segmentation with the I2P-MAE encoder (i2pmae_seg_s3dis.py).

A tiny S3DIS dataset is written in tmp_path as mmdet3d's converter writes
it (``s3dis_infos_Area_*.pkl`` of info version 1.1, ``points/*.bin``
float32 ``[N, 6]`` xyz + rgb, ``semantic_mask`` / ``instance_mask/*.bin``
int64, ``seg_info/Area_*_resampled_scene_idxs.npy``), and the config's
mmdet3d dataset, pipelines, SegMetric and EncoderDecoder3D run on it.
"""
import os.path as osp

import mmengine
import numpy as np
import pytest
import torch
from conftest import save_tiny_pretraining_checkpoint
from mmdet3d.registry import DATASETS, MODELS
from mmdet3d.structures import Det3DDataSample, PointData
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.runner import Runner, load_checkpoint

from projects.I2PMAE.i2pmae.engine import StateDictDiff
from projects.I2PMAE.i2pmae.utils.quiet_init import init_weights_quietly

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'i2pmae_seg_s3dis.py')
BASE = 'mmdet3d::pointnet2/pointnet2_ssg_2xb16-cosine-50e_s3dis-seg.py'
AREAS = (1, 2, 3, 4, 5, 6)
#: points per room of the tiny dataset, and per block of the tiny model
ROOM_POINTS = 600
BLOCK_POINTS = 128
ENCODER = dict(embed_dims=[24, 48, 96], depths=[1, 1, 1], num_heads=6)


def _room(seed: int, num: int = ROOM_POINTS):
    """A 1.6 x 1.6 x 1 m room: floor, ceiling, two walls and furniture."""
    rng = np.random.default_rng(seed)
    xyz = rng.random((num, 3)).astype(np.float32) * [1.6, 1.6, 1.0]
    semantic = rng.integers(3, 13, num)  # furniture and clutter
    semantic[xyz[:, 2] < 0.1] = 1  # floor
    semantic[xyz[:, 2] > 0.9] = 0  # ceiling
    semantic[(xyz[:, 0] < 0.1) | (xyz[:, 1] < 0.1)] = 2  # walls
    rgb = rng.integers(0, 256, (num, 3)).astype(np.float32)
    points = np.concatenate([xyz, rgb], axis=1).astype(np.float32)
    instance = semantic * 10 + rng.integers(0, 2, num)
    return points, semantic.astype(np.int64), instance.astype(np.int64)


def write_tiny_s3dis(root, semantic_edit=None, points_edit=None, edit_area=1):
    """One room per area, written as mmdet3d's S3DIS converter writes it.

    Args:
        root (Path): the data root.
        semantic_edit (callable, optional): edits the labels of
            ``edit_area``.
        points_edit (callable, optional): edits the points of
            ``edit_area``.
        edit_area (int): the area edited.

    Returns:
        str: the data root.
    """
    for sub in ('points', 'semantic_mask', 'instance_mask', 'seg_info'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for area in AREAS:
        name = f'Area_{area}_office_1'
        points, semantic, instance = _room(area)
        if area == edit_area and semantic_edit is not None:
            semantic = semantic_edit(semantic)
        if area == edit_area and points_edit is not None:
            points = points_edit(points)
        points.tofile(root / 'points' / f'{name}.bin')
        semantic.tofile(root / 'semantic_mask' / f'{name}.bin')
        instance.tofile(root / 'instance_mask' / f'{name}.bin')
        info = dict(
            sample_idx=0,
            lidar_points=dict(num_pts_feats=6, lidar_path=f'{name}.bin'),
            pts_semantic_mask_path=f'{name}.bin',
            pts_instance_mask_path=f'{name}.bin',
            instances=[])
        mmengine.dump(
            dict(
                metainfo=dict(
                    categories={
                        k: i
                        for i, k in enumerate(('table', 'chair', 'sofa',
                                               'bookcase', 'board'))
                    },
                    dataset='s3dis',
                    info_version='1.1'),
                data_list=[info]), root / f's3dis_infos_Area_{area}.pkl')
        # the converter resamples scenes by their point counts
        np.save(root / 'seg_info' / f'Area_{area}_resampled_scene_idxs.npy',
                np.zeros(1, dtype=np.int32))
    return str(root)


def _config(data_root: str) -> Config:
    """The config with a tiny model on the tiny data (128-point blocks,
    batch 2, no worker processes)."""
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict({
        'model.backbone.tokenizer.num_groups': [32, 16, 8],
        'model.backbone.tokenizer.group_sizes': [8, 4, 4],
        'model.backbone.embed_dims': ENCODER['embed_dims'],
        'model.backbone.depths': ENCODER['depths'],
        'model.decode_head.in_channels': ENCODER['embed_dims'],
        'model.decode_head.fp_channels': 16,
        'model.decode_head.hidden_channels': [32],
        'model.decode_head.channels': 16,
        'model.test_cfg.num_points': BLOCK_POINTS,
        'model.test_cfg.batch_size': 4,
        'train_dataloader.batch_size': 2,
    })
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
        cfg[loader].dataset.data_root = data_root
    for t in cfg.train_dataloader.dataset.pipeline:
        if t.type == 'IndoorPatchPointSample':
            t.num_points = BLOCK_POINTS
    return cfg


def _unscoped(entry):
    """A config entry as plain data without ``_scope_`` keys."""
    if hasattr(entry, 'to_dict'):
        entry = entry.to_dict()
    if isinstance(entry, dict):
        return {k: _unscoped(v) for k, v in entry.items() if k != '_scope_'}
    if isinstance(entry, (list, tuple)):
        return [_unscoped(v) for v in entry]
    return entry


def test_config_swaps_only_the_model_of_mmdet3d_pointnet2():
    ours, base = Config.fromfile(CONFIG), get_config(BASE)
    for key in ('val_evaluator', 'test_evaluator', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'val_cfg', 'test_cfg',
                'default_hooks'):
        assert _unscoped(ours[key]) == _unscoped(base[key]), key
    # the dataset and the pipelines are mmdet3d's, with one check that
    # changes nothing after LoadAnnotations3D
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        mine, theirs = _unscoped(ours[loader]), _unscoped(base[loader])
        pipeline = mine['dataset'].pop('pipeline')
        assert pipeline[2] == dict(type='CheckPointSegAnnotations')
        del pipeline[2]
        assert pipeline == theirs['dataset'].pop('pipeline')
        assert mine == theirs, loader
    assert ours.model.type == 'EncoderDecoder3D'
    assert _unscoped(ours.model.test_cfg) == _unscoped(base.model.test_cfg)
    assert ours.model.test_cfg.mode == 'slide'
    assert ours.model.backbone.in_channels == 9  # xyz, rgb, normalised xyz
    assert ours.model.decode_head.num_classes == 13
    assert ours.model.decode_head.ignore_index == 13


def test_train_and_val_iteration_through_the_runner(tmp_path):
    """One training iteration on patches of the tiny rooms, then one
    validation iteration: sliding-window inference over a whole room,
    scored by SegMetric."""
    cfg = _config(write_tiny_s3dis(tmp_path / 'data'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=1, val_interval=1)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = None
    cfg.log_processor = dict(by_epoch=False)
    cfg.param_scheduler = None
    cfg.randomness = dict(seed=0)
    cfg.visualizer.vis_backends = None
    runner = Runner.from_cfg(cfg)
    seen = {}

    class Record:
        priority = 'LOWEST'

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

        def after_train_iter(self, runner, batch_idx, data_batch, outputs):
            seen['loss'] = outputs['loss'].item()
            seen['points'] = [len(p) for p in data_batch['inputs']['points']]

        def after_val_iter(self, runner, batch_idx, data_batch, outputs):
            seen['val_batches'] = seen.get('val_batches', 0) + 1
            seen['pred'] = len(outputs[0].pred_pts_seg.pts_semantic_mask)

        def after_val_epoch(self, runner, metrics):
            seen['metrics'] = metrics

    runner._hooks.append(Record())
    runner.train()
    assert np.isfinite(seen['loss']) and seen['loss'] > 0
    assert seen['points'] == [BLOCK_POINTS, BLOCK_POINTS]
    # one room of area 5, every one of its points predicted
    assert seen['val_batches'] == 1
    assert seen['pred'] == ROOM_POINTS
    metrics = seen['metrics']
    for key in ('miou', 'acc', 'acc_cls'):
        assert 0 <= metrics[key] <= 1, key
    for name in ('ceiling', 'floor', 'wall', 'clutter'):
        assert name in metrics


def _dataset(data_root, loader='train_dataloader'):
    cfg = _config(data_root)
    return DATASETS.build(cfg[loader].dataset)


#: the first scene of each loader: area 1 (training), area 5 (validation)
LOADERS = [('train_dataloader', 1), ('val_dataloader', 5)]


@pytest.mark.parametrize('loader, area', LOADERS)
def test_label_outside_the_class_ids_is_named(tmp_path, loader, area):

    def edit(semantic):
        semantic[7] = 20
        return semantic

    dataset = _dataset(
        write_tiny_s3dis(tmp_path, semantic_edit=edit, edit_area=area),
        loader=loader)
    with pytest.raises(
            ValueError,
            match=rf'semantic_mask/Area_{area}_office_1\.bin \(points .*'
            rf'points/Area_{area}_office_1\.bin\): semantic label 20 \(of 1 '
            r"points\) is outside the dataset's class ids \[0, 15\)"):
        dataset[0]


@pytest.mark.parametrize('loader, area', LOADERS)
def test_label_count_not_point_count_is_named(tmp_path, loader, area):
    dataset = _dataset(
        write_tiny_s3dis(
            tmp_path, points_edit=lambda p: p[:-10], edit_area=area),
        loader=loader)
    with pytest.raises(
            ValueError,
            match=rf'semantic_mask/Area_{area}_office_1\.bin .* has '
            rf'\({ROOM_POINTS},\) labels for {ROOM_POINTS - 10} points: a '
            'point mask needs one label per point'):
        dataset[0]


def _model(**head):
    cfg = _config('unused')
    cfg.model.decode_head.update(head)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    init_weights_quietly(model)
    return model


def _batch(num=2, points=BLOCK_POINTS, labels=None):
    g = torch.Generator().manual_seed(0)
    clouds = [torch.rand(points, 9, generator=g) for _ in range(num)]
    samples = []
    for i in range(num):
        sample = Det3DDataSample(
            metainfo=dict(lidar_path=f'points/room_{i}.bin'))
        mask = torch.randint(14, (points, ), generator=g) \
            if labels is None else labels[i]
        sample.gt_pts_seg = PointData(pts_semantic_mask=mask)
        samples.append(sample)
    return dict(points=clouds), samples


@pytest.mark.parametrize(
    'label, message',
    [(torch.full((BLOCK_POINTS, ), 14),
      r'data sample 1 \(points/room_1\.bin\): semantic label 14 is outside '
      r'the 13 classes \[0, 13\) and is not ignore_index 13'),
     (torch.zeros(BLOCK_POINTS - 1, dtype=torch.long),
      r'data sample 1 \(points/room_1\.bin\) has semantic labels of shape '
      r'\(127,\) for 128 points')],
    ids=['outside-classes', 'count'])
def test_bad_labels_reaching_the_model_are_named(label, message):
    """Labels given to the model directly (not through the checked
    pipeline) are checked by the head's loss."""
    model = _model()
    inputs, samples = _batch()
    samples[1].gt_pts_seg.pts_semantic_mask = label
    with pytest.raises(ValueError, match=message):
        model.loss(inputs, samples)


def test_ignored_points_do_not_count_in_the_loss():
    model = _model(dropout_ratio=0.0).eval()
    inputs, samples = _batch()
    loss = model.loss(inputs, samples)['decode.loss_sem_seg']
    assert torch.isfinite(loss) and float(loss) > 0
    # ignore_index 13 (unannotated points) passes the check, adds nothing
    for s in samples:
        s.gt_pts_seg.pts_semantic_mask = torch.full((BLOCK_POINTS, ), 13)
    all_ignored = model.loss(inputs, samples)['decode.loss_sem_seg']
    assert float(all_ignored) == 0.0


def test_slide_inference_predicts_every_point_of_a_scene():
    model = _model().eval()
    g = torch.Generator().manual_seed(1)
    xyz = torch.rand(500, 3, generator=g) * torch.tensor([2.3, 1.4, 1.0])
    scene = torch.cat([xyz, torch.rand(500, 3, generator=g)], dim=1)
    sample = Det3DDataSample(metainfo=dict(lidar_path='points/scene.bin'))
    with torch.no_grad():
        out = model.predict(dict(points=[scene]), [sample])[0]
    assert out.pred_pts_seg.pts_semantic_mask.shape == (500, )
    assert out.pts_seg_logits.pts_seg_logits.shape == (13, 500)


@pytest.fixture(scope='module')
def pretrained_checkpoint(tmp_path_factory):
    """An I2PMAE pretraining checkpoint with the tiny model's encoder."""
    path = tmp_path_factory.mktemp('pretrain') / 'epoch_1.pth'
    return str(path), save_tiny_pretraining_checkpoint(path, ENCODER)


def _assert_encoder_loaded(backbone, state):
    encoder = {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }
    ours = backbone.state_dict()
    for key, value in encoder.items():
        assert torch.equal(ours[key], value), key
    new = sorted(
        {'.'.join(k.split('.')[:3])
         for k in ours if k not in encoder})
    assert new == [
        'norms.0.bias', 'norms.0.weight', 'token_embeds.0.extra_embed',
        'token_embeds.0.extra_gate'
    ]


def test_pretrained_encoder_loads_through_load_from(pretrained_checkpoint):
    path, state = pretrained_checkpoint
    cfg = _config('unused')
    model = MODELS.build(cfg.model)
    diff = StateDictDiff.compare(state, model.state_dict())
    # what CheckpointCompatibilityHook checks with the config's keys
    assert diff.restrict(cfg.load_from_required_keys).not_loaded == []
    assert diff.mismatched == []
    assert {k.split('.')[0]
            for k in diff.missing} == {'backbone', 'decode_head'}
    assert {k.split('.')[0] for k in diff.unexpected} == {'neck', 'head'}
    load_checkpoint(model, path, map_location='cpu', logger='silent')
    _assert_encoder_loaded(model.backbone, state)


def test_pretrained_encoder_loads_through_init_cfg(pretrained_checkpoint):
    path, state = pretrained_checkpoint
    backbone_cfg = _config('unused').model.backbone.to_dict()
    backbone_cfg.pop('_delete_', None)
    backbone_cfg['init_cfg'] = dict(
        type='Pretrained', checkpoint=path, prefix='backbone.')
    backbone = MODELS.build(backbone_cfg)
    init_weights_quietly(backbone)
    _assert_encoder_loaded(backbone, state)


def test_extra_channels_start_closed():
    """At initialisation rgb and normalised xyz change nothing: the
    features are those of the pretrained xyz-only encoder."""
    model = _model().eval()
    inputs, _ = _batch(num=1)
    points = inputs['points'][0][None]
    other = points.clone()
    other[..., 3:] = torch.rand_like(other[..., 3:])
    with torch.no_grad():
        a, b = model.backbone(points), model.backbone(other)
    for fa, fb in zip(a['feats'], b['feats']):
        assert torch.equal(fa, fb)

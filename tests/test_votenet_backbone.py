"""The I2P-MAE encoder as VoteNet's backbone (votenet_i2pmae_scannet.py)."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from conftest import save_tiny_pretraining_checkpoint
from mmdet3d.registry import MODELS
from mmdet3d.structures import DepthInstance3DBoxes, Det3DDataSample, PointData
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.logging import MMLogger
from mmengine.runner import BaseLoop, load_checkpoint
from mmengine.structures import InstanceData

from projects.I2PMAE.i2pmae.engine import (CheckpointCompatibilityHook,
                                           CheckpointMismatchError,
                                           StateDictDiff)
from projects.I2PMAE.i2pmae.models import I2PMAEEncoder, I2PMAEVoteNetBackbone
from projects.I2PMAE.i2pmae.ops import furthest_point_sample
from projects.I2PMAE.i2pmae.utils.quiet_init import init_weights_quietly

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'votenet_i2pmae_scannet.py')
#: a small encoder in the detection config (the vote head keeps its sizes:
#: 256 seeds of 256 channels, 256 vote clusters)
SMALL_DETECTOR = {
    'model.backbone.tokenizer.num_groups': [512, 256, 128],
    'model.backbone.tokenizer.group_sizes': [16, 8, 8],
    'model.backbone.num_seeds': 256,
    'model.backbone.embed_dims': [24, 48, 96],
    'model.backbone.depths': [1, 1, 1],
}
#: the pretraining encoder matching SMALL_DETECTOR
SMALL_ENCODER = dict(embed_dims=[24, 48, 96], depths=[1, 1, 1], num_heads=6)


def _config(**options):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(options)
    return cfg


def _backbone(in_channels=4, num_seeds=32, seed=0, **kwargs):
    """A tiny backbone: 64/32/16 tokens, 16 seed channels."""
    cfg = dict(
        type='I2PMAEVoteNetBackbone',
        tokenizer=dict(
            type='MultiScalePointTokenizer',
            num_groups=[64, 32, 16],
            group_sizes=[8, 4, 4]),
        num_seeds=num_seeds,
        out_channels=16,
        in_channels=in_channels,
        local_radius=[0.3, 0.6, 1.2],
        **SMALL_ENCODER)
    cfg.update(kwargs)
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    init_weights_quietly(model)
    return model.eval()


def _scenes(batch=2, num=300, channels=4, seed=0):
    """Clouds of distinct points in a 4 m room, height as the 4th channel."""
    g = torch.Generator().manual_seed(seed)
    xyz = torch.rand(batch, num, 3, generator=g) * 4
    height = xyz[..., 2:] - xyz[..., 2:].min(1, keepdim=True)[0]
    extra = [height] + [
        torch.rand(batch, num, 1, generator=g) for _ in range(channels - 4)
    ]
    return torch.cat([xyz] + extra, dim=-1)[..., :channels]


def _unscoped(entry):
    """A config entry as plain data without the ``_scope_`` keys that
    inheriting another package's config adds."""
    if hasattr(entry, 'to_dict'):
        entry = entry.to_dict()
    if isinstance(entry, dict):
        return {k: _unscoped(v) for k, v in entry.items() if k != '_scope_'}
    if isinstance(entry, (list, tuple)):
        return [_unscoped(v) for v in entry]
    return entry


def test_config_swaps_only_the_backbone_of_mmdet3d_votenet():
    cfg = Config.fromfile(CONFIG)
    # the installed mmdet3d's config, as the _base_ of ours resolves it
    base = get_config('mmdet3d::votenet/votenet_8xb8_scannet-3d.py')
    assert cfg.model.backbone.type == 'I2PMAEVoteNetBackbone'
    assert base.model.backbone.type == 'PointNet2SASSG'
    ours, theirs = _unscoped(cfg.model), _unscoped(base.model)
    ours.pop('backbone')
    theirs.pop('backbone')
    assert ours == theirs
    for key in ('train_dataloader', 'test_dataloader', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'val_evaluator'):
        assert _unscoped(cfg[key]) == _unscoped(base[key]), key
    # 4 input channels: the pipelines load xyz and add the height
    assert cfg.model.backbone.in_channels == base.model.backbone.in_channels
    assert cfg.train_pipeline[0].shift_height


def test_config_builds_the_whole_detector_through_the_registry():
    cfg = Config.fromfile(CONFIG)
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'VoteNet'
    backbone = model.backbone
    assert isinstance(backbone, I2PMAEVoteNetBackbone)
    assert (backbone.num_seeds, backbone.out_channels,
            backbone.in_channels) == (1024, 256, 4)
    assert backbone.tokenizer.num_groups == [2048, 1024, 512]
    # the vote module reads the seed features
    vote_conv = model.bbox_head.vote_module.vote_conv[0].conv
    assert vote_conv.in_channels == backbone.out_channels


def test_backbone_output_is_the_vote_head_input_contract():
    model = _backbone()
    points = _scenes()
    with torch.no_grad():
        out = model(points)
    assert set(out) == {'fp_xyz', 'fp_features', 'fp_indices'}
    # the head reads [-1] of each list
    xyz, feats, idx = (
        out[k][-1] for k in ('fp_xyz', 'fp_features', 'fp_indices'))
    assert xyz.shape == (2, 32, 3) and xyz.dtype == torch.float32
    assert feats.shape == (2, 16, 32) and feats.dtype == torch.float32
    assert idx.shape == (2, 32) and idx.dtype == torch.int64
    assert torch.isfinite(feats).all()
    assert int(idx.min()) >= 0 and int(idx.max()) < points.shape[1]
    for b in range(2):
        # seeds are real input points, found by their indices
        assert torch.equal(xyz[b], points[b, idx[b], :3])
        assert len(set(idx[b].tolist())) == 32
    # the seeds are a furthest point sample of the cloud
    assert torch.equal(idx,
                       furthest_point_sample(points[..., :3].contiguous(), 32))


def test_seed_features_depend_on_every_scale():
    model = _backbone()
    points = _scenes()
    out = model(points)['fp_features'][0]
    out.square().sum().backward()
    for s in range(3):
        grad = model.stages[s].blocks[0].mlp.fc2.weight.grad
        assert grad is not None and grad.abs().sum() > 0, s


def test_height_branch_starts_closed_and_opens():
    xyz_only = _backbone(in_channels=3)
    with_height = _backbone(in_channels=4, seed=1)
    missing, unexpected = with_height.load_state_dict(
        xyz_only.state_dict(), strict=False)
    assert unexpected == []
    assert missing and all(
        k.startswith('token_embeds.0.extra_') for k in missing)
    assert not with_height.token_embeds[0].extra_gate.any()
    points = _scenes()
    with torch.no_grad():
        ref = xyz_only(points[..., :3].contiguous())['fp_features'][0]
        # zero gate: exactly the xyz-only encoder, whatever the height
        assert torch.equal(with_height(points)['fp_features'][0], ref)
    # the gate learns from the first step
    with_height.train()
    with_height(points)['fp_features'][0].square().sum().backward()
    assert with_height.token_embeds[0].extra_gate.grad.abs().sum() > 0
    with torch.no_grad():
        with_height.eval()
        with_height.token_embeds[0].extra_gate.fill_(1.)
        assert not torch.allclose(with_height(points)['fp_features'][0], ref)


def test_encoder_features_are_the_plain_encoders():
    model = _backbone(in_channels=3)
    encoder = I2PMAEEncoder(local_radius=[0.3, 0.6, 1.2], **SMALL_ENCODER)
    encoder.load_state_dict(
        {
            k: v
            for k, v in model.state_dict().items()
            if not k.startswith('fp_layers.')
        },
        strict=True)
    encoder.eval()
    xyz = _scenes(channels=3)
    with torch.no_grad():
        expected = encoder(model.tokenizer(xyz)).feats
        scales = model.tokenizer(xyz)
        got = I2PMAEEncoder.forward(model, scales).feats
    for e, g in zip(expected, got):
        assert torch.equal(e, g)


def test_more_seeds_than_input_points_is_one_clear_error():
    model = _backbone(num_seeds=64)
    with pytest.raises(ValueError) as err:
        model(_scenes(num=50))
    message = str(err.value)
    assert 'num_seeds=64' in message and '50 input points' in message


def test_more_seeds_than_first_scale_tokens_is_a_config_error():
    with pytest.raises(ValueError, match=r'num_seeds=100 .* 64 first-scale'):
        _backbone(num_seeds=100)


def test_input_channels_must_match_in_channels():
    model = _backbone(in_channels=4)
    with pytest.raises(
            ValueError,
            match=r'points must have shape \[B, N, 4\]'
            r', got \[2, 300, 3\]'):
        model(_scenes(channels=3))
    bad = _scenes()
    bad[1, 7, 3] = float('nan')
    with pytest.raises(ValueError, match=r'NaN or infinite .*items \[1\]'):
        model(bad)


def test_more_extra_channels():
    model = _backbone(in_channels=6)
    out = model(_scenes(channels=6))
    assert out['fp_features'][0].shape == (2, 16, 32)
    assert model.token_embeds[0].extra_embed[0].in_channels == 3


def test_tokenizer_and_encoder_scales_must_agree():
    with pytest.raises(ValueError, match='tokenizer has 3 scales'):
        _backbone(embed_dims=[24, 48], depths=[1, 1], local_radius=None)
    with pytest.raises(ValueError, match='at least two scales'):
        _backbone(
            tokenizer=dict(
                type='MultiScalePointTokenizer',
                num_groups=[64],
                group_sizes=[8]),
            embed_dims=[24],
            depths=[1],
            local_radius=None)


@pytest.fixture(scope='module')
def pretrained_checkpoint(tmp_path_factory):
    """An I2PMAE pretraining checkpoint with SMALL_DETECTOR's encoder,
    saved as the Runner saves them."""
    path = tmp_path_factory.mktemp('pretrain') / 'epoch_1.pth'
    return str(path), save_tiny_pretraining_checkpoint(path, SMALL_ENCODER)


def _assert_encoder_loaded(backbone, state, prefix='backbone.'):
    encoder = {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }
    ours = backbone.state_dict()
    for key, value in encoder.items():
        assert torch.equal(ours[key], value), key
    new = sorted(
        {'.'.join(k.split('.')[:3])
         for k in ours if k not in encoder})
    assert new == [
        'fp_layers.0.extraction', 'fp_layers.0.fuse', 'fp_layers.1.extraction',
        'fp_layers.1.fuse', 'norms.0.bias', 'norms.0.weight',
        'token_embeds.0.extra_embed', 'token_embeds.0.extra_gate'
    ]


def test_pretrained_encoder_loads_through_load_from(pretrained_checkpoint):
    path, state = pretrained_checkpoint
    cfg = _config(**SMALL_DETECTOR)
    model = MODELS.build(cfg.model)
    diff = StateDictDiff.compare(state, model.state_dict())
    # what CheckpointCompatibilityHook checks with the config's keys
    assert diff.restrict(cfg.load_from_required_keys).not_loaded == []
    assert diff.mismatched == []
    assert {k.split('.')[0] for k in diff.missing} == {'backbone', 'bbox_head'}
    assert {k.split('.')[0] for k in diff.unexpected} == {'neck', 'head'}
    load_checkpoint(model, path, map_location='cpu', logger='silent')
    _assert_encoder_loaded(model.backbone, state)


class _Loop(BaseLoop):

    def run(self):
        pass


def _hook_runner(model, cfg, logger_name):
    """The Runner attributes CheckpointCompatibilityHook reads, when
    ``load_from`` starts training."""
    return SimpleNamespace(
        model=model,
        cfg=cfg,
        logger=MMLogger.get_instance(logger_name),
        _resume=False,
        _train_loop=_Loop(None, []),
        _load_from='pretrain/epoch_1.pth')


def test_checkpoint_compatibility_hook_with_the_config_keys(
        pretrained_checkpoint, capsys):
    path, state = pretrained_checkpoint
    cfg = _config(**SMALL_DETECTOR)
    hook = CheckpointCompatibilityHook()
    model = MODELS.build(cfg.model)
    runner = _hook_runner(model, cfg, 'votenet_pretrained_fits')
    hook.after_load_checkpoint(runner, dict(state_dict=state))
    out = capsys.readouterr().out
    # one grouped report of the new and the unused keys
    assert out.count('fits the keys under') == 1
    assert 'backbone.fp_layers.*' in out and 'bbox_head.' in out
    # a pretraining encoder of other sizes does not fit
    other = MODELS.build(
        _config(**dict(SMALL_DETECTOR, **
                       {'model.backbone.embed_dims': [12, 24, 48]})).model)
    with pytest.raises(
            CheckpointMismatchError, match='does not fit the '
            'VoteNet model'):
        hook.after_load_checkpoint(
            _hook_runner(other, cfg, 'votenet_pretrained_mismatch'),
            dict(state_dict=state))


def test_pretrained_encoder_loads_through_init_cfg(pretrained_checkpoint):
    path, state = pretrained_checkpoint
    cfg = _config(**SMALL_DETECTOR)
    backbone_cfg = cfg.model.backbone.to_dict()
    backbone_cfg.pop('_delete_', None)
    backbone_cfg['init_cfg'] = dict(
        type='Pretrained', checkpoint=path, prefix='backbone.')
    backbone = MODELS.build(backbone_cfg)
    init_weights_quietly(backbone)
    _assert_encoder_loaded(backbone, state)


def _fake_scannet_batch(num_scenes=2, num_points=2000, num_boxes=4):
    """Random rooms packed as mmdet3d's ScanNet pipeline packs them: points
    of xyz + height, axis-aligned depth boxes of the 18 classes, and point
    masks (instance and class of the box a point lies in; the others are
    background, class 18, which the head ignores)."""
    g = torch.Generator().manual_seed(0)
    points, samples = [], []
    for _ in range(num_scenes):
        centers = torch.rand(num_boxes, 3, generator=g) * 3 + 0.5
        sizes = torch.rand(num_boxes, 3, generator=g) * 0.8 + 0.4
        # half the points on the objects, half anywhere in the room
        on = torch.randint(num_boxes, (num_points // 2, ), generator=g)
        inside = centers[on] + (torch.rand(len(on), 3, generator=g) - 0.5) \
            * sizes[on]
        xyz = torch.cat(
            [inside,
             torch.rand(num_points - len(on), 3, generator=g) * 4])
        labels = torch.randint(18, (num_boxes, ), generator=g)
        within = ((xyz[:, None] - centers[None]).abs()
                  <= sizes[None] / 2).all(-1)  # [N, boxes]
        first = torch.where(
            within.any(1),
            within.float().argmax(1), torch.full((num_points, ), num_boxes))
        semantic = torch.cat([labels, torch.tensor([18])])[first]
        points.append(torch.cat([xyz, xyz[:, 2:] - xyz[:, 2:].min()], dim=1))
        sample = Det3DDataSample(
            metainfo=dict(box_type_3d=DepthInstance3DBoxes))
        sample.gt_instances_3d = InstanceData(
            bboxes_3d=DepthInstance3DBoxes(
                torch.cat([centers, sizes], dim=1),
                box_dim=6,
                with_yaw=False,
                origin=(0.5, 0.5, 0.5)),
            labels_3d=labels)
        sample.gt_pts_seg = PointData(
            pts_semantic_mask=semantic, pts_instance_mask=first)
        sample.eval_ann_info = None
        samples.append(sample)
    return dict(inputs=dict(points=points), data_samples=samples)


@pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason='VoteNet\'s vote aggregation (PointSAModule: furthest point '
    'sampling, ball query, grouping) uses mmcv ops that only run on CUDA')
def test_detector_forward_and_loss_on_cuda():
    cfg = _config(**SMALL_DETECTOR)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    init_weights_quietly(model)
    model = model.cuda().train()
    data = model.data_preprocessor(_fake_scannet_batch(), True)
    losses = model(**data, mode='loss')
    for name in ('vote_loss', 'objectness_loss', 'semantic_loss',
                 'center_loss', 'size_class_loss'):
        assert name in losses, name
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    # the loss reaches the encoder through the seeds
    grad = model.backbone.token_embeds[0].first_conv[0].weight.grad
    assert grad is not None and grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        results = model(
            **model.data_preprocessor(_fake_scannet_batch(), False),
            mode='predict')
    assert len(results) == 2
    assert results[0].pred_instances_3d.bboxes_3d.tensor.shape[-1] == 7

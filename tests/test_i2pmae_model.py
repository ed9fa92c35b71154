"""The I2P-MAE algorithm, encoder, decoder and head on tiny models."""
import pytest
import torch
from mmdet3d.registry import MODELS
from mmengine.model.weight_init import trunc_normal_
from mmengine.registry import DefaultScope
from torch import nn

import projects.I2PMAE.i2pmae  # noqa: F401
from projects.I2PMAE.i2pmae.models import (I2PMAE, I2PMAEEncoder,
                                           MultiScalePointTokenizer)

TINY_TEACHER = dict(
    type='CLIPTeacher',
    model_name='ViT-B-16',
    pretrained=None,
    vision_cfg=dict(
        image_size=224, patch_size=32, width=64, layers=1, heads=2),
    embed_dim=16)


def _layers(kind, embed_dims, depths, **kwargs):
    """An ``I2PMAE<kind>`` (Encoder or Decoder) config with 6 heads."""
    cfg = dict(type=f'I2PMAE{kind}', embed_dims=embed_dims, depths=depths)
    return dict(cfg, num_heads=6, **kwargs)


def tiny_cfg(with_teacher=True, **overrides):
    cfg = dict(
        type='I2PMAE',
        tokenizer=dict(
            type='MultiScalePointTokenizer',
            num_groups=[64, 32, 8],
            group_sizes=[8, 4, 4]),
        backbone=_layers(
            'Encoder', [24, 48, 96], [1, 1, 1], drop_path_rate=0.1),
        neck=_layers('Decoder', [96, 48], [1, 1], up_blocks=[1]),
        head=dict(
            type='I2PMAEPretrainHead',
            in_channels=48,
            group_size=4,
            feat_dim_2d=16 if with_teacher else 0),
        mask_generator=dict(
            type='GuidedMaskGenerator'
            if with_teacher else 'RandomMaskGenerator',
            mask_ratio=0.75))
    if with_teacher:
        cfg.update(
            projector=dict(type='MultiViewDepthProjector'),
            teacher=TINY_TEACHER)
    cfg.update(overrides)
    return cfg


def _points(b=2, n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    pts = torch.randn(b, n, 3, generator=g)
    return pts / pts.norm(dim=-1).max()


def test_pretrain_losses_backward_and_frozen_teacher():
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg())
    model.init_weights()
    model.train()
    losses = model(dict(points=_points()), mode='loss')
    assert set(losses) == {'loss_3d', 'loss_2d'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    # the finest scale's output feeds no decoder stage: it builds no norm
    no_grad = [
        n for n, p in model.named_parameters()
        if p.grad is None and not n.startswith('teacher.')
    ]
    assert no_grad == []
    assert not model.teacher.training
    assert not any(k.startswith('teacher.') for k in model.state_dict())


def test_baseline_without_teacher_builds_none():
    model = MODELS.build(tiny_cfg(with_teacher=False))
    assert model.teacher is None and model.projector is None
    losses = model(dict(points=_points()), mode='loss')
    assert set(losses) == {'loss_3d'}


def test_svm_feature_and_predict():
    model = MODELS.build(tiny_cfg(with_teacher=False)).eval()
    feat = model(dict(points=_points()), mode='tensor')
    assert feat.shape == (2, 96)
    samples = model(dict(points=_points()), mode='predict')
    assert torch.equal(samples[1].feature, feat[1])


def test_encoder_batched_packing_matches_per_sample():
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(with_teacher=False))
    model.eval()  # BatchNorm with running stats: samples are independent
    scales = model.tokenizer(_points(b=3))
    masks = model.mask_generator(scales)
    enc = model.backbone(scales, masks)
    for i in range(3):
        # reference: sample i encoded alone (no padding)
        sub = [type(sc)(*(t[i:i + 1] for t in sc)) for sc in scales]
        ref = model.backbone(sub, [m[i:i + 1] for m in masks]).feats
        for s in range(3):
            got = enc.feats[s][i][enc.valid[s][i]]
            assert torch.allclose(got, ref[s][0], atol=1e-5)


@pytest.mark.parametrize('cfg, field', [
    (tiny_cfg(backbone=_layers('Encoder', [24, 48], [1, 1])),
     'backbone.embed_dims'),
    (tiny_cfg(backbone=_layers('Encoder', [24, 48, 96], [1, 1])), 'depths'),
    (tiny_cfg(neck=_layers('Decoder', [96, 24], [1, 1], up_blocks=[1])),
     r'neck.embed_dims\[1\]'),
    (tiny_cfg(neck=_layers('Decoder', [96, 48], [1])), 'decoder_depths'),
    (tiny_cfg(head=dict(tiny_cfg()['head'], group_size=8)), 'group_size'),
    (tiny_cfg(head=dict(tiny_cfg()['head'], loss_3d=None)), 'head.loss_3d'),
    (tiny_cfg(head=dict(tiny_cfg()['head'], loss_2d=None)), 'head.loss_2d'),
    (tiny_cfg(False, mask_generator=dict(type='GuidedMaskGenerator')),
     'GuidedMaskGenerator'),
])
def test_inconsistent_configs_are_named(cfg, field):
    with pytest.raises(ValueError, match=field):
        MODELS.build(cfg)


def test_head_losses_are_built_from_config():
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg())
    model.init_weights()
    assert type(model.head.loss_3d).__name__ == 'ChamferDistance'
    assert type(model.head.loss_2d).__name__ == 'MSELoss'
    cfg = tiny_cfg()
    cfg['head'].update(
        loss_3d=dict(
            type='ChamferDistance',
            mode='l2',
            loss_src_weight=0.5,
            loss_dst_weight=0.5),
        loss_2d=dict(type='mmdet.MSELoss', loss_weight=2.0))
    # the same seed gives the same weights (the teacher's included)
    torch.manual_seed(0)
    weighted = MODELS.build(cfg)
    weighted.init_weights()
    losses = []
    for m in (model, weighted):
        m.train()
        torch.manual_seed(1)
        losses.append(m(dict(points=_points()), mode='loss'))
    assert torch.allclose(losses[1]['loss_3d'], 0.5 * losses[0]['loss_3d'])
    assert torch.allclose(losses[1]['loss_2d'], 2.0 * losses[0]['loss_2d'])


def test_encoder_default_init_is_a_seeded_trunc_normal_loop():
    torch.manual_seed(0)
    enc = I2PMAEEncoder([24, 48], [1, 1], num_heads=6)
    torch.manual_seed(1)
    enc.init_weights()
    # the same draws, made by hand in modules() order
    torch.manual_seed(0)
    ref = I2PMAEEncoder([24, 48], [1, 1], num_heads=6, init_cfg=None)
    torch.manual_seed(1)
    for m in ref.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d)):
            trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.weight, 1.0)
            nn.init.constant_(m.bias, 0)
    state, expected = enc.state_dict(), ref.state_dict()
    assert state.keys() == expected.keys()
    assert all(torch.equal(state[k], expected[k]) for k in state)
    qkv = enc.stages[1].blocks[0].attn.qkv.weight.detach()
    assert abs(float(qkv.std()) - 0.02) < 0.002


def test_local_radius_restricts_attention():
    torch.manual_seed(0)
    enc = I2PMAEEncoder([24], [1], num_heads=6, local_radius=[1e-6])
    enc.init_weights()
    enc.eval()
    scales = MultiScalePointTokenizer([16], [4])(_points())
    # a vanishing radius lets each token see only itself
    out = enc(scales).feats[0]
    mask = enc._attn_mask(0, scales[0].centers, None)
    assert torch.equal(mask, torch.eye(16, dtype=torch.bool).expand(2, -1, -1))
    assert out.shape == (2, 16, 24)


def test_builds_whatever_default_scope_is_current():
    cfg = tiny_cfg(with_teacher=False)
    cfg.pop('type')
    # e.g. after a Runner whose default_scope is mmengine
    with DefaultScope.overwrite_default_scope('mmengine'):
        model = I2PMAE(**cfg)
    assert model.head.group_size == 4


def test_mixed_precision_keeps_geometry_and_losses_in_float32():
    from mmengine.optim import build_optim_wrapper
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg())
    model.init_weights()
    wrapper = build_optim_wrapper(
        model,
        dict(
            type='MixedPrecisionOptimWrapper',
            dtype='bf16',
            optimizer=dict(type='AdamW', lr=1e-3)))
    pts = _points()
    torch.manual_seed(1)
    ref = model.forward_pretrain(pts)
    torch.manual_seed(1)
    with wrapper.optim_context(model):
        out = model.forward_pretrain(pts)
    # sampling, grouping, projection and masking are untouched by autocast
    for a, b in zip(ref['scales'], out['scales']):
        assert torch.equal(a.centers, b.centers) and torch.equal(a.idx, b.idx)
    assert torch.equal(ref['images'], out['images'])
    assert all(torch.equal(a, b) for a, b in zip(ref['masks'], out['masks']))
    assert torch.equal(ref['targets_2d'], out['targets_2d'])
    # the encoder ran in bfloat16, the losses are float32 and close
    assert out['encoder'].feats[-1].dtype == torch.bfloat16
    for key, value in out['losses'].items():
        assert value.dtype == torch.float32
        torch.testing.assert_close(value, ref['losses'][key], rtol=0.1, atol=0)
    wrapper.update_params(sum(out['losses'].values()))

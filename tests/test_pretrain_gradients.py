"""Every trainable parameter of the pretraining models receives a gradient.

DDP then needs no ``find_unused_parameters``: the encoder builds output
norms only at the scales the decoder reads (``norm_scales``).
"""
import os.path as osp

import pytest
import torch
from mmdet3d.registry import MODELS
from mmengine.config import Config

import projects.I2PMAE.i2pmae  # noqa: F401
from projects.I2PMAE.i2pmae.models import I2PMAE, I2PMAEEncoder

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# fewer tokens and layers: the same modules, a fast step
SMALL = dict(
    tokenizer=dict(num_groups=[64, 32, 8]),
    backbone=dict(embed_dims=[48, 96, 192], depths=[1, 1, 1]),
    neck=dict(embed_dims=[192, 96]),
    head=dict(in_channels=96))


def _pretrain_model(name, **backbone):
    cfg = Config.fromfile(osp.join(REPO, 'configs', name))
    cfg.merge_from_dict(dict(model=SMALL))
    cfg.model.backbone.update(backbone)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train()


def _points(b=2, n=1024):
    g = torch.Generator().manual_seed(0)
    pts = torch.randn(b, n, 3, generator=g)
    return pts / pts.norm(dim=-1).max()


@pytest.mark.parametrize(
    'name', ['i2pmae_pretrain_synthetic.py', 'point_m2ae_pretrain.py'])
def test_every_trainable_parameter_gets_a_gradient(name):
    model = _pretrain_model(name)
    losses = model(dict(points=_points()), mode='loss')
    sum(losses.values()).backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert len(trainable) > 100
    without = [n for n, p in trainable.items() if p.grad is None]
    assert without == []
    assert all(p.grad is None for p in model.parameters()
               if not p.requires_grad)
    # norms at the decoded scales (1 and 2) only; the keys keep the scale
    assert model.backbone.norm_scales == [1, 2]
    keys = [k for k in model.state_dict() if k.startswith('backbone.norms')]
    assert sorted(keys) == [
        'backbone.norms.1.bias', 'backbone.norms.1.weight',
        'backbone.norms.2.bias', 'backbone.norms.2.weight'
    ]


def test_checkpoints_with_a_norm_at_every_scale_still_load():
    # checkpoints saved before (and converted official ones) hold the
    # finest scale's norm too: it loads as one unused, never-trained key
    # pair, nothing is missing
    old = _pretrain_model(
        'i2pmae_pretrain_synthetic.py', norm_scales=[0, 1, 2])
    assert old.backbone.norm_scales == [0, 1, 2]
    new = _pretrain_model('i2pmae_pretrain_synthetic.py')
    result = new.load_state_dict(old.state_dict(), strict=False)
    assert result.missing_keys == []
    assert sorted(result.unexpected_keys) == [
        'backbone.norms.0.bias', 'backbone.norms.0.weight'
    ]
    old.eval()
    new.eval()
    points = _points()
    # the SVM feature (top scale) is the same
    assert torch.equal(new.extract_feat(points), old.extract_feat(points))


def test_norm_scales_must_name_scales_of_the_encoder():
    with pytest.raises(
            ValueError,
            match=r'norm_scales must list scale '
            r'indices in \[0, 3\).*got \[1, 3\]'):
        I2PMAEEncoder(
            embed_dims=[12, 24, 48],
            depths=[1, 1, 1],
            num_heads=6,
            norm_scales=[1, 3])
    enc = I2PMAEEncoder(embed_dims=[12, 24, 48], depths=[1, 1, 1], num_heads=6)
    assert enc.norm_scales == [0, 1, 2]
    enc = I2PMAEEncoder(
        embed_dims=[12, 24, 48],
        depths=[1, 1, 1],
        num_heads=6,
        final_norm=False)
    assert enc.norm_scales == [] and enc.norms is None


def test_norm_scales_must_cover_the_decoded_scales():
    with pytest.raises(
            ValueError,
            match=r'backbone.norm_scales=\[2\] must '
            r'include every scale the decoder reads \(\[1, 2\]\)'):
        _pretrain_model('i2pmae_pretrain_synthetic.py', norm_scales=[2])


def test_read_scales_follow_the_component_defaults():
    # configs that leave embed_dims to the encoder/decoder defaults (3
    # scales, 2 decoder stages); an explicit norm_scales is kept
    cfg = I2PMAE._with_read_norm_scales(
        dict(type='I2PMAEEncoder'), dict(type='I2PMAEDecoder'))
    assert cfg['norm_scales'] == [1, 2]
    cfg = I2PMAE._with_read_norm_scales(
        dict(type='I2PMAEEncoder', embed_dims=[8, 16, 32, 64]),
        dict(type='I2PMAEDecoder', embed_dims=[64]))
    assert cfg['norm_scales'] == [3]
    kept = dict(type='I2PMAEEncoder', norm_scales=[0, 1, 2])
    assert I2PMAE._with_read_norm_scales(kept, dict()) is kept

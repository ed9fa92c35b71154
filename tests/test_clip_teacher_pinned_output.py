"""CLIPTeacher outputs pinned for tiny teachers seeded with 7.

Each case draws its weights, its input images and four more numbers from
the global random stream, so the pinned weighted sums (order-sensitive,
small relative tolerance) change if the weights, the forward pass or the
random numbers used while building the teacher change; the cases cover
every kind of last block and attention. Record intended changes with
``PYTHONPATH=. python tests/test_clip_teacher_pinned_output.py``.
"""
import pytest
import torch

from projects.I2PMAE.i2pmae.models.clip_teacher import CLIPTeacher

TINY = dict(
    image_size=32, patch_size=16, width=64, layers=2, heads=2, embed_dim=32)

#: name -> CLIPTeacher arguments (besides ``pretrained=None``)
CASES = {
    'default':
    dict(vision_cfg=TINY),
    'quickgelu_one_layer':
    dict(
        vision_cfg=dict(TINY, image_size=64, patch_size=32, layers=1),
        quick_gelu=True),
    'qk_norm_head_scale':
    dict(vision_cfg=dict(TINY, image_size=64, qk_norm=True, scale_heads=True)),
    'cosine_attn_inner_norms':
    dict(
        vision_cfg=dict(
            TINY,
            layers=1,
            scaled_cosine_attn=True,
            scale_attn_inner=True,
            scale_attn=True,
            scale_fc=True)),
    'layer_scale_no_ln_pre':
    dict(
        vision_cfg=dict(
            TINY, ls_init_value=0.1, no_ln_pre=True, mlp_ratio=2.0)),
    'b16_config_tiny_width':
    dict(
        model_name='ViT-B-16-quickgelu',
        vision_cfg=dict(image_size=48, width=64, layers=3, heads=4),
        embed_dim=16),
}

#: name -> {output: [sum, weighted sum]}, recorded once
PINNED = {
    'default': {
        'feats': [-5.333928238542285, 1.4495180443168945],
        'attn': [1.4975181072950363, 0.015278107353619175],
        'after': [1.562670350074768, 0.13909610112508136]
    },
    'quickgelu_one_layer': {
        'feats': [-12.470632703159936, -4.193622304293254],
        'attn': [1.6832478046417236, -0.040574222803115845],
        'after': [1.9201372861862183, -0.4764775832494099]
    },
    'qk_norm_head_scale': {
        'feats': [-17.510646903538145, 13.304981532616912],
        'attn': [1.94947615172714, -0.05423098457075896],
        'after': [1.7767972946166992, 0.4504477183024089]
    },
    'cosine_attn_inner_norms': {
        'feats': [-33.922985983779654, 13.123134471889696],
        'attn': [1.9462086595594883, -0.1147308291069099],
        'after': [2.454804539680481, -0.4543123245239258]
    },
    'layer_scale_no_ln_pre': {
        'feats': [1.664466064190492, -12.877431979082415],
        'attn': [1.6925509572029114, 0.0505483065332685],
        'after': [1.4400542378425598, 0.3835328221321106]
    },
    'b16_config_tiny_width': {
        'feats': [2.4701050613075495, -1.8166753987648665],
        'attn': [1.8274251148104668, 0.019863199223490363],
        'after': [2.506183624267578, -0.47657251358032227]
    }
}


def weighted_sum(values: torch.Tensor) -> list:
    """The sum and an order-sensitive weighted sum of ``values``."""
    values = values.double().flatten()
    weights = torch.linspace(-1, 1, len(values), dtype=torch.float64)
    return [values.sum().item(), (values * weights).sum().item()]


def case_digest(name: str) -> dict:
    """Weighted sums of a case's outputs and of the next random numbers."""
    torch.manual_seed(7)
    teacher = CLIPTeacher(pretrained=None, **CASES[name])
    images = torch.randn(2, 3, *teacher.image_size)
    feats, attn = teacher(images)
    outputs = dict(feats=feats, attn=attn, after=torch.rand(4))
    return {key: weighted_sum(value) for key, value in outputs.items()}


@pytest.mark.parametrize('name', list(CASES))
def test_tiny_teacher_outputs_are_pinned(name):
    got = case_digest(name)
    for key, pinned in PINNED[name].items():
        assert got[key] == pytest.approx(pinned, rel=1e-5, abs=1e-6), \
            f'{name}: {key} changed'


if __name__ == '__main__':
    import projects.I2PMAE.i2pmae  # noqa: F401
    print('PINNED =', {name: case_digest(name) for name in CASES})

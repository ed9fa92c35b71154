"""Tests of the frozen open_clip teacher."""
import open_clip
import pytest
import torch
import torch.nn.functional as F
from mmengine.runner.checkpoint import load_state_dict
from open_clip.model import build_model_from_openai_state_dict
from safetensors.torch import save_file
from torch import nn

from projects.I2PMAE.i2pmae.models.clip_teacher import (
    CLIPTeacher, _packed_multihead_attention, _packs_batch_first)
from projects.I2PMAE.i2pmae.utils import half_precision

TINY = dict(
    image_size=224, patch_size=16, width=64, layers=2, heads=2, embed_dim=32)


def relative_error(actual, expected):
    """Max absolute error and that error relative to max |expected|."""
    err = (actual.double() - expected.double()).abs().max().item()
    return err, err / max(expected.abs().max().item(), 1e-12)


@pytest.fixture(scope='module')
def fixture_teacher(parity_fixture):
    return CLIPTeacher(pretrained=parity_fixture['clip_openai_state_dict'])


@pytest.fixture(scope='module')
def fixture_images(parity_fixture):
    return torch.cat(parity_fixture['records']['view_images'], dim=0)


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    """Fail loudly if anything tries to fetch weights."""
    import open_clip.pretrained as pretrained

    def forbidden(*args, **kwargs):
        raise AssertionError('CLIPTeacher must never download weights')

    for name in ('download_pretrained', 'download_pretrained_from_url',
                 'download_pretrained_from_hf'):
        monkeypatch.setattr(pretrained, name, forbidden)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')


def reference_tokens(teacher, images):
    """Patch features from open_clip's own forward (output_tokens)."""
    visual = teacher.visual
    visual.output_tokens = True
    try:
        with torch.no_grad():
            _, tokens = visual(images)
    finally:
        visual.output_tokens = False
    tokens = tokens @ visual.proj
    h, w = teacher.patch_grid
    return tokens.transpose(1, 2).reshape(len(images), -1, h, w)


def reference_last_attention(teacher, images):
    """CLS attention of the last block computed from a hooked input."""
    captured = {}
    block = teacher.visual.transformer.resblocks[-1]
    handle = block.register_forward_pre_hook(
        lambda module, args: captured.setdefault('x', args[0]))
    try:
        with torch.no_grad():
            teacher.visual(images)
    finally:
        handle.remove()
    x = block.ln_1(captured['x'])
    attn = block.attn
    q, k, _ = F.linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(3, -1)
    n, length, dim = q.shape
    heads = attn.num_heads
    q = q.reshape(n, length, heads, -1).transpose(1, 2)
    k = k.reshape(n, length, heads, -1).transpose(1, 2)
    logits = q @ k.transpose(-1, -2) / (dim // heads)**0.5
    return logits.softmax(-1).mean(1)[:, 0, 1:]


def test_matches_official_fixture(parity_fixture, fixture_teacher,
                                  fixture_images):
    records = parity_fixture['records']
    feats, attn = fixture_teacher(fixture_images)
    assert feats.shape == records['img_feats'].shape == (6, 64, 14, 14)
    assert attn.shape == (6, 196)
    assert feats.dtype == attn.dtype == torch.float32
    abs_f, rel_f = relative_error(feats, records['img_feats'])
    abs_a, rel_a = relative_error(attn, records['img_attn_cls'][:, 0, 1:])
    print(f'img_feats: max abs {abs_f:.3e}, rel {rel_f:.3e}; '
          f'cls attention: max abs {abs_a:.3e}, rel {rel_a:.3e}')
    assert rel_f <= 1e-4 and rel_a <= 1e-4
    assert fixture_teacher.out_channels == 64
    assert fixture_teacher.patch_grid == (14, 14)
    assert fixture_teacher.quick_gelu


def write_checkpoints(state_dict, folder):
    """The fixture's weights in several on-disk layouts."""
    paths = dict(
        openai_state_dict=folder / 'openai_layout.pth',
        open_clip_training=folder / 'epoch_1.pt',
        openai_torchscript=folder / 'tiny_openai.pt',
        visual_safetensors=folder / 'visual.safetensors')
    torch.save(dict(state_dict), paths['openai_state_dict'])
    model = build_model_from_openai_state_dict(dict(state_dict)).float()
    model.load_state_dict(state_dict)
    training = {f'module.{k}': v for k, v in model.state_dict().items()}
    torch.save(
        dict(epoch=1, name='tiny', state_dict=training),
        paths['open_clip_training'])
    torch.jit.script(model).save(str(paths['openai_torchscript']))
    visual = {
        k[len('visual.'):]: v.contiguous()
        for k, v in state_dict.items() if k.startswith('visual.')
    }
    save_file(visual, str(paths['visual_safetensors']))
    assert open_clip.__version__.startswith('3.')
    return paths


def test_checkpoint_files_give_the_same_outputs(parity_fixture,
                                                fixture_teacher,
                                                fixture_images, tmp_path):
    paths = write_checkpoints(parity_fixture['clip_openai_state_dict'],
                              tmp_path)
    feats, attn = fixture_teacher(fixture_images[:2])
    for layout, path in paths.items():
        # Plain state-dict files do not say which GELU they use.
        quick_gelu = None if layout == 'openai_torchscript' else True
        teacher = CLIPTeacher(pretrained=str(path), quick_gelu=quick_gelu)
        assert teacher.quick_gelu, layout
        feats_file, attn_file = teacher(fixture_images[:2])
        assert torch.equal(feats_file, feats), layout
        assert torch.equal(attn_file, attn), layout
    quick_name = CLIPTeacher(
        'ViT-B-16-quickgelu', pretrained=str(paths['openai_state_dict']))
    assert quick_name.quick_gelu
    gelu = CLIPTeacher(pretrained=str(paths['open_clip_training']))
    assert not gelu.quick_gelu
    assert not torch.allclose(gelu(fixture_images[:2])[0], feats)


def test_pretrained_tag_is_read_from_the_local_cache(parity_fixture,
                                                     fixture_teacher,
                                                     fixture_images, tmp_path):
    # open_clip keeps URL downloads as <cache_dir>/<basename of the URL>.
    torch.save(
        dict(parity_fixture['clip_openai_state_dict']),
        tmp_path / 'ViT-B-16.pt')
    teacher = CLIPTeacher(
        'ViT-B-16', pretrained='openai', cache_dir=str(tmp_path))
    assert teacher.quick_gelu  # the openai tag is a QuickGELU model
    feats, attn = teacher(fixture_images[:1])
    ref_feats, ref_attn = fixture_teacher(fixture_images[:1])
    assert torch.equal(feats, ref_feats) and torch.equal(attn, ref_attn)


@pytest.mark.parametrize('image_size, patch_size, custom', [(224, 16, False),
                                                            (224, 32, False),
                                                            (96, 16, False),
                                                            (160, 32, False),
                                                            (64, 16, True)])
def test_tiny_random_teacher_shapes(image_size, patch_size, custom):
    cfg = dict(TINY, image_size=image_size, patch_size=patch_size)
    cfg.update(qk_norm=custom, scale_heads=custom)
    torch.manual_seed(0)
    teacher = CLIPTeacher(pretrained=None, vision_cfg=cfg)
    grid = image_size // patch_size
    assert teacher.patch_grid == (grid, grid)
    assert teacher.out_channels == 32
    batch = 2 if custom else 3
    images = torch.randn(batch, 3, image_size, image_size)
    feats, attn = teacher(images)
    assert feats.shape == (batch, 32, grid, grid)
    assert attn.shape == (batch, grid * grid)
    assert (attn > 0).all() and (attn.sum(-1) < 1).all()
    # Same numbers as open_clip's own forward and an explicit attention.
    _, rel = relative_error(feats, reference_tokens(teacher, images))
    assert rel < 1e-5
    block = teacher.visual.transformer.resblocks[-1]
    if custom:
        assert type(block).__name__ == 'CustomResidualAttentionBlock'
    else:
        _, rel = relative_error(attn,
                                reference_last_attention(teacher, images))
        assert rel < 1e-5


class Holder(nn.Module):
    """A parent model owning a teacher and one trainable layer."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.head = nn.Linear(4, 4)
        self.teacher = CLIPTeacher(
            pretrained=None, vision_cfg=dict(TINY, image_size=32))


def test_teacher_is_frozen_and_stays_in_eval_mode():
    holder = Holder()
    teacher = holder.teacher
    assert not any(p.requires_grad for p in teacher.parameters())
    holder.train()
    assert holder.head.training and not teacher.training
    assert not any(m.training for m in teacher.modules())
    teacher.train(True)
    assert not teacher.training
    images = torch.randn(1, 3, 32, 32, requires_grad=True)
    feats, attn = teacher(images)
    assert not feats.requires_grad and not attn.requires_grad


def test_teacher_weights_are_not_saved_nor_required():
    holder = Holder()
    state = holder.state_dict()
    assert set(state) == {'head.weight', 'head.bias'}
    assert holder.teacher.state_dict() == {}

    other = Holder()
    load_state_dict(other, state, strict=True)  # mmengine's loader
    assert torch.equal(other.head.bias, holder.head.bias)
    torch.manual_seed(1)
    nn.init.normal_(other.teacher.visual.proj)
    before = {
        k: v.clone()
        for k, v in other.teacher.visual.state_dict().items()
    }
    result = other.load_state_dict(state, strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert torch.equal(other.head.weight, holder.head.weight)
    # Teacher weights only ever come from `pretrained`.
    stale = dict(state, **{'teacher.visual.proj': torch.zeros(64, 32)})
    other.load_state_dict(stale, strict=True)
    for key, value in other.teacher.visual.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_missing_weights_file_or_uncached_tag_raise(tmp_path):
    missing = str(tmp_path / 'no_such_clip.pt')
    with pytest.raises(FileNotFoundError) as info:
        CLIPTeacher(pretrained=missing)
    assert missing in str(info.value)
    assert 'pass its local path as pretrained=' in str(info.value)
    with pytest.raises(FileNotFoundError, match='not in the local cache'):
        CLIPTeacher('ViT-B-16', pretrained='openai', cache_dir=str(tmp_path))


@pytest.mark.parametrize('kwargs, match', [
    (dict(model_name='ViT-Q-99'), "unknown open_clip model_name 'ViT-Q-99'"),
    (dict(model_name='RN50'), 'non-ViT'),
    (dict(model_name='ViT-B-16-SigLIP'), 'non-ViT'),
    (dict(model_name='hf-hub:org/model'), 'built-in open_clip model name'),
    (dict(vision_cfg=TINY, precision='fp8'), 'precision must be one of'),
    (dict(vision_cfg=dict(TINY, depth=3)), 'vision_cfg has unknown keys'),
    (dict(vision_cfg=dict(TINY, heads=3)), 'heads=3 must divide width=64'),
    (dict(vision_cfg=dict(width=96)), 'not a multiple of head_width 64'),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CLIPTeacher(pretrained=None, **kwargs)


def test_bad_weights_raise(parity_fixture, tmp_path):
    with pytest.raises(ValueError, match='contradicts the pretrained'):
        CLIPTeacher(
            pretrained=parity_fixture['clip_openai_state_dict'],
            vision_cfg=dict(width=256))
    not_clip = tmp_path / 'not_clip.pth'
    torch.save({'weight': torch.zeros(3)}, not_clip)
    with pytest.raises(ValueError, match='no open_clip / OpenAI ViT'):
        CLIPTeacher(pretrained=str(not_clip))
    broken = tmp_path / 'broken.pth'
    broken.write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match='cannot read pretrained file'):
        CLIPTeacher(pretrained=str(broken))


def test_bad_images_raise():
    teacher = CLIPTeacher(
        pretrained=None, vision_cfg=dict(TINY, image_size=32))
    for images in (torch.randn(1, 3, 64, 64), torch.randn(3, 32, 32)):
        with pytest.raises(ValueError, match=r'images must have shape'):
            teacher(images)


@pytest.mark.gpu
@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')
@pytest.mark.parametrize('precision', ['fp32', 'fp16', 'bf16', 'auto'])
def test_cuda_precisions(parity_fixture, fixture_images, precision):
    teacher = CLIPTeacher(
        pretrained=parity_fixture['clip_openai_state_dict'],
        precision=precision).cuda()
    feats, attn = teacher(fixture_images.cuda())
    assert feats.dtype == attn.dtype == torch.float32
    records = parity_fixture['records']
    tol = 1e-4 if precision == 'fp32' else 5e-2
    _, rel = relative_error(feats.cpu(), records['img_feats'])
    assert rel <= tol


def test_embed_dim_argument_and_outer_autocast():
    cfg = dict(TINY, image_size=32)
    cfg.pop('embed_dim')
    teacher = CLIPTeacher(pretrained=None, vision_cfg=cfg, embed_dim=24)
    assert teacher.out_channels == 24
    with pytest.raises(ValueError, match='embed_dim=24 contradicts'):
        CLIPTeacher(
            pretrained=None, vision_cfg=dict(cfg, embed_dim=8), embed_dim=24)
    images = torch.randn(2, 3, 32, 32)
    feats, attn = teacher(images)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        feats_amp, attn_amp = teacher(images)
    assert torch.equal(feats, feats_amp) and torch.equal(attn, attn_amp)


@pytest.mark.parametrize('fast_bf16', [False, True])
def test_cpu_precisions(monkeypatch, fast_bf16):
    monkeypatch.setattr(half_precision, 'cpu_has_fast_bfloat16',
                        lambda: fast_bf16)
    teacher = CLIPTeacher(
        pretrained=None, vision_cfg=dict(TINY, image_size=32))
    images = torch.randn(2, 3, 32, 32)
    outputs = {}
    for precision in ('fp32', 'bf16', 'auto'):
        teacher.precision = precision
        outputs[precision] = teacher(images)
        assert all(t.dtype == torch.float32 for t in outputs[precision])
    for ref, half in zip(outputs['fp32'], outputs['bf16']):
        assert not torch.equal(ref, half)
        assert relative_error(half, ref)[1] < 5e-2
    # auto: bf16 where the CPU multiplies it natively, float32 elsewhere
    expected = outputs['bf16' if fast_bf16 else 'fp32']
    for out, ref in zip(outputs['auto'], expected):
        assert torch.equal(out, ref)


@pytest.mark.parametrize('need_weights', [False, True])
def test_packed_attention_is_multihead_attention(need_weights):
    """The blocks' batch-first attention computes nn.MultiheadAttention."""
    torch.manual_seed(0)
    attn = nn.MultiheadAttention(32, 4, batch_first=True).eval()
    assert _packs_batch_first(attn)
    assert not _packs_batch_first(
        nn.MultiheadAttention(32, 4, batch_first=True, add_bias_kv=True))
    y = torch.randn(3, 9, 32)
    with torch.no_grad():
        out, weights = _packed_multihead_attention(attn, y, need_weights)
        ref_out, ref_weights = attn(y, y, y, need_weights=True)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-6)
    if need_weights:
        torch.testing.assert_close(weights, ref_weights, rtol=1e-5, atol=1e-7)
    else:
        assert weights is None

"""Tests of the CLIP checkpoint loader behind CLIPTeacher."""
import pytest
import torch

from projects.I2PMAE.i2pmae.models.clip_checkpoint_loader import \
    load_clip_image_tower
from projects.I2PMAE.i2pmae.models.clip_teacher import CLIPTeacher

TINY = dict(
    image_size=32, patch_size=16, width=64, layers=2, heads=1, embed_dim=32)


@pytest.fixture(scope='module')
def tiny_state_dict():
    """OpenAI-layout weights (``visual.*``) of a tiny random tower."""
    torch.manual_seed(0)
    visual, _ = load_clip_image_tower('ViT-B-16', None, vision_cfg=TINY)
    return {f'visual.{k}': v for k, v in visual.state_dict().items()}


def test_loaded_tower_has_the_weights_and_sizes(tiny_state_dict, tmp_path):
    path = tmp_path / 'tiny.pth'
    torch.save(tiny_state_dict, path)
    visual, quick_gelu = load_clip_image_tower('ViT-B-16', str(path))
    assert not quick_gelu  # a plain state-dict file cannot tell
    assert visual.grid_size == (2, 2) and visual.proj.shape == (64, 32)
    for key, value in visual.state_dict().items():
        assert torch.equal(value, tiny_state_dict[f'visual.{key}']), key
    _, quick_gelu = load_clip_image_tower('ViT-B-16', tiny_state_dict)
    assert quick_gelu  # in-memory state dicts are OpenAI's layout


@pytest.mark.parametrize('key, value, mismatch', [
    ('visual.proj', None, "missing ['proj']"),
    ('visual.transformer.extra', torch.zeros(1),
     "unexpected ['transformer.extra']"),
    ('visual.class_embedding', torch.zeros(65),
     'size mismatch for class_embedding'),
])
def test_checkpoint_that_does_not_fit_names_file_and_mismatch(
        tiny_state_dict, tmp_path, key, value, mismatch):
    state = dict(tiny_state_dict, **{key: value})
    state = {k: v for k, v in state.items() if v is not None}
    path = tmp_path / 'misfit.pth'
    torch.save(state, path)
    with pytest.raises(ValueError) as info:
        CLIPTeacher(pretrained=str(path))
    message = str(info.value)
    assert f'pretrained file {str(path)!r} does not fit ViT-B-16' in message
    assert mismatch in message
    with pytest.raises(ValueError, match='pretrained state dict does not'):
        CLIPTeacher(pretrained=state)

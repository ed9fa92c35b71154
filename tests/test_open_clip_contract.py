"""The open_clip API the CLIP teacher relies on, and nothing private.

The first tests pin the public names, signatures, module attributes and
checkpoint keys the teacher and its loader use, so that an open_clip
release that changes them fails here; the last ones fail on any private
open_clip name in the plugin's sources.
"""
import ast
import dataclasses
import glob
import inspect
import os.path as osp
import re

import open_clip
import pytest
import torch
from open_clip.factory import load_state_dict
from open_clip.transformer import (Attention, CustomResidualAttentionBlock,
                                   ResidualAttentionBlock, Transformer,
                                   VisionTransformer)
from torch import nn

from projects.I2PMAE.i2pmae.models.clip_checkpoint_loader import \
    UNUSED_TEXT_TOWER

PACKAGE = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'projects', 'I2PMAE',
    'i2pmae')

TINY_VISION = dict(
    image_size=32, patch_size=16, width=64, layers=2, head_width=32)


def parameter_names(func) -> list:
    """Names of the parameters of ``func``, in order."""
    return list(inspect.signature(func).parameters)


def test_open_clip_version():
    major = int(open_clip.__version__.split('.')[0])
    assert major >= 3, open_clip.__version__


def test_public_functions_and_signatures():
    assert parameter_names(
        open_clip.CLIP)[:3] == ['embed_dim', 'vision_cfg', 'text_cfg']
    assert 'quick_gelu' in parameter_names(open_clip.CLIP)
    assert parameter_names(open_clip.get_model_config) == ['model_name']
    assert parameter_names(open_clip.list_models) == []
    assert parameter_names(open_clip.get_pretrained_cfg) == ['model', 'tag']
    assert parameter_names(
        open_clip.list_pretrained_tags_by_model) == ['model']
    assert parameter_names(load_state_dict)[0] == 'checkpoint_path'
    vit = open_clip.get_model_config('ViT-B-16')
    assert {'embed_dim', 'vision_cfg'} <= set(vit)
    assert open_clip.get_pretrained_cfg('ViT-B-16', 'openai')['quick_gelu']
    assert 'openai' in open_clip.list_pretrained_tags_by_model('ViT-B-16')
    fields = {f.name for f in dataclasses.fields(open_clip.CLIPVisionCfg)}
    assert {
        'image_size', 'patch_size', 'width', 'layers', 'head_width',
        'mlp_ratio', 'no_ln_pre', 'ls_init_value', 'timm_model_name',
        'attentional_pool', 'qk_norm', 'scale_heads'
    } <= fields


def test_clip_builds_its_image_tower_first():
    # The loader restores the random state left by the image tower.
    order = []

    def record(module, name, submodule):
        if isinstance(module, open_clip.CLIP):
            order.append(name)

    handle = nn.modules.module.register_module_module_registration_hook(record)
    try:
        clip = open_clip.CLIP(16, TINY_VISION, UNUSED_TEXT_TOWER)
    finally:
        handle.remove()
    assert order[0] == 'visual'
    assert isinstance(clip.visual, VisionTransformer)


@pytest.mark.parametrize('custom', [False, True])
def test_image_tower_modules_and_checkpoint_keys(custom):
    vision = dict(TINY_VISION, ls_init_value=0.1, qk_norm=custom)
    visual = open_clip.CLIP(16, vision, UNUSED_TEXT_TOWER).visual
    for name in ('conv1', 'class_embedding', 'positional_embedding',
                 'patch_dropout', 'ln_pre', 'transformer', 'ln_post', 'proj',
                 'grid_size', 'image_size', 'attn_pool'):
        assert hasattr(visual, name), name
    assert isinstance(visual.transformer, Transformer)
    assert visual.transformer.batch_first is True  # the teacher relies on it
    block = visual.transformer.resblocks[-1]
    block_type = CustomResidualAttentionBlock if custom else \
        ResidualAttentionBlock
    assert isinstance(block, block_type)
    for name in ('ln_1', 'attn', 'ls_1', 'ln_2', 'mlp', 'ls_2') + \
            (('ln_attn', ) if custom else ()):
        assert isinstance(getattr(block, name), nn.Module), name
    if custom:
        assert isinstance(block.attn, Attention)
        for name in ('in_proj_weight', 'in_proj_bias', 'num_heads',
                     'logit_scale', 'logit_scale_max', 'ln_q', 'ln_k', 'scale',
                     'head_scale', 'ln_inner', 'out_proj'):
            assert hasattr(block.attn, name), name
    else:
        assert isinstance(block.attn, nn.MultiheadAttention)
    keys = set(visual.state_dict())
    assert {
        'conv1.weight', 'positional_embedding', 'ln_pre.weight', 'proj',
        'transformer.resblocks.0.mlp.c_fc.weight',
        'transformer.resblocks.0.ls_1.gamma'
    } <= keys
    # The tower's own forward still gives the tokens the teacher reads.
    visual.output_tokens = True
    with torch.no_grad():
        _, tokens = visual(torch.randn(1, 3, 32, 32))
    assert tokens.shape == (1, 4, 64)


def private_open_clip_names() -> set:
    """Private methods of open_clip's transformer modules (not nn.Module's)."""
    names = set()
    for cls in (VisionTransformer, Transformer, ResidualAttentionBlock,
                CustomResidualAttentionBlock, Attention):
        names |= {
            name
            for name in vars(cls) if name.startswith('_')
            and not name.startswith('__') and not hasattr(nn.Module, name)
        }
    return names


def private_uses(source: str) -> list:
    """The private open_clip names (list[str]) a Python source uses."""
    found = []
    modules = set()  # local names bound to open_clip modules
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split('.')[0] == 'open_clip':
                    modules.add((alias.asname or alias.name).split('.')[0])
                    if re.search(r'(^|\.)_', alias.name):
                        found.append(alias.name)
        elif isinstance(node, ast.ImportFrom) and \
                (node.module or '').split('.')[0] == 'open_clip':
            if re.search(r'(^|\.)_', node.module):
                found.append(node.module)
            for alias in node.names:
                modules.add(alias.asname or alias.name)
                if alias.name.startswith('_'):
                    found.append(f'{node.module}.{alias.name}')
    for match in re.finditer(r'\b(\w+)((?:\.\w+)+)', source):
        root, path = match.group(1), match.group(2)
        if root in modules and re.search(r'\._', path):
            found.append(match.group(0))
    for name in private_open_clip_names():
        if re.search(rf'\.{name}\b', source):
            found.append(name)
    if re.search(r'\b_build_vision_tower\b', source):
        found.append('_build_vision_tower')
    return found


def test_private_name_check_finds_private_names():
    assert private_uses('from open_clip.model import _build_vision_tower')
    assert private_uses('import open_clip\nx = open_clip.model._x(1)')
    assert private_uses('import open_clip as oc\noc._private()')
    assert private_uses('from open_clip._hidden import thing')
    assert private_uses('x = visual._embeds(images)')
    assert private_uses('x = self.visual._pool(x)')
    assert private_uses('from open_clip import model\nmodel._x()')
    assert private_uses('tower = _build_vision_tower(1, cfg)')
    assert not private_uses('import open_clip\nopen_clip.create_model(1)')
    assert not private_uses('from open_clip.transformer import Attention')


def test_package_uses_no_private_open_clip_names():
    files = glob.glob(osp.join(PACKAGE, '**', '*.py'), recursive=True)
    assert files
    uses = {}
    for path in files:
        with open(path, encoding='utf-8') as f:
            found = private_uses(f.read())
        if found:
            uses[osp.relpath(path, PACKAGE)] = found
    assert uses == {}, f'private open_clip names used: {uses}'

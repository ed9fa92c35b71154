"""Build the CLIP teacher's open_clip image tower from a checkpoint.

Files are read by open_clip's ``load_state_dict`` (safetensors, training
checkpoints, state dicts) or, for OpenAI TorchScript archives, by
``torch.jit.load``; the tower's sizes are read from its weights.
"""
import dataclasses
import logging
import os
import os.path as osp
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import open_clip
import torch
from huggingface_hub import try_to_load_from_cache
from mmengine.logging import print_log
from open_clip.factory import load_state_dict
from torch import Tensor, nn
from torch.nn.modules.module import register_module_module_registration_hook

#: The smallest text tower ``open_clip.CLIP`` builds; it is dropped.
UNUSED_TEXT_TOWER = dict(
    context_length=1, vocab_size=1, width=8, heads=1, layers=1)

DOWNLOAD_HINT = (
    'Nothing is downloaded automatically: fetch the checkpoint once on a '
    'machine with internet access (e.g. the OpenAI ViT-B-16.pt archive, or '
    "open_clip.create_model('{model}', pretrained='<tag>') which fills the "
    'open_clip cache) and pass its local path as pretrained=..., or pass '
    'pretrained=None for a randomly initialised teacher.')


def load_clip_image_tower(
        model_name: str,
        pretrained: Union[str, Mapping[str, Tensor], None],
        vision_cfg: Optional[Dict[str, Any]] = None,
        embed_dim: Optional[int] = None,
        quick_gelu: Optional[bool] = None,
        cache_dir: Optional[str] = None) -> Tuple[nn.Module, bool]:
    """Build an open_clip ViT image tower and load its weights.

    Args:
        model_name, pretrained, vision_cfg, embed_dim, quick_gelu,
            cache_dir: as documented by :class:`CLIPTeacher`.

    Returns:
        tuple[nn.Module, bool]: the float32 ``VisionTransformer`` (randomly
        initialised when ``pretrained`` is None) and whether it uses
        QuickGELU.
    """
    explicit = dict(vision_cfg or {})
    if embed_dim is not None and \
            explicit.setdefault('embed_dim', embed_dim) != embed_dim:
        raise ValueError(f'embed_dim={embed_dim} contradicts vision_cfg '
                         f"embed_dim={explicit['embed_dim']}")
    vision, embed_dim, config_quick_gelu = _vit_config(model_name, explicit)
    weights, source, source_quick_gelu = None, None, False
    if pretrained is None:
        print_log(
            f'CLIPTeacher: pretrained=None, the {model_name} teacher is '
            'randomly initialised (fine for tests and demos only).',
            logger='current',
            level=logging.WARNING)
    else:
        expected = _expected_sizes(model_name, vision, embed_dim,
                                   explicit.get('heads'))
        weights, source, source_quick_gelu = _read_weights(
            pretrained, model_name, cache_dir, expected)
        vision, embed_dim = _fit_to_weights(
            vision, embed_dim, weights, explicit,
            isinstance(pretrained, Mapping),
            f'pretrained {source} (the config expects {expected})')
    _set_heads(vision, explicit.get('heads'))
    if quick_gelu is None:
        quick_gelu = config_quick_gelu or source_quick_gelu
    visual = _build_image_tower(embed_dim, vision, quick_gelu)
    if weights is not None:
        misfit = f'pretrained {source} does not fit {model_name} (vision ' \
            f'cfg {vision}): '
        try:
            result = visual.load_state_dict(weights, strict=False)
        except RuntimeError as err:  # tensors of other shapes
            raise ValueError(misfit + str(err)) from err
        if result.missing_keys or result.unexpected_keys:
            raise ValueError(misfit + f'missing {result.missing_keys[:5]}, '
                             f'unexpected {result.unexpected_keys[:5]}')
    return visual.float(), quick_gelu


def _vit_config(model_name: str,
                overrides: Dict[str, Any]) -> Tuple[Dict, int, bool]:
    """``CLIPVisionCfg`` values, output dim and QuickGELU of a ViT config.

    ``overrides`` (``vision_cfg``) holds ``CLIPVisionCfg`` fields plus
    ``heads`` (left to :func:`_set_heads`) and ``embed_dim``; hub and
    local-dir model names are refused.
    """
    if not isinstance(model_name, str) or ':' in model_name:
        raise ValueError(
            f'model_name must be a built-in open_clip model name such '
            f"as 'ViT-B-16', got {model_name!r} (hub and local-dir "
            'schemas are not supported; pass local weights as '
            'pretrained=...)')
    cfg = open_clip.get_model_config(model_name)
    if cfg is None:
        vits = [m for m in open_clip.list_models() if m.startswith('ViT')]
        raise ValueError(
            f'unknown open_clip model_name {model_name!r}; known ViT '
            f'configs include {vits[:8]} (see open_clip.list_models())')
    fields = {f.name for f in dataclasses.fields(open_clip.CLIPVisionCfg)}
    unknown = sorted(set(overrides) - fields - {'heads', 'embed_dim'})
    if unknown:
        raise ValueError(
            f'vision_cfg has unknown keys {unknown}; allowed: heads, '
            f'embed_dim and the fields of open_clip CLIPVisionCfg')
    vision = dict(cfg['vision_cfg'])
    vision.update((k, v) for k, v in overrides.items() if k in fields)
    if vision.get('timm_model_name') or isinstance(
            vision.get('layers'), (list, tuple)):
        raise ValueError(
            f'model_name={model_name!r} has a non-ViT (ResNet / timm) '
            'image tower; CLIPTeacher supports open_clip ViTs only')
    if vision.get('attentional_pool'):
        raise ValueError(f'model_name={model_name!r} uses attentional '
                         'pooling; CLIPTeacher needs plain ViT patch tokens')
    embed_dim = int(overrides.get('embed_dim', cfg['embed_dim']))
    return vision, embed_dim, bool(cfg.get('quick_gelu'))


def _expected_sizes(model_name: str, vision: Dict[str, Any], embed_dim: int,
                    heads: Optional[int]) -> str:
    """The configured tower, for error messages: name and main sizes."""
    sizes = [
        f'{key}={vision.get(key)}'
        for key in ('image_size', 'patch_size', 'width', 'layers')
    ]
    sizes.append(f'heads={heads}' if heads is not None else
                 f"head_width={vision.get('head_width', 64)}")
    return f"model_name={model_name!r} ({', '.join(sizes)}, " \
        f'embed_dim={embed_dim})'


def _fit_to_weights(vision: Dict[str, Any], embed_dim: int,
                    weights: Dict[str, Tensor], explicit: Dict[str, Any],
                    quiet: bool, source: str) -> Tuple[Dict, int]:
    """Replace the configured sizes by those stored in the weights.

    A difference from the named config is logged (at info level when
    ``quiet``: in-memory OpenAI state dicts, whose sizes open_clip always
    reads from the weights); one from the explicit ``vision_cfg`` raises,
    naming ``source`` (the file and the configured tower). Weights of another
    shape (e.g. a non-square patch grid) are refused when they are loaded.
    """
    conv = weights['conv1.weight']
    width, patch = conv.shape[0], conv.shape[-1]
    grid = round((weights['positional_embedding'].shape[0] - 1)**0.5)
    blocks = {
        k.split('.')[2]
        for k in weights if k.startswith('transformer.resblocks.')
    }
    mlp_dim = weights['transformer.resblocks.0.mlp.c_fc.weight'].shape[0]
    sizes = dict(
        width=width,
        patch_size=patch,
        layers=len(blocks),
        image_size=grid * patch,
        mlp_ratio=mlp_dim / width,
        no_ln_pre='ln_pre.weight' not in weights,
        embed_dim=weights['proj'].shape[1] if 'proj' in weights else embed_dim)
    if 'transformer.resblocks.0.ls_1.gamma' in weights:
        sizes['ls_init_value'] = 1e-5  # the loaded gammas replace it
    conflicts = {
        key: (explicit[key], value)
        for key, value in sizes.items()
        if key in explicit and explicit[key] != value
    }
    if conflicts:
        raise ValueError(f'{source}: vision_cfg contradicts the '
                         'pretrained weights (key: (vision_cfg, weights)): '
                         f'{conflicts}')
    configured = dict(vision, embed_dim=embed_dim)
    changed = {
        key: (configured[key], value)
        for key, value in sizes.items()
        if key in configured and configured[key] != value
    }
    if changed:
        print_log(
            'CLIPTeacher: the pretrained weights define a different '
            f'architecture than the model config, using the weights '
            f'(key: (config, weights)): {changed}',
            logger='current',
            level=logging.INFO if quiet else logging.WARNING)
    vision = dict(vision, **sizes)
    embed_dim = vision.pop('embed_dim')
    return vision, embed_dim


def _set_heads(vision: Dict[str, Any], heads: Optional[int]) -> None:
    """Set ``head_width`` from ``heads``, or check the one configured."""
    width = vision.get('width', open_clip.CLIPVisionCfg.width)
    if heads is not None:
        if int(heads) <= 0 or width % int(heads):
            raise ValueError(f'vision_cfg heads={heads} must divide '
                             f'width={width}')
        vision['head_width'] = width // int(heads)
    elif width % vision.get('head_width', 64):
        raise ValueError(
            f"width {width} is not a multiple of head_width "
            f"{vision.get('head_width', 64)}; pass vision_cfg=dict(heads=...)")


def _build_image_tower(embed_dim: int, vision: Dict[str, Any],
                       quick_gelu: bool) -> nn.Module:
    """The randomly initialised image tower of an ``open_clip.CLIP``.

    The random state is set back to where the image tower left it, before
    the (dropped) text tower, as if the image tower was built alone.
    """
    states = []

    def keep_state(module: nn.Module, name: str, submodule: nn.Module):
        if name == 'visual' and isinstance(module, open_clip.CLIP):
            states.append(torch.get_rng_state())

    handle = register_module_module_registration_hook(keep_state)
    try:
        clip = open_clip.CLIP(
            embed_dim, vision, UNUSED_TEXT_TOWER, quick_gelu=quick_gelu)
    finally:
        handle.remove()
    torch.set_rng_state(states[0])
    return clip.visual


def _read_weights(pretrained: Union[str, Mapping[str, Tensor]],
                  model_name: str, cache_dir: Optional[str],
                  expected: str) -> Tuple[Dict, str, bool]:
    """Image-tower weights of ``pretrained``.

    ``expected`` describes the configured tower in the error of a missing
    file.

    Returns:
        tuple[dict, str, bool]: float32 weights without the ``visual.``
        prefix, where they came from (for errors) and whether the source
        calls for QuickGELU (OpenAI archives, in-memory OpenAI state dicts,
        tags of QuickGELU models).
    """
    if isinstance(pretrained, Mapping):
        return _vision_weights(pretrained, 'state dict'), 'state dict', True
    if not isinstance(pretrained, (str, os.PathLike)):
        raise ValueError('pretrained must be an open_clip tag, a file '
                         'path, a state dict or None, got '
                         f'{type(pretrained).__name__}')
    path = os.fspath(pretrained)
    hint = DOWNLOAD_HINT.format(model=model_name)
    quick_gelu = False
    if not osp.isfile(path):
        tag_cfg = open_clip.get_pretrained_cfg(model_name, path)
        if not tag_cfg:
            tags = open_clip.list_pretrained_tags_by_model(model_name)
            raise FileNotFoundError(
                f'CLIPTeacher: pretrained={path!r} is neither an existing '
                f'file nor an open_clip tag of {model_name} (tags: {tags}); '
                f'the config expects the image tower {expected}. {hint}')
        quick_gelu = bool(tag_cfg.get('quick_gelu', False))
        path = _cached_tag_file(tag_cfg, cache_dir)
        if path is None:
            raise FileNotFoundError(
                f'CLIPTeacher: open_clip weights {model_name} / '
                f'{pretrained!r} are not in the local cache. {hint}')
    try:
        try:  # OpenAI TorchScript archives
            state = torch.jit.load(path, map_location='cpu').state_dict()
            quick_gelu = True
        except RuntimeError:
            state = load_state_dict(path)
    except Exception as err:  # whatever makes the file unreadable
        raise ValueError(f'CLIPTeacher: cannot read pretrained file '
                         f'{path!r}: {err}') from err
    source = f'file {path!r}'
    return _vision_weights(state, source), source, quick_gelu


def _cached_tag_file(tag_cfg: Dict[str, Any],
                     cache_dir: Optional[str]) -> Optional[str]:
    """Local file of an open_clip pretrained tag, or None if uncached.

    Only the Hugging Face hub cache and open_clip's URL download folder are
    looked at; nothing is fetched.
    """
    # 'org/repo/' means open_clip's default file names.
    repo_id, filename = osp.split(tag_cfg.get('hf_hub', ''))
    names = [filename] if filename else [
        'open_clip_model.safetensors', 'open_clip_pytorch_model.bin'
    ]
    if filename.endswith(('.bin', '.pth')):
        names.insert(0, filename[:-4] + '.safetensors')
    found = [
        try_to_load_from_cache(repo_id, name, cache_dir=cache_dir)
        for name in names if repo_id
    ]
    if tag_cfg.get('url'):
        folder = cache_dir or osp.expanduser('~/.cache/clip')
        found.append(osp.join(folder, osp.basename(tag_cfg['url'])))
    return next((f for f in found if isinstance(f, str) and osp.isfile(f)),
                None)


def _vision_weights(state: Mapping[str, Any],
                    source: str) -> Dict[str, Tensor]:
    """Float32 image-tower weights of a CLIP state dict.

    ``visual.`` prefixes are removed (bare image-tower state dicts have
    none); ``source`` names the state dict in errors.
    """
    visual = {
        k[len('visual.'):]: v
        for k, v in state.items() if k.startswith('visual.')
    } or state  # or already a bare image tower
    if 'conv1.weight' not in visual or \
            'positional_embedding' not in visual:
        raise ValueError(
            f'pretrained {source} has no open_clip / OpenAI ViT vision '
            "tower (no 'visual.conv1.weight' and "
            "'visual.positional_embedding'); only ViT image towers are "
            'supported')
    return {k: v.float() for k, v in visual.items() if isinstance(v, Tensor)}

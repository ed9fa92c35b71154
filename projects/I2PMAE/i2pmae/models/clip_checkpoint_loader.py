"""Build the CLIP teacher's open_clip image tower from a checkpoint.

All CLIP checkpoint handling lives here: open_clip tags found in the local
caches, local files (open_clip training checkpoints, OpenAI state dicts or
TorchScript archives, safetensors), in-memory state dicts, and the tower
sizes stored in their weights. Only open_clip's public API is used.
"""
import dataclasses
import logging
import os
import os.path as osp
import pickle
import zipfile
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import open_clip
import torch
from mmengine.logging import print_log
from torch import Tensor, nn
from torch.nn.modules.module import register_module_module_registration_hook

#: Keys of the OpenAI TorchScript archives that are not weights.
OPENAI_ARCHIVE_EXTRAS = ('input_resolution', 'context_length', 'vocab_size')

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
            cache_dir: as documented by :class:`CLIPTeacher`. The sizes
            stored in the weights win over ``model_name``'s config (a
            difference is logged); ``vision_cfg`` values that contradict
            them raise a ValueError.

    Returns:
        tuple[nn.Module, bool]: the float32 ``VisionTransformer`` (randomly
        initialised when ``pretrained`` is None) and whether it uses
        QuickGELU.
    """
    model_cfg = _model_config(model_name)
    explicit = dict(vision_cfg or {})
    if embed_dim is not None:
        if explicit.get('embed_dim', embed_dim) != embed_dim:
            raise ValueError(f'embed_dim={embed_dim} contradicts vision_cfg '
                             f"embed_dim={explicit['embed_dim']}")
        explicit['embed_dim'] = embed_dim
    vision, embed_dim = _merge_vision_cfg(model_cfg, explicit)
    weights, source, source_quick_gelu = None, None, False
    if pretrained is None:
        print_log(
            f'CLIPTeacher: pretrained=None, the {model_name} teacher is '
            'randomly initialised (fine for tests and demos only).',
            logger='current',
            level=logging.WARNING)
    else:
        weights, source, source_quick_gelu = _read_weights(
            pretrained, model_name, cache_dir)
        vision, embed_dim = _fit_to_weights(vision, embed_dim, weights,
                                            explicit,
                                            isinstance(pretrained, Mapping))
    if quick_gelu is None:
        quick_gelu = bool(model_cfg.get('quick_gelu') or source_quick_gelu)
    if vision.get('timm_model_name') or isinstance(
            vision.get('layers'), (list, tuple)):
        raise ValueError(
            f'model_name={model_name!r} does not have an open_clip '
            'VisionTransformer image tower; CLIPTeacher supports ViTs')
    if vision.get('attentional_pool'):
        raise ValueError(f'model_name={model_name!r} uses attentional '
                         'pooling; CLIPTeacher needs plain ViT patch tokens')
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


def _model_config(model_name: str) -> Dict[str, Any]:
    """open_clip config of a built-in ViT model name (no hub look-ups)."""
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
    vision = cfg.get('vision_cfg', {})
    if vision.get('timm_model_name') or isinstance(
            vision.get('layers'), (list, tuple)):
        raise ValueError(
            f'model_name={model_name!r} has a non-ViT (ResNet / timm) '
            'image tower; CLIPTeacher supports open_clip ViTs only')
    return cfg


def _merge_vision_cfg(model_cfg: Dict[str, Any],
                      overrides: Dict[str, Any]) -> Tuple[Dict, int]:
    """``CLIPVisionCfg`` values and output dim after ``vision_cfg``.

    ``overrides`` holds ``CLIPVisionCfg`` fields plus ``heads`` (turned
    into ``head_width``) and ``embed_dim``.
    """
    vision = dict(model_cfg['vision_cfg'])
    overrides = dict(overrides)
    embed_dim = int(overrides.pop('embed_dim', model_cfg['embed_dim']))
    heads = overrides.pop('heads', None)
    fields = {f.name: f for f in dataclasses.fields(open_clip.CLIPVisionCfg)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ValueError(
            f'vision_cfg has unknown keys {unknown}; allowed: heads, '
            f'embed_dim and the fields of open_clip CLIPVisionCfg')
    vision.update(overrides)
    if heads is not None:
        width = vision.get('width', fields['width'].default)
        if int(heads) <= 0 or width % int(heads):
            raise ValueError(f'vision_cfg heads={heads} must divide '
                             f'width={width}')
        vision['head_width'] = width // int(heads)
    return vision, embed_dim


def _fit_to_weights(vision: Dict[str, Any], embed_dim: int,
                    weights: Dict[str, Tensor], explicit: Dict[str, Any],
                    quiet: bool) -> Tuple[Dict, int]:
    """Replace the configured sizes by those stored in the weights.

    Width, depth, patch and image size, MLP ratio, ``ln_pre``, layer scale
    and output dim come from the weights. A difference from the named
    config is logged (at info level when ``quiet``: in-memory OpenAI state
    dicts, whose sizes open_clip always reads from the weights); one from
    the explicit ``vision_cfg`` raises.
    """
    conv = weights['conv1.weight']
    width, patch = conv.shape[0], conv.shape[-1]
    num_tokens = weights['positional_embedding'].shape[0] - 1
    grid = round(num_tokens**0.5)
    if grid * grid != num_tokens or conv.shape[-2] != patch:
        raise ValueError('pretrained weights have a non-square patch grid '
                         f'({num_tokens} tokens, patch {tuple(conv.shape)})'
                         '; only square ViT inputs are supported')
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
        no_ln_pre='ln_pre.weight' not in weights)
    if 'transformer.resblocks.0.ls_1.gamma' in weights:
        sizes['ls_init_value'] = 1e-5  # the loaded gammas replace it
    weight_embed = weights['proj'].shape[1] if 'proj' in weights else \
        embed_dim
    conflicts = {
        key: (explicit[key], value)
        for key, value in dict(sizes, embed_dim=weight_embed).items()
        if key in explicit and explicit[key] != value
    }
    if conflicts:
        raise ValueError('vision_cfg contradicts the pretrained weights '
                         f'(key: (vision_cfg, weights)): {conflicts}')
    changed = {
        key: (vision.get(key), value)
        for key, value in sizes.items()
        if key in vision and vision[key] != value
    }
    if weight_embed != embed_dim:
        changed['embed_dim'] = (embed_dim, weight_embed)
    if changed:
        print_log(
            'CLIPTeacher: the pretrained weights define a different '
            f'architecture than the model config, using the weights '
            f'(key: (config, weights)): {changed}',
            logger='current',
            level=logging.INFO if quiet else logging.WARNING)
    vision = dict(vision, **sizes)
    if explicit.get('heads') is not None:
        vision['head_width'] = vision['width'] // int(explicit['heads'])
    if vision['width'] % vision.get('head_width', 64):
        raise ValueError(
            f"width {vision['width']} of the pretrained weights is not "
            f"a multiple of head_width {vision.get('head_width', 64)}; "
            'pass vision_cfg=dict(heads=...)')
    return vision, weight_embed


def _build_image_tower(embed_dim: int, vision: Dict[str, Any],
                       quick_gelu: bool) -> nn.Module:
    """The randomly initialised image tower of an ``open_clip.CLIP``.

    ``open_clip.CLIP`` builds its image tower first, then a text tower (the
    smallest possible here, and dropped). The global random state is set
    back to where the image tower left it, so that seeded runs draw the
    same numbers after the teacher as if the image tower was built alone.
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


def _read_weights(pretrained: Union[str, Mapping[str,
                                                 Tensor]], model_name: str,
                  cache_dir: Optional[str]) -> Tuple[Dict, str, bool]:
    """Image-tower weights of ``pretrained``.

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
                f'file nor an open_clip tag of {model_name} (tags: {tags}). '
                f'{hint}')
        quick_gelu = bool(tag_cfg.get('quick_gelu', False))
        path = _cached_tag_file(tag_cfg, cache_dir)
        if path is None:
            raise FileNotFoundError(
                f'CLIPTeacher: open_clip weights {model_name} / '
                f'{pretrained!r} are not in the local cache. {hint}')
    try:
        checkpoint, is_openai_archive = _read_file(path)
    except (RuntimeError, OSError, ValueError, EOFError,
            pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise ValueError(f'CLIPTeacher: cannot read pretrained file '
                         f'{path!r}: {err}') from err
    source = f'file {path!r}'
    return (_vision_weights(checkpoint, source), source, quick_gelu
            or is_openai_archive)


def _cached_tag_file(tag_cfg: Dict[str, Any],
                     cache_dir: Optional[str]) -> Optional[str]:
    """Local file of an open_clip pretrained tag, or None if uncached.

    Only caches are consulted (the Hugging Face hub cache through
    ``try_to_load_from_cache`` and open_clip's URL download folder);
    nothing is fetched.
    """
    if tag_cfg.get('file'):
        return tag_cfg['file'] if osp.isfile(tag_cfg['file']) else None
    hub = tag_cfg.get('hf_hub', '')
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        hub = ''
    if hub:
        # 'org/repo/' means open_clip's default file names.
        repo_id, filename = osp.split(hub)
        names = [filename] if filename else [
            'open_clip_model.safetensors', 'open_clip_pytorch_model.bin'
        ]
        if filename.endswith(('.bin', '.pth')):
            names.insert(0, filename[:-4] + '.safetensors')
        for name in names:
            found = try_to_load_from_cache(repo_id, name, cache_dir=cache_dir)
            if isinstance(found, str) and osp.isfile(found):
                return found
    url = tag_cfg.get('url', '')
    if url:
        folder = cache_dir or osp.expanduser('~/.cache/clip')
        path = osp.join(folder, osp.basename(url))
        if osp.isfile(path):
            return path
    return None


def _read_file(path: str) -> Tuple[Any, bool]:
    """The object in a checkpoint file, and whether it is an OpenAI archive.

    Reads ``.safetensors`` files, OpenAI TorchScript archives (their state
    dict) and anything ``torch.load(weights_only=True)`` reads.
    """
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path, device='cpu'), False
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            is_torchscript = any(
                name.endswith('constants.pkl') or '/code/' in name
                for name in archive.namelist())
        if is_torchscript:
            state = dict(torch.jit.load(path, map_location='cpu').state_dict())
            for key in OPENAI_ARCHIVE_EXTRAS:
                state.pop(key, None)
            return state, True
    return torch.load(path, map_location='cpu', weights_only=True), False


def _vision_weights(checkpoint: Any, source: str) -> Dict[str, Tensor]:
    """Float32 image-tower weights of a loaded CLIP checkpoint.

    Accepts open_clip training checkpoints (``{'state_dict': ...}``, keys
    optionally prefixed with ``module.``), full CLIP state dicts in the
    OpenAI / open_clip layout (``visual.*`` keys) and bare image-tower
    state dicts (``conv1.weight``, ``transformer.resblocks.*`` ...); keys
    are returned without the ``visual.`` prefix. ``source`` says where the
    checkpoint came from, for errors.
    """
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f'pretrained {source} holds a '
                         f'{type(checkpoint).__name__}, expected a CLIP '
                         'state dict')
    state = checkpoint
    for wrapper in ('state_dict', 'model'):
        if isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
            break
    state = {
        (k[len('module.'):] if k.startswith('module.') else k): v
        for k, v in state.items() if isinstance(v, Tensor)
    }
    visual = {
        k[len('visual.'):]: v
        for k, v in state.items() if k.startswith('visual.')
    }
    if not visual and 'conv1.weight' in state:
        visual = state  # already a bare image tower
    if 'conv1.weight' not in visual or \
            'positional_embedding' not in visual:
        raise ValueError(
            f'pretrained {source} has no open_clip / OpenAI ViT vision '
            "tower (no 'visual.conv1.weight' and "
            "'visual.positional_embedding'); only ViT image towers are "
            'supported')
    return {k: v.float() for k, v in visual.items()}

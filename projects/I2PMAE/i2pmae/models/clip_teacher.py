"""Frozen CLIP image encoder used as the 2D teacher of I2P-MAE.

The teacher turns the projector's depth images into per-patch semantic
features and into a saliency map (how much the class token attends to each
patch in the last transformer block). It wraps the visual tower of an
open_clip ViT, never trains, and never appears in the checkpoints of the
models that contain it.
"""
import contextlib
import copy
import logging
import os
import os.path as osp
import pickle
import zipfile
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import open_clip
import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from mmengine.logging import print_log
from mmengine.model import BaseModule
from open_clip.model import CLIPVisionCfg, _build_vision_tower
from open_clip.pretrained import (get_pretrained_cfg,
                                  list_pretrained_tags_by_model)
from open_clip.transformer import (Attention, CustomResidualAttentionBlock,
                                   ResidualAttentionBlock, VisionTransformer)
from torch import Tensor, nn

#: Autocast dtypes of the ``precision`` argument (CUDA only).
PRECISIONS = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}

#: Keys of the OpenAI TorchScript archives that are not weights.
_OPENAI_ARCHIVE_EXTRAS = ('input_resolution', 'context_length', 'vocab_size')

_DOWNLOAD_HINT = (
    'Nothing is downloaded automatically: fetch the checkpoint once on a '
    'machine with internet access (e.g. the OpenAI ViT-B-16.pt archive, or '
    "open_clip.create_model('{model}', pretrained='<tag>') which fills the "
    'open_clip cache) and pass its local path as pretrained=..., or pass '
    'pretrained=None for a randomly initialised teacher.')


def _is_torchscript_archive(path: str) -> bool:
    """Whether ``path`` is a TorchScript zip archive (OpenAI's .pt files)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(
            name.endswith('constants.pkl') or '/code/' in name
            for name in archive.namelist())


def _read_checkpoint(path: str) -> Tuple[Dict[str, Tensor], bool]:
    """Read a checkpoint file into a flat state dict.

    Args:
        path (str): a ``.safetensors`` file, an OpenAI TorchScript archive
            or anything ``torch.load(weights_only=True)`` reads.

    Returns:
        tuple[dict, bool]: the state dict (before key normalisation) and
        whether the file was an OpenAI TorchScript archive.
    """
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path, device='cpu'), False
    if _is_torchscript_archive(path):
        archive = torch.jit.load(path, map_location='cpu')
        state = dict(archive.state_dict())
        for key in _OPENAI_ARCHIVE_EXTRAS:
            state.pop(key, None)
        return state, True
    return torch.load(path, map_location='cpu', weights_only=True), False


def _visual_state_dict(checkpoint: Mapping[str, Any],
                       source: str) -> Dict[str, Tensor]:
    """Extract the vision tower's weights from a CLIP checkpoint.

    Accepts open_clip training checkpoints (``{'state_dict': ...}``, keys
    optionally prefixed with ``module.``), full CLIP state dicts in the
    OpenAI / open_clip layout (``visual.*`` keys) and bare vision-tower
    state dicts (``conv1.weight``, ``transformer.resblocks.*`` ...).

    Args:
        checkpoint (Mapping): the loaded object.
        source (str): description of where it came from (for errors).

    Returns:
        dict[str, Tensor]: vision-tower keys without the ``visual.`` prefix.
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
        visual = state  # already a bare vision tower
    if 'conv1.weight' not in visual or \
            'positional_embedding' not in visual:
        raise ValueError(
            f'pretrained {source} has no open_clip / OpenAI ViT vision '
            "tower (no 'visual.conv1.weight' and "
            "'visual.positional_embedding'); only ViT image towers are "
            'supported')
    return visual


def _vision_sizes(visual: Mapping[str, Tensor]) -> Dict[str, Any]:
    """Vision-tower sizes that a ViT state dict determines by itself."""
    conv = visual['conv1.weight']
    width, patch = conv.shape[0], conv.shape[-1]
    layer_ids = {
        int(k.split('.')[2])
        for k in visual if k.startswith('transformer.resblocks.')
    }
    num_tokens = visual['positional_embedding'].shape[0] - 1
    grid = round(num_tokens**0.5)
    if grid * grid != num_tokens or conv.shape[-2] != patch:
        raise ValueError('pretrained weights have a non-square patch grid '
                         f'({num_tokens} tokens, patch {tuple(conv.shape)})'
                         '; only square ViT inputs are supported')
    sizes = dict(
        width=width,
        patch_size=patch,
        layers=len(layer_ids),
        image_size=grid * patch,
        mlp_ratio=visual['transformer.resblocks.0.mlp.c_fc.weight'].shape[0] /
        width,
        no_ln_pre='ln_pre.weight' not in visual,
    )
    if 'proj' in visual:
        sizes['embed_dim'] = visual['proj'].shape[1]
    if 'transformer.resblocks.0.ls_1.gamma' in visual:
        sizes['ls_init_value'] = 1e-5  # the loaded gammas replace it
    return sizes


def _attention_with_weights(block: nn.Module,
                            x: Tensor) -> Tuple[Tensor, Tensor]:
    """Run a block's attention and also return its head-averaged weights.

    Args:
        block (nn.Module): an open_clip (Custom)ResidualAttentionBlock.
        x (Tensor): ``[N, L, D]`` normalised input tokens (``ln_1``
            already applied), batch first.

    Returns:
        tuple[Tensor, Tensor]: attention output ``[N, L, D]`` (before the
        residual) and weights ``[N, L, L]`` averaged over heads.
    """
    attn = block.attn
    if isinstance(attn, nn.MultiheadAttention):
        # need_weights=True takes torch's explicit path: softmax of
        # (q / sqrt(head_dim)) k^T per head, then the mean over heads.
        if attn.batch_first:
            out, weights = attn(
                x, x, x, need_weights=True, average_attn_weights=True)
        else:
            x_t = x.transpose(0, 1)
            out, weights = attn(
                x_t, x_t, x_t, need_weights=True, average_attn_weights=True)
            out = out.transpose(0, 1)
        return out, weights
    if isinstance(attn, Attention):
        n, length, dim = x.shape
        q, k, v = F.linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(
            3, dim=-1)
        q, k, v = (
            t.reshape(n, length, attn.num_heads, -1).transpose(1, 2)
            for t in (q, k, v))
        if attn.logit_scale is not None:
            q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
            logits = q @ k.transpose(-1, -2)
            scale = torch.clamp(
                attn.logit_scale, max=attn.logit_scale_max).exp()
            logits = logits * scale
        else:
            q, k = attn.ln_q(q), attn.ln_k(k)
            logits = (q * attn.scale) @ k.transpose(-1, -2)
        weights = logits.softmax(dim=-1)
        out = weights @ v
        if attn.head_scale is not None:
            out = out * attn.head_scale
        out = out.transpose(1, 2).reshape(n, length, dim)
        out = attn.out_proj(attn.ln_inner(out))
        return out, weights.mean(dim=1)
    raise ValueError(f'unsupported attention module {type(attn).__name__} '
                     'in the last block of the CLIP vision tower')


@MODELS.register_module()
class CLIPTeacher(BaseModule):
    """Frozen open_clip ViT image encoder giving patch features + saliency.

    Only the visual tower is built. Its architecture comes from the
    open_clip config ``model_name`` updated by ``vision_cfg``; when weights
    are given, the sizes stored in them (width, depth, patch and image
    size, MLP ratio, output dim) are used, as open_clip does for OpenAI
    state dicts (a mismatch with ``model_name`` is logged). The number of
    heads is taken from ``vision_cfg['heads']`` or the config's
    ``head_width`` (64 for every CLIP ViT).

    The teacher is frozen (no parameter requires grad), always in eval mode
    and runs under ``torch.no_grad()``. Its weights are not part of the
    state dict of any module containing it: they are dropped when saving,
    and loading a state dict without them reports no missing keys (entries
    present anyway are ignored); they always come from ``pretrained``.

    Args:
        model_name (str): open_clip model config name of a ViT tower, e.g.
            ``'ViT-B-16'`` or ``'ViT-L-14'``. Defaults to ``'ViT-B-16'``.
        pretrained (str | Mapping | None): where the weights come from:

            - an open_clip pretrained tag (e.g. ``'openai'``), resolved in
              the local open_clip / Hugging Face cache only;
            - a local checkpoint path: open_clip training checkpoints
              (``state_dict``, optional ``module.`` prefixes), plain CLIP
              state dicts (OpenAI or open_clip layout, or just the vision
              tower), ``.safetensors`` files, or OpenAI TorchScript
              archives (``ViT-B-16.pt``);
            - an in-memory OpenAI-layout state dict;
            - ``None``: random initialisation (a warning is logged).
        vision_cfg (dict, optional): overrides of open_clip's
            ``CLIPVisionCfg`` fields (``image_size``, ``patch_size``,
            ``width``, ``layers``, ``head_width``, ``mlp_ratio``...), plus
            ``heads`` (number of heads) and ``embed_dim`` (output dim).
            Values that contradict loaded weights raise a ValueError.
        embed_dim (int, optional): output dim of the patch features, like
            open_clip's top-level ``embed_dim``; the same as
            ``vision_cfg['embed_dim']``.
        quick_gelu (bool, optional): use QuickGELU in the MLPs. ``None``
            (default) picks it when the config, the pretrained tag, an
            OpenAI TorchScript archive or an in-memory state dict (OpenAI
            layout) call for it. A plain state-dict file cannot tell: pass
            ``True`` or a ``*-quickgelu`` model name for OpenAI weights.
        precision (str): ``'fp32'``, ``'fp16'`` or ``'bf16'``; the lower
            precisions autocast the forward pass on CUDA (weights stay
            float32, outputs are float32). Defaults to ``'fp32'``.
        cache_dir (str, optional): open_clip cache directory for tags.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 model_name: str = 'ViT-B-16',
                 pretrained: Union[str, Mapping[str, Tensor], None] = None,
                 vision_cfg: Optional[Dict[str, Any]] = None,
                 embed_dim: Optional[int] = None,
                 quick_gelu: Optional[bool] = None,
                 precision: str = 'fp32',
                 cache_dir: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {list(PRECISIONS)}, '
                             f'got {precision!r}')
        self.model_name = model_name
        self.precision = precision
        model_cfg = self._model_config(model_name)
        if embed_dim is not None:
            in_cfg = (vision_cfg or {}).get('embed_dim', embed_dim)
            if in_cfg != embed_dim:
                raise ValueError(f'embed_dim={embed_dim} contradicts '
                                 f'vision_cfg embed_dim={in_cfg}')
            vision_cfg = dict(vision_cfg or {}, embed_dim=embed_dim)
        vision, embed_dim = self._vision_config(model_cfg, vision_cfg)

        weights, source_quick_gelu = None, False
        if pretrained is None:
            print_log(
                f'CLIPTeacher: pretrained=None, the {model_name} teacher is '
                'randomly initialised (fine for tests and demos only).',
                logger='current',
                level=logging.WARNING)
        else:
            weights, source_quick_gelu = self._load_weights(
                pretrained, model_name, cache_dir)
            vision, embed_dim = self._apply_weight_sizes(
                vision,
                embed_dim,
                weights,
                vision_cfg or {},
                quiet=isinstance(pretrained, Mapping))
        if quick_gelu is None:
            quick_gelu = bool(
                model_cfg.get('quick_gelu', False) or source_quick_gelu)

        visual = _build_vision_tower(
            embed_dim, CLIPVisionCfg(**vision), quick_gelu=quick_gelu)
        if not isinstance(visual, VisionTransformer):
            raise ValueError(
                f'model_name={model_name!r} does not have an open_clip '
                'VisionTransformer image tower; CLIPTeacher supports ViTs')
        if visual.attn_pool is not None:
            raise ValueError(
                f'model_name={model_name!r} uses attentional pooling; '
                'CLIPTeacher needs plain ViT patch tokens')
        if weights is not None:
            result = visual.load_state_dict(weights, strict=False)
            if result.missing_keys or result.unexpected_keys:
                raise ValueError(
                    f'pretrained weights do not fit {model_name} (vision '
                    f'cfg {vision}): missing {result.missing_keys[:5]}, '
                    f'unexpected {result.unexpected_keys[:5]}')
        self.visual = visual.float()
        self.quick_gelu = quick_gelu
        for param in self.visual.parameters():
            param.requires_grad_(False)
        self.train(False)
        self.register_state_dict_post_hook(_drop_teacher_keys)
        self.register_load_state_dict_pre_hook(_fill_teacher_keys)

    # ------------------------------------------------------------------ #
    # construction helpers
    # ------------------------------------------------------------------ #
    @staticmethod
    def _model_config(model_name: str) -> Dict[str, Any]:
        """open_clip config of a built-in model name (no hub look-ups)."""
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

    @staticmethod
    def _vision_config(
            model_cfg: Dict[str, Any],
            overrides: Optional[Dict[str, Any]]) -> Tuple[Dict, int]:
        """Merge ``vision_cfg`` overrides into the model's vision config."""
        vision = copy.deepcopy(model_cfg['vision_cfg'])
        embed_dim = int(model_cfg['embed_dim'])
        overrides = dict(overrides or {})
        if 'embed_dim' in overrides:
            embed_dim = int(overrides.pop('embed_dim'))
        heads = overrides.pop('heads', None)
        known = set(CLIPVisionCfg.__dataclass_fields__)
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(
                f'vision_cfg has unknown keys {unknown}; allowed: heads, '
                f'embed_dim and the fields of open_clip CLIPVisionCfg')
        vision.update(overrides)
        if heads is not None:
            width = vision.get('width', CLIPVisionCfg.width)
            if int(heads) <= 0 or width % int(heads):
                raise ValueError(f'vision_cfg heads={heads} must divide '
                                 f'width={width}')
            vision['head_width'] = width // int(heads)
        return vision, embed_dim

    @staticmethod
    def _apply_weight_sizes(vision: Dict[str, Any],
                            embed_dim: int,
                            weights: Dict[str, Tensor],
                            explicit: Dict[str, Any],
                            quiet: bool = False) -> Tuple[Dict, int]:
        """Use the sizes stored in the weights (see class docstring).

        A difference from the named config is logged as a warning, or at
        info level when ``quiet`` (in-memory OpenAI state dicts, whose
        sizes open_clip always reads from the weights).
        """
        sizes = _vision_sizes(weights)
        weight_embed = sizes.pop('embed_dim', embed_dim)
        explicit_heads = explicit.get('heads')
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
        if explicit_heads is not None:
            vision['head_width'] = vision['width'] // int(explicit_heads)
        if vision['width'] % vision.get('head_width', 64):
            raise ValueError(
                f"width {vision['width']} of the pretrained weights is not "
                f"a multiple of head_width {vision.get('head_width', 64)}; "
                'pass vision_cfg=dict(heads=...)')
        return vision, weight_embed

    @staticmethod
    def _resolve_tag(model_name: str, tag: str,
                     cache_dir: Optional[str]) -> Optional[str]:
        """Local file of an open_clip pretrained tag, or None if uncached.

        Only caches are consulted (the Hugging Face hub cache through
        ``try_to_load_from_cache`` and open_clip's URL download folder);
        nothing is fetched.
        """
        cfg = get_pretrained_cfg(model_name, tag)
        if cfg.get('file'):
            return cfg['file'] if osp.isfile(cfg['file']) else None
        hub = cfg.get('hf_hub', '')
        if hub:
            try:
                from huggingface_hub import try_to_load_from_cache
            except ImportError:
                try_to_load_from_cache = None
            if try_to_load_from_cache is not None:
                # 'org/repo/' means open_clip's default file names.
                repo_id, filename = osp.split(hub)
                names = [filename] if filename else [
                    'open_clip_model.safetensors',
                    'open_clip_pytorch_model.bin'
                ]
                if filename.endswith(('.bin', '.pth')):
                    names.insert(0, filename[:-4] + '.safetensors')
                for name in names:
                    found = try_to_load_from_cache(
                        repo_id, name, cache_dir=cache_dir)
                    if isinstance(found, str) and osp.isfile(found):
                        return found
        url = cfg.get('url', '')
        if url:
            folder = cache_dir or osp.expanduser('~/.cache/clip')
            path = osp.join(folder, osp.basename(url))
            if osp.isfile(path):
                return path
        return None

    @classmethod
    def _load_weights(
            cls, pretrained: Union[str, Mapping[str, Tensor]], model_name: str,
            cache_dir: Optional[str]) -> Tuple[Dict[str, Tensor], bool]:
        """Vision-tower weights of ``pretrained`` and its QuickGELU hint."""
        hint = _DOWNLOAD_HINT.format(model=model_name)
        if isinstance(pretrained, Mapping):
            weights = _visual_state_dict(pretrained, 'state dict')
            return {k: v.float() for k, v in weights.items()}, True
        if not isinstance(pretrained, (str, os.PathLike)):
            raise ValueError('pretrained must be an open_clip tag, a file '
                             'path, a state dict or None, got '
                             f'{type(pretrained).__name__}')
        pretrained = os.fspath(pretrained)
        quick_gelu = False
        if osp.isfile(pretrained):
            path = pretrained
        else:
            tag_cfg = get_pretrained_cfg(model_name, pretrained)
            if not tag_cfg:
                raise FileNotFoundError(
                    f'CLIPTeacher: pretrained={pretrained!r} is neither an '
                    f'existing file nor an open_clip tag of {model_name} '
                    f'(tags: {list_pretrained_tags_by_model(model_name)}). '
                    f'{hint}')
            path = cls._resolve_tag(model_name, pretrained, cache_dir)
            if path is None:
                raise FileNotFoundError(
                    f'CLIPTeacher: open_clip weights {model_name} / '
                    f'{pretrained!r} are not in the local cache. {hint}')
            quick_gelu = bool(tag_cfg.get('quick_gelu', False))
        try:
            checkpoint, is_openai_archive = _read_checkpoint(path)
        except (RuntimeError, OSError, ValueError, EOFError,
                pickle.UnpicklingError, zipfile.BadZipFile) as err:
            raise ValueError(f'CLIPTeacher: cannot read pretrained file '
                             f'{path!r}: {err}') from err
        weights = _visual_state_dict(checkpoint, f'file {path!r}')
        weights = {k: v.float() for k, v in weights.items()}
        return weights, quick_gelu or is_openai_archive

    # ------------------------------------------------------------------ #
    # public interface
    # ------------------------------------------------------------------ #
    @property
    def out_channels(self) -> int:
        """Channels ``C`` of the patch features."""
        if self.visual.proj is None:
            return self.visual.conv1.out_channels
        return self.visual.proj.shape[1]

    @property
    def patch_grid(self) -> Tuple[int, int]:
        """Patch grid ``(h, w)`` of the expected input images."""
        return tuple(self.visual.grid_size)

    @property
    def image_size(self) -> Tuple[int, int]:
        """Input image size ``(H, W)`` the tower expects."""
        return tuple(self.visual.image_size)

    def train(self, mode: bool = True) -> 'CLIPTeacher':
        """Keep the teacher in eval mode whatever ``mode`` is asked."""
        return super().train(False)

    def init_weights(self) -> None:
        """Nothing to initialise: weights come from ``pretrained``."""

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tuple[Tensor, Tensor]:
        """Encode images into patch features and CLS-to-patch attention.

        Args:
            images (Tensor): ``[N, 3, H, W]`` normalised images of the size
                given by :attr:`image_size`.

        Returns:
            tuple[Tensor, Tensor]: float32 patch features ``[N, C, h, w]``
            (tokens after ``ln_post`` and ``proj``) and float32 attention
            ``[N, h * w]`` of the class token to every patch in the last
            block, averaged over heads.
        """
        expected = (3, ) + self.image_size
        if not isinstance(images, Tensor) or images.dim() != 4 \
                or tuple(images.shape[1:]) != expected:
            shape = tuple(images.shape) if isinstance(images,
                                                      Tensor) else images
            raise ValueError(f'images must have shape [N, {expected[0]}, '
                             f'{expected[1]}, {expected[2]}], got {shape}')
        param = self.visual.conv1.weight
        images = images.to(device=param.device, dtype=param.dtype)
        with self._autocast(images.device.type):
            feats, attn = self._encode(images)
        return feats.float(), attn.float()

    def _autocast(self, device_type: str):
        """The precision context of the forward pass.

        ``fp16`` / ``bf16`` autocast on CUDA; otherwise autocast is switched
        off so that an enclosing mixed-precision context cannot change the
        teacher's precision.
        """
        dtype = PRECISIONS[self.precision]
        if device_type == 'cuda':
            return torch.autocast(
                'cuda',
                dtype=dtype or torch.float16,
                enabled=dtype is not None)
        if device_type == 'cpu':
            return torch.autocast('cpu', enabled=False)
        return contextlib.nullcontext()

    def _encode(self, images: Tensor) -> Tuple[Tensor, Tensor]:
        """Forward of :meth:`forward` without checks / autocast."""
        visual = self.visual
        transformer = visual.transformer
        x = visual._embeds(images)  # [N, 1 + h * w, D], batch first
        blocks = transformer.resblocks
        if not transformer.batch_first:
            x = x.transpose(0, 1)
        for block in blocks[:-1]:
            x = block(x)
        if not transformer.batch_first:
            x = x.transpose(0, 1)
        x, attn = self._last_block(blocks[-1], x)

        tokens = visual.ln_post(x[:, 1:])
        if visual.proj is not None:
            tokens = tokens @ visual.proj
        n = tokens.shape[0]
        grid_h, grid_w = self.patch_grid
        feats = tokens.transpose(1, 2).reshape(n, -1, grid_h, grid_w)
        return feats, attn[:, 0, 1:]

    @staticmethod
    def _last_block(block: nn.Module, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Run the last residual block once, keeping its attention."""
        if isinstance(block, ResidualAttentionBlock):
            out, attn = _attention_with_weights(block, block.ln_1(x))
            x = x + block.ls_1(out)
        elif isinstance(block, CustomResidualAttentionBlock):
            out, attn = _attention_with_weights(block, block.ln_1(x))
            x = x + block.ls_1(block.ln_attn(out))
        else:
            raise ValueError(f'unsupported block {type(block).__name__} in '
                             'the CLIP vision tower')
        x = x + block.ls_2(block.mlp(block.ln_2(x)))
        return x, attn


def _teacher_state_keys(teacher: nn.Module) -> Dict[str, Tensor]:
    """Persistent parameters and buffers of ``teacher`` by local name."""
    state = {}
    for module_name, module in teacher.named_modules():
        prefix = f'{module_name}.' if module_name else ''
        for name, param in module._parameters.items():
            if param is not None:
                state[prefix + name] = param.detach()
        for name, buf in module._buffers.items():
            if buf is not None and \
                    name not in module._non_persistent_buffers_set:
                state[prefix + name] = buf
    return state


def _drop_teacher_keys(module: nn.Module, state_dict: Dict[str, Any],
                       prefix: str, local_metadata: dict) -> None:
    """state_dict post-hook: remove every entry of the teacher."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        del state_dict[key]


def _fill_teacher_keys(module: nn.Module, state_dict: dict, prefix: str,
                       *args) -> None:
    """load_state_dict pre-hook: make loading keep the teacher's weights.

    The teacher's current tensors are put into the (copied) state dict being
    loaded, so its keys are neither missing nor overwritten.
    """
    for name, tensor in _teacher_state_keys(module).items():
        state_dict[prefix + name] = tensor

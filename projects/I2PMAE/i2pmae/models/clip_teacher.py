"""Frozen CLIP image encoder used as the 2D teacher of I2P-MAE.

The teacher turns the projector's depth images into per-patch semantic
features and into a saliency map (how much the class token attends to each
patch in the last transformer block). It wraps the visual tower of an
open_clip ViT, never trains, and never appears in the checkpoints of the
models that contain it. Checkpoint formats are handled by
:mod:`.clip_checkpoint_loader`.
"""
import contextlib
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from open_clip.transformer import (Attention, CustomResidualAttentionBlock,
                                   ResidualAttentionBlock)
from torch import Tensor, nn

from .clip_checkpoint_loader import load_clip_image_tower

#: Autocast dtypes of the ``precision`` argument (CUDA only).
PRECISIONS = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}


@MODELS.register_module()
class CLIPTeacher(BaseModule):
    """Frozen open_clip ViT image encoder giving patch features + saliency.

    Only the visual tower is kept (built and loaded by
    :func:`load_clip_image_tower`). Its architecture comes from the
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
        self.visual, self.quick_gelu = load_clip_image_tower(
            model_name, pretrained, vision_cfg, embed_dim, quick_gelu,
            cache_dir)
        self.visual.requires_grad_(False)
        self.train(False)
        self.register_state_dict_post_hook(_drop_teacher_keys)
        self.register_load_state_dict_pre_hook(_fill_teacher_keys)

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
        """Forward of :meth:`forward` without checks / autocast.

        The tower's own steps (patch and position embeddings, all blocks
        but the last, ``ln_post`` and ``proj``) run through its public
        modules; the last block is run by :func:`_last_block`, which also
        returns its attention weights.
        """
        visual = self.visual
        x = visual.conv1(images).flatten(2).transpose(1, 2)  # [N, hw, D]
        cls_token = visual.class_embedding.to(x.dtype).expand(len(x), 1, -1)
        x = torch.cat([cls_token, x], dim=1)
        x = x + visual.positional_embedding.to(x.dtype)
        x = visual.ln_pre(visual.patch_dropout(x))
        transformer = visual.transformer
        if not transformer.batch_first:
            x = x.transpose(0, 1)
        for block in transformer.resblocks[:-1]:
            x = block(x)
        if not transformer.batch_first:
            x = x.transpose(0, 1)
        x, attn = _last_block(transformer.resblocks[-1], x)

        tokens = visual.ln_post(x[:, 1:])
        if visual.proj is not None:
            tokens = tokens @ visual.proj
        grid_h, grid_w = self.patch_grid
        feats = tokens.transpose(1, 2).reshape(len(x), -1, grid_h, grid_w)
        return feats, attn[:, 0, 1:]


def _last_block(block: nn.Module, x: Tensor) -> Tuple[Tensor, Tensor]:
    """Run a residual block once, keeping its attention weights.

    Args:
        block (nn.Module): an open_clip (Custom)ResidualAttentionBlock.
        x (Tensor): ``[N, L, D]`` input tokens, batch first.

    Returns:
        tuple[Tensor, Tensor]: the block's output ``[N, L, D]`` and its
        attention weights ``[N, L, L]`` averaged over heads.
    """
    if isinstance(block, ResidualAttentionBlock):
        out, attn = _attention_with_weights(block.attn, block.ln_1(x))
        x = x + block.ls_1(out)
    elif isinstance(block, CustomResidualAttentionBlock):
        out, attn = _attention_with_weights(block.attn, block.ln_1(x))
        x = x + block.ls_1(block.ln_attn(out))
    else:
        raise ValueError(f'unsupported block {type(block).__name__} in '
                         'the CLIP vision tower')
    x = x + block.ls_2(block.mlp(block.ln_2(x)))
    return x, attn


def _attention_with_weights(attn: nn.Module,
                            x: Tensor) -> Tuple[Tensor, Tensor]:
    """Run an attention module and also return its head-averaged weights.

    Args:
        attn (nn.Module): ``nn.MultiheadAttention`` or open_clip's
            ``Attention``.
        x (Tensor): ``[N, L, D]`` normalised input tokens, batch first.

    Returns:
        tuple[Tensor, Tensor]: attention output ``[N, L, D]`` (before the
        residual) and weights ``[N, L, L]`` averaged over heads.
    """
    if isinstance(attn, nn.MultiheadAttention):
        # need_weights=True takes torch's explicit path: softmax of
        # (q / sqrt(head_dim)) k^T per head, then the mean over heads.
        x_in = x if attn.batch_first else x.transpose(0, 1)
        out, weights = attn(
            x_in, x_in, x_in, need_weights=True, average_attn_weights=True)
        return (out if attn.batch_first else out.transpose(0, 1)), weights
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
    state_dict.update(module.visual.state_dict(prefix=f'{prefix}visual.'))

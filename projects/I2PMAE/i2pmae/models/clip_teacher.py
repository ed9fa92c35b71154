"""Frozen CLIP image encoder used as the 2D teacher of I2P-MAE.

It turns depth images into per-patch features and the attention of the
class token to every patch in the last block; checkpoint formats are
handled by :mod:`.clip_checkpoint_loader`.
"""
import contextlib
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from open_clip.transformer import Attention, CustomResidualAttentionBlock
from torch import Tensor, nn

from ..utils.half_precision import fast_half_dtype
from .clip_checkpoint_loader import load_clip_image_tower

#: Values of the ``precision`` argument: autocast dtype, or None for off.
PRECISIONS = {
    'fp32': lambda device_type: None,
    'fp16': lambda device_type: torch.float16,
    'bf16': lambda device_type: torch.bfloat16,
    'auto': fast_half_dtype,
}


@MODELS.register_module()
class CLIPTeacher(BaseModule):
    """Frozen open_clip ViT image encoder giving patch features + saliency.

    Only the visual tower is kept: the config ``model_name`` updated by
    ``vision_cfg``, with the sizes stored in loaded weights. It never
    trains, stays in eval mode and is left out of the state dict of any
    module containing it (loading reports no missing keys for it and
    ignores entries present anyway).

    Args:
        model_name (str): open_clip config name of a ViT, e.g.
            ``'ViT-B-16'`` (default) or ``'ViT-L-14'``.
        pretrained (str | Mapping | None): an open_clip tag (e.g.
            ``'openai'``) found in the local caches; a local checkpoint
            (open_clip training checkpoint, CLIP or vision-tower state
            dict, ``.safetensors``, OpenAI TorchScript archive); an
            in-memory OpenAI-layout state dict; or ``None`` for random
            weights (a warning is logged). Nothing is downloaded.
        vision_cfg (dict, optional): open_clip ``CLIPVisionCfg`` fields
            plus ``heads`` and ``embed_dim``; values contradicting loaded
            weights raise a ValueError.
        embed_dim (int, optional): output dim of the patch features, the
            same as ``vision_cfg['embed_dim']``.
        quick_gelu (bool, optional): use QuickGELU. ``None`` (default)
            follows the config, the tag, an OpenAI archive or an in-memory
            state dict; a state-dict file cannot tell, so pass ``True`` or
            a ``*-quickgelu`` name for OpenAI weights.
        precision (str): ``'fp32'`` (default), ``'fp16'`` or ``'bf16'``
            autocast the forward to that dtype on CUDA and CPU alike;
            ``'auto'`` picks the device's fast half precision (fp16 on CUDA
            as the official code, bf16 on CPUs with AMX or AVX512-BF16,
            float32 on other CPUs, see :func:`fast_half_dtype`). Outputs
            stay float32.
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
        visual = self.visual
        x = images.to(visual.conv1.weight)
        with self._autocast(x.device.type):
            # The tower's own modules (batch-first blocks) run by _run_block,
            # which keeps the last block's attention weights.
            x = visual.conv1(x).flatten(2).transpose(1, 2)  # [N, hw, D]
            cls_token = visual.class_embedding.to(x.dtype).expand(
                len(x), 1, -1)
            x = torch.cat([cls_token, x], dim=1)
            x = x + visual.positional_embedding.to(x.dtype)
            x = visual.ln_pre(visual.patch_dropout(x))
            for block in visual.transformer.resblocks[:-1]:
                x = _run_block(block, x, need_weights=False)[0]
            x, attn = _run_block(
                visual.transformer.resblocks[-1], x, need_weights=True)
            tokens = visual.ln_post(x[:, 1:]) @ visual.proj
        feats = tokens.transpose(1, 2).reshape(len(x), -1, *self.patch_grid)
        return feats.float(), attn[:, 0, 1:].float()

    def _autocast(self, device_type: str):
        """Autocast to the ``precision`` dtype of ``device_type``, else off.

        Off, an enclosing mixed-precision context cannot change the output.
        """
        if device_type not in ('cuda', 'cpu'):
            return contextlib.nullcontext()
        dtype = PRECISIONS[self.precision](device_type)
        return torch.autocast(
            device_type, dtype=dtype, enabled=dtype is not None)


def _packed_multihead_attention(
        attn: nn.MultiheadAttention, y: Tensor,
        need_weights: bool) -> Tuple[Tensor, Optional[Tensor]]:
    """Self-attention of ``nn.MultiheadAttention`` on batch-first tokens.

    The same arithmetic as the module (one packed input projection,
    softmax of ``(q / sqrt(head_dim)) k^T`` per head, output projection),
    with every projection applied to the contiguous ``[N, L, D]`` tokens.
    The module itself transposes them to ``[L, N, D]`` before projecting
    whenever it leaves its fused fast path (attention weights asked for, or
    autocast on); on the CPU a half-precision linear layer on that strided
    view copies its weight once per token position (a ViT-B/16 forward
    then runs slower in bfloat16 than in float32).

    Args:
        attn (nn.MultiheadAttention): a batch-first module with a packed
            input projection and no extra key/value biases.
        y (Tensor): ``[N, L, D]`` normalised tokens.
        need_weights (bool): also return the attention weights.

    Returns:
        tuple[Tensor, Tensor | None]: the attention output ``[N, L, D]``
        and, with ``need_weights``, its weights ``[N, L, L]`` averaged over
        heads.
    """
    n, length, dim = y.shape
    heads = attn.num_heads
    qkv = F.linear(y, attn.in_proj_weight, attn.in_proj_bias)
    q, k, v = qkv.reshape(n, length, 3, heads,
                          dim // heads).permute(2, 0, 3, 1, 4).unbind(0)
    weights = None
    if need_weights:
        logits = (q * (dim // heads)**-0.5) @ k.transpose(-1, -2)
        weights = logits.softmax(dim=-1)
        out = weights.to(v.dtype) @ v
        weights = weights.mean(dim=1)
    else:
        out = F.scaled_dot_product_attention(q, k, v)
    out = out.transpose(1, 2).reshape(n, length, dim)
    return attn.out_proj(out), weights


def _packs_batch_first(attn: nn.Module) -> bool:
    """Whether :func:`_packed_multihead_attention` computes ``attn``."""
    return (isinstance(attn, nn.MultiheadAttention) and attn.batch_first
            and attn._qkv_same_embed_dim and attn.bias_k is None
            and attn.bias_v is None and not attn.add_zero_attn)


def _run_block(block: nn.Module, x: Tensor,
               need_weights: bool) -> Tuple[Tensor, Optional[Tensor]]:
    """Run an open_clip residual block, optionally keeping its attention.

    Args:
        block (nn.Module): an open_clip (Custom)ResidualAttentionBlock.
        x (Tensor): ``[N, L, D]`` input tokens, batch first.
        need_weights (bool): also return the attention weights.

    Returns:
        tuple[Tensor, Tensor | None]: the block's output ``[N, L, D]`` and,
        with ``need_weights``, its attention weights ``[N, L, L]`` averaged
        over heads.
    """
    attn, y = block.attn, block.ln_1(x)
    if _packs_batch_first(attn):
        out, weights = _packed_multihead_attention(attn, y, need_weights)
    elif not need_weights:
        return block(x), None
    elif isinstance(attn, nn.MultiheadAttention):
        # need_weights=True takes torch's explicit path: softmax of
        # (q / sqrt(head_dim)) k^T per head, then the mean over heads.
        out, weights = attn(
            y, y, y, need_weights=True, average_attn_weights=True)
    elif isinstance(attn, Attention):
        n, length, dim = y.shape
        q, k, v = F.linear(y, attn.in_proj_weight, attn.in_proj_bias).chunk(
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
        weights = weights.mean(dim=1)
    else:
        raise ValueError(f'unsupported attention module {type(attn).__name__} '
                         'in the last block of the CLIP vision tower')
    if isinstance(block, CustomResidualAttentionBlock):
        out = block.ln_attn(out)
    x = x + block.ls_1(out)
    return x + block.ls_2(block.mlp(block.ln_2(x))), weights


def _drop_teacher_keys(module: nn.Module, state_dict: Dict[str, Any],
                       prefix: str, local_metadata: dict) -> None:
    """state_dict post-hook: remove every entry of the teacher."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        del state_dict[key]


def _fill_teacher_keys(module: nn.Module, state_dict: dict, prefix: str,
                       *args) -> None:
    """load_state_dict pre-hook: loading keeps the teacher's weights.

    Its current tensors are put into the (copied) state dict being loaded,
    so its keys are neither missing nor overwritten.
    """
    state_dict.update(module.visual.state_dict(prefix=f'{prefix}visual.'))

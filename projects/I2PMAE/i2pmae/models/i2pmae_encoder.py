"""Hierarchical (Point-M2AE style) encoder of I2P-MAE."""
from typing import List, NamedTuple, Optional, Sequence, Union

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

# indices here come from our own kNN / packing: no re-validation needed
from ..ops.gather_points import gather_points_unchecked
from .layers import TokenEmbedding, ViTStage
from .point_tokenizer import TokenScale
from .token_selection import count_visible


class EncoderOutput(NamedTuple):
    """Per-scale encoder outputs, finest scale first.

    Visible tokens are packed to the front of each sample in token-index
    order and padded to the batch's longest sequence.

    Attributes:
        feats (list[Tensor]): ``[B, L_s, C_s]`` features.
        valid (list[Tensor]): bool ``[B, L_s]``, True for real tokens.
        token_idx (list[Tensor]): long ``[B, L_s]``, the token each row
            holds (meaningless where ``valid`` is False).
    """
    feats: List[Tensor]
    valid: List[Tensor]
    token_idx: List[Tensor]


def pack_visible(visible: Tensor,
                 counts: Optional[Sequence[int]] = None) -> tuple:
    """Order each sample's visible tokens first, in index order.

    Args:
        visible (Tensor): bool ``[B, G]``.
        counts (Sequence[int], optional): the number of visible tokens of
            each sample (:func:`~.token_selection.count_visible`); read
            from ``visible`` (a device-to-host synchronisation on CUDA)
            when None.

    Returns:
        tuple[Tensor, Tensor]: ``token_idx`` long ``[B, L]`` and ``valid``
        bool ``[B, L]`` where ``L`` is the largest visible count.
    """
    if counts is None:
        counts = visible.sum(1).tolist()
    if len(counts) != visible.shape[0]:
        raise ValueError(f'counts must have one entry per sample (B='
                         f'{visible.shape[0]}), got {len(counts)}')
    length = max(counts)
    order = torch.argsort((~visible).to(torch.int8), dim=1, stable=True)
    token_idx = order[:, :length]
    # the flags from the device's own counts (no host-to-device copy)
    device_counts = visible.sum(1)
    valid = torch.arange(
        length, device=visible.device)[None] < device_counts[:, None]
    return token_idx, valid


def scatter_tokens(base: Tensor, x: Tensor, token_idx: Tensor,
                   valid: Tensor) -> Tensor:
    """Write the valid rows of packed ``x`` back into ``base`` (``[B,G,C]``).

    Rows of ``base`` that no valid row points to are kept.
    """
    c = base.shape[-1]
    idx = token_idx.unsqueeze(-1).expand(-1, -1, c)
    written = torch.zeros_like(base).scatter(1, idx, x)
    hit = torch.zeros(
        base.shape[:2], dtype=torch.bool,
        device=base.device).scatter(1, token_idx, valid)
    return torch.where(hit.unsqueeze(-1), written, base)


#: The encoder's default ``init_cfg`` (BaseModule copies it, so the shared
#: default is never modified).
DEFAULT_INIT_CFG = [
    dict(type='TruncNormal', layer=['Linear', 'Conv1d'], std=.02, bias=0.),
    dict(type='Constant', layer='LayerNorm', val=1., bias=0.)
]


@MODELS.register_module()
class I2PMAEEncoder(BaseModule):
    """Hierarchical ViT encoder of point tokens (the I2P-MAE backbone).

    At scale 0 each neighbourhood is embedded by a mini-PointNet; at scale
    ``s > 0`` the finer scale's token features of each neighbourhood are
    merged into one token. Each scale then runs ``depths[s]`` transformer
    layers over its (visible) tokens with a learned positional embedding of
    the token centres. With masks, only visible tokens are attended over
    (batch-vectorised packing, padding excluded by the attention mask) and
    masked fine tokens keep their embedding when merged into coarser tokens.

    Args:
        embed_dims (Sequence[int]): channels per scale.
        depths (Sequence[int]): transformer layers per scale.
        num_heads (int): attention heads (must divide every embed dim).
        drop_path_rate (float): stochastic depth, linearly increasing over
            all layers of all scales.
        local_radius (Sequence[float]): per scale, tokens only attend to
            tokens whose centres lie closer than this (0 = global).
        final_norm (bool): apply a LayerNorm per scale to the outputs
            (pretraining); fine-tuning models use their own norm instead.
        norm_scales (Sequence[int], optional): with ``final_norm``, the
            scales (finest = 0) whose outputs are normalised; the others
            are output as their last transformer layer leaves them and
            build no norm. None: every scale. :class:`I2PMAE` sets it to
            the scales its decoder reads, so no norm goes untrained.
        mlp_ratio (float): MLP expansion of the transformer layers.
        init_cfg (dict | list[dict], optional): mmengine init config;
            :data:`DEFAULT_INIT_CFG` by default (a ``Pretrained`` config
            loads weights instead).
    """

    def __init__(self,
                 embed_dims: Sequence[int] = (96, 192, 384),
                 depths: Sequence[int] = (5, 5, 5),
                 num_heads: int = 6,
                 drop_path_rate: float = 0.1,
                 local_radius: Optional[Sequence[float]] = None,
                 final_norm: bool = True,
                 norm_scales: Optional[Sequence[int]] = None,
                 mlp_ratio: float = 4.0,
                 init_cfg: Union[dict, list, None] = DEFAULT_INIT_CFG) -> None:
        super().__init__(init_cfg=init_cfg)
        embed_dims, depths = list(embed_dims), list(depths)
        if not embed_dims:
            raise ValueError('embed_dims must list at least one scale')
        if len(depths) != len(embed_dims):
            raise ValueError(
                f'depths must have one entry per scale (len(embed_dims)='
                f'{len(embed_dims)}), got {depths}')
        local_radius = [0.0] * len(embed_dims) if local_radius is None else (
            [float(r) for r in local_radius])
        if len(local_radius) != len(embed_dims):
            raise ValueError(
                f'local_radius must have one entry per scale (len(embed_dims)'
                f'={len(embed_dims)}), got {local_radius}')
        if any(d % num_heads for d in embed_dims):
            raise ValueError(f'num_heads={num_heads} must divide every '
                             f'entry of embed_dims={embed_dims}')
        self.embed_dims = embed_dims
        self.depths = depths
        self.local_radius = local_radius
        self.num_scales = len(embed_dims)

        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.token_embeds = nn.ModuleList()
        self.pos_embeds = nn.ModuleList()
        self.stages = nn.ModuleList()
        start = 0
        for s, (dim, depth) in enumerate(zip(embed_dims, depths)):
            in_c = 3 if s == 0 else embed_dims[s - 1]
            self.token_embeds.append(TokenEmbedding(in_c, dim))
            self.pos_embeds.append(
                nn.Sequential(
                    nn.Linear(3, dim), nn.GELU(), nn.Linear(dim, dim)))
            drop_path = dpr[start:start + depth]
            self.stages.append(
                ViTStage(dim, depth, num_heads, drop_path, mlp_ratio))
            start += depth
        norm_scales = list(
            range(self.num_scales) if norm_scales is None else norm_scales)
        if not all(
                isinstance(s, int) and 0 <= s < self.num_scales
                for s in norm_scales):
            raise ValueError(
                f'norm_scales must list scale indices in [0, '
                f'{self.num_scales}) (len(embed_dims)={self.num_scales}), '
                f'got {norm_scales}')
        #: the scales whose outputs are normalised (empty without norms)
        self.norm_scales = sorted(set(norm_scales)) if final_norm else []
        # Identity at the other scales keeps the key of scale s norms.<s>.*
        self.norms = nn.ModuleList([
            nn.LayerNorm(d) if s in self.norm_scales else nn.Identity()
            for s, d in enumerate(embed_dims)
        ]) if final_norm else None

    def _attn_mask(self, s: int, centers: Tensor,
                   valid: Optional[Tensor]) -> Optional[Tensor]:
        """Bool ``[B, L, L]`` (True = may attend); None: full attention.

        Args:
            s (int): the scale.
            centers (Tensor): ``[B, L, 3]`` token centres.
            valid (Tensor, optional): bool ``[B, L]``, False on padding
                rows; None when there are none.
        """
        allowed = None
        if self.local_radius[s] > 0:
            allowed = torch.cdist(centers, centers) < self.local_radius[s]
        if valid is not None:
            keys = valid.unsqueeze(1).expand(-1, valid.shape[1], -1)
            allowed = keys if allowed is None else allowed & keys
        if allowed is not None:
            # every query keeps itself so padded rows never see empty rows
            eye = torch.eye(
                allowed.shape[-1], dtype=torch.bool, device=allowed.device)
            allowed = allowed | eye
        return allowed

    def forward(
        self,
        scales: Sequence[TokenScale],
        masks: Optional[Sequence[Tensor]] = None,
        num_visible: Optional[Sequence[Sequence[int]]] = None
    ) -> EncoderOutput:
        """Encode.

        Args:
            scales (Sequence[TokenScale]): tokenizer output, finest first;
                must have ``len(embed_dims)`` scales.
            masks (Sequence[Tensor], optional): bool ``[B, G_s]`` per scale,
                True = masked (from a mask generator). None = all visible.
            num_visible (Sequence[Sequence[int]], optional): with
                ``masks``, the visible tokens of every sample at every scale
                (:func:`~.token_selection.count_visible`); counted here (one
                device-to-host synchronisation on CUDA) when None.

        Returns:
            EncoderOutput: per-scale features (normalised at
            ``norm_scales`` if ``final_norm``), validity and token indices.
        """
        if len(scales) != self.num_scales:
            raise ValueError(
                f'the encoder has {self.num_scales} scales (embed_dims) but '
                f'got {len(scales)} token scales from the tokenizer')
        if masks is not None and num_visible is None:
            num_visible = count_visible(masks)
        if masks is not None and len(num_visible) != len(masks):
            raise ValueError(f'num_visible must have one entry per scale '
                             f'({len(masks)} masks), got {len(num_visible)}')
        feats, valids, token_ids = [], [], []
        full = None
        for s, scale in enumerate(scales):
            if s == 0:
                tokens = self.token_embeds[0](scale.neighborhoods)
            else:
                tokens = self.token_embeds[s](
                    gather_points_unchecked(full, scale.idx))
            b, g, _ = tokens.shape
            if masks is None:
                token_idx = torch.arange(g, device=tokens.device).expand(b, g)
                valid = torch.ones(
                    b, g, dtype=torch.bool, device=tokens.device)
                x, centers = tokens, scale.centers
                padded = False
            else:
                token_idx, valid = pack_visible(~masks[s], num_visible[s])
                padded = min(num_visible[s]) < max(num_visible[s])
                vmask = valid.unsqueeze(-1)
                x = gather_points_unchecked(tokens, token_idx) * vmask
                centers = gather_points_unchecked(scale.centers,
                                                  token_idx) * vmask
            attn_mask = self._attn_mask(s, centers, valid if padded else None)
            x = self.stages[s](x, self.pos_embeds[s](centers), attn_mask)
            if s < self.num_scales - 1:
                full = x if masks is None else scatter_tokens(
                    tokens, x, token_idx, valid)
            feats.append(self.norms[s](x) if self.norms is not None else x)
            valids.append(valid)
            token_ids.append(token_idx)
        return EncoderOutput(feats, valids, token_ids)

"""Hierarchical decoder (neck) of I2P-MAE."""
from typing import Optional, Sequence

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor, nn

from .i2pmae_encoder import EncoderOutput, scatter_tokens
from .layers import FeaturePropagation, ViTStage
from .point_tokenizer import TokenScale


@MODELS.register_module()
class I2PMAEDecoder(BaseModule):
    """Coarse-to-fine decoder with mask tokens and token propagation.

    Stage 0 works on the top scale: visible tokens from the encoder, a
    learned mask token at masked positions. Each further stage moves one
    scale finer: the previous stage's tokens are interpolated onto the finer
    centres (three nearest neighbours), fused with the encoder's features of
    that scale's visible tokens (zeros at masked ones), then refined by
    transformer layers. The last stage's output is normalised.

    Args:
        embed_dims (Sequence[int]): channels per stage, coarse to fine;
            ``embed_dims[i]`` must equal the encoder's channels of the
            scale that stage ``i`` decodes.
        depths (Sequence[int]): transformer layers per stage.
        num_heads (int): attention heads.
        up_blocks (Sequence[int]): residual blocks of each propagation
            (``len(embed_dims) - 1`` entries; the official configs list one
            more, which is ignored).
        drop_path_rate (float): stochastic depth over all decoder layers.
        mlp_ratio (float): MLP expansion.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 embed_dims: Sequence[int] = (384, 192),
                 depths: Sequence[int] = (1, 1),
                 num_heads: int = 6,
                 up_blocks: Sequence[int] = (1, ),
                 drop_path_rate: float = 0.1,
                 mlp_ratio: float = 4.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        embed_dims, depths = list(embed_dims), list(depths)
        up_blocks = list(up_blocks)
        if not embed_dims:
            raise ValueError('embed_dims (decoder_dims) must list at least '
                             'one stage')
        if len(depths) != len(embed_dims):
            raise ValueError(
                f'depths (decoder_depths) must have one entry per stage '
                f'(len(embed_dims)={len(embed_dims)}), got {depths}')
        if len(up_blocks) not in (len(embed_dims) - 1, len(embed_dims)):
            raise ValueError(
                f'up_blocks (decoder_up_blocks) must have '
                f'{len(embed_dims) - 1} entries (one per propagation), got '
                f'{up_blocks}')
        if any(d % num_heads for d in embed_dims):
            raise ValueError(f'num_heads={num_heads} must divide every '
                             f'entry of embed_dims={embed_dims}')
        self.embed_dims = embed_dims
        self.num_stages = len(embed_dims)
        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.mask_token = nn.Parameter(torch.zeros(1, embed_dims[0]))
        self.stages = nn.ModuleList()
        self.pos_embeds = nn.ModuleList()
        self.propagations = nn.ModuleList()
        start = 0
        for i, (dim, depth) in enumerate(zip(embed_dims, depths)):
            drop_path = dpr[start:start + depth]
            self.stages.append(
                ViTStage(dim, depth, num_heads, drop_path, mlp_ratio))
            start += depth
            self.pos_embeds.append(
                nn.Sequential(
                    nn.Linear(3, dim), nn.GELU(), nn.Linear(dim, dim)))
            if i > 0:
                self.propagations.append(
                    FeaturePropagation(dim + embed_dims[i - 1], dim,
                                       up_blocks[i - 1]))
        self.norm = nn.LayerNorm(embed_dims[-1])

    def init_weights(self) -> None:
        """Xavier transformer weights and a N(0, 0.02) mask token."""
        # by hand: init_cfg can target neither the bare mask_token (drawn
        # first) nor only the Linear/LayerNorm layers inside self.stages
        super().init_weights()
        if self.init_cfg is not None:
            return
        trunc_normal_(self.mask_token, std=.02)
        for m in self.stages.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.LayerNorm):
                nn.init.constant_(m.weight, 1.0)
                nn.init.constant_(m.bias, 0)

    def forward(self, enc: EncoderOutput, scales: Sequence[TokenScale],
                masks: Sequence[Tensor]) -> Tensor:
        """Decode.

        Args:
            enc (EncoderOutput): encoder output, finest scale first.
            scales (Sequence[TokenScale]): tokenizer output, finest first.
            masks (Sequence[Tensor]): bool masks per scale, finest first.

        Returns:
            Tensor: ``[B, G, C]`` normalised tokens of scale
            ``len(scales) - len(embed_dims)`` in token order.
        """
        top = len(scales) - 1
        if self.num_stages > len(scales):
            raise ValueError(
                f'the decoder has {self.num_stages} stages but there are '
                f'only {len(scales)} scales')
        x = None
        for i in range(self.num_stages):
            s = top - i
            centers = scales[s].centers
            b, g, _ = centers.shape
            if i == 0:
                base = self.mask_token.to(enc.feats[s].dtype).expand(b, g, -1)
                x = scatter_tokens(base, enc.feats[s], enc.token_idx[s],
                                   enc.valid[s])
            else:
                skip = enc.feats[s].new_zeros(b, g, enc.feats[s].shape[-1])
                skip = scatter_tokens(skip, enc.feats[s], enc.token_idx[s],
                                      enc.valid[s])
                x = self.propagations[i - 1](centers, scales[s + 1].centers,
                                             skip, x)
            x = self.stages[i](x, self.pos_embeds[i](centers))
        return self.norm(x)

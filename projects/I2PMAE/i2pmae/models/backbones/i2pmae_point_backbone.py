"""Tokenizer + I2P-MAE encoder on points with extra per-point channels."""
from typing import Dict, List, Tuple

import torch
from mmdet3d.registry import MODELS
from torch import Tensor

from ...ops.gather_points import gather_points_unchecked
from ...utils.point_cloud_check import check_point_cloud
from ..build_component import build_component
from ..i2pmae_encoder import I2PMAEEncoder
from ..layers import GatedExtraTokenEmbedding
from ..point_tokenizer import TokenScale


@MODELS.register_module()
class I2PMAEPointBackbone(I2PMAEEncoder):
    """Every token of every scale of clouds with extra point channels.

    The backbone of mmdet3d models whose points carry more than xyz (the
    rgb and normalised xyz of S3DIS blocks, the height of ScanNet scenes):

    1. the clouds ``[B, N, in_channels]`` (xyz first) are tokenised on
       their xyz, and every token of every scale is encoded (no mask);
    2. with ``in_channels > 3`` the first scale's token embedding is a
       :class:`~..layers.GatedExtraTokenEmbedding`: each neighbourhood's
       extra channels are embedded by a new branch added through a
       zero-initialised gate (at initialisation the features are exactly
       those of the xyz-only encoder).

    :meth:`forward` returns the points, token centres and features that
    :class:`~..I2PMAEPartSegHead` and :class:`~..I2PMAESemSegHead`
    propagate back to the points, so the backbone and head plug into
    mmdet3d's ``EncoderDecoder3D`` (training, and its ``whole`` and
    ``slide`` inference) unchanged.

    Weights: the class extends :class:`~..I2PMAEEncoder` (the tokenizer has
    none), so as ``backbone`` of a model its encoder keys are those of an
    I2P-MAE checkpoint (``backbone.token_embeds.*``, ``pos_embeds``,
    ``stages``, ``norms``) and load unchanged through ``load_from`` or
    ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
    New keys: ``token_embeds.0.extra_embed.*`` and
    ``token_embeds.0.extra_gate`` (extra channels), and ``norms.0`` with
    ``final_norm`` (pretraining builds no first-scale norm).

    Args:
        tokenizer (dict): ``MultiScalePointTokenizer`` config, with as many
            scales as ``embed_dims``.
        in_channels (int): channels per input point, xyz first. Defaults
            to 3.
        extra_hidden_channels (int): hidden width of the extra-channel
            embedding (``in_channels > 3``). Defaults to 64.
        **kwargs: :class:`~..I2PMAEEncoder` arguments (``embed_dims``,
            ``depths``, ``num_heads``, ``local_radius``, ``final_norm``,
            ``init_cfg``, ...).
    """

    def __init__(self,
                 tokenizer: dict,
                 in_channels: int = 3,
                 extra_hidden_channels: int = 64,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.tokenizer = build_component(tokenizer)
        if self.tokenizer.num_scales != self.num_scales:
            raise ValueError(
                f'the tokenizer has {self.tokenizer.num_scales} scales '
                f'(num_groups) but the encoder {self.num_scales} '
                f'(embed_dims)')
        if in_channels < 3:
            raise ValueError('in_channels must be >= 3 (xyz first), got '
                             f'{in_channels}')
        self.in_channels = in_channels
        if in_channels > 3:
            self.token_embeds[0] = GatedExtraTokenEmbedding(
                self.embed_dims[0], in_channels - 3, extra_hidden_channels)

    def encode_points(self,
                      points: Tensor) -> Tuple[Tensor, List[TokenScale], List]:
        """Tokenise and encode a batch of clouds.

        Args:
            points (Tensor): ``[B, N, in_channels]`` float clouds, xyz
                first, every value finite.

        Returns:
            tuple: ``xyz`` ``[B, N, 3]``, the tokenizer's scales (finest
            first) and the encoder features ``[B, G_s, C_s]`` of each.

        Raises:
            ValueError: ``points`` is not ``[B, N, in_channels]`` with
            finite values.
        """
        check_point_cloud(points, channels=self.in_channels)
        xyz = points[..., :3].contiguous()
        scales = self.tokenizer(xyz, check_values=False)
        if self.in_channels > 3:
            extra = gather_points_unchecked(points[..., 3:].contiguous(),
                                            scales[0].idx)
            scales[0] = scales[0]._replace(
                neighborhoods=torch.cat([scales[0].neighborhoods, extra],
                                        dim=-1))
        feats = list(super().forward(scales).feats)
        return xyz, scales, feats

    def forward(self, points: Tensor) -> Dict[str, object]:
        """Encode a batch of clouds.

        Args:
            points (Tensor): ``[B, N, in_channels]`` float clouds, xyz
                first, every value finite.

        Returns:
            dict: ``points`` ``[B, N, 3]``, and per scale (finest first)
            ``centers`` ``[B, G_s, 3]`` and ``feats`` ``[B, G_s, C_s]``.
        """
        xyz, scales, feats = self.encode_points(points)
        return dict(
            points=xyz, centers=[s.centers for s in scales], feats=feats)

"""Part-segmentation decode head on the I2P-MAE encoder's token scales."""
from typing import List, Sequence

import torch
import torch.nn.functional as F
from mmdet3d.models.decode_heads import Base3DDecodeHead
from mmdet3d.registry import MODELS
from torch import Tensor, nn

from ..layers import BiasCorrectedBatchNorm1d, FeaturePropagation

#: the keys :meth:`I2PMAEPartSegHead.forward` reads from its input dict
FEAT_KEYS = ('points', 'centers', 'feats', 'categories')


@MODELS.register_module()
class I2PMAEPartSegHead(Base3DDecodeHead):
    """Per-point part logits from multi-scale token features (Point-M2AE).

    The Point-M2AE part-segmentation recipe:

    1. every scale's token features are carried to every input point by
       three-NN inverse-distance interpolation from the token centres,
       concatenated with the point's coordinates and fused
       (:class:`~..layers.FeaturePropagation`: Conv-BN-GELU to
       ``fp_channels``, then ``fp_blocks`` residual Conv-BN blocks);
    2. the scales' point features are concatenated (``P = num_scales *
       fp_channels`` channels); each shape's global feature is their max
       plus their mean over the points, and its category's one-hot vector
       goes through Linear-BN-LeakyReLU(0.2) to ``category_channels``
       (``num_categories=0``: no category, as for scene blocks);
    3. a per-point MLP (1x1 Conv-BN-ReLU to each of ``hidden_channels``
       and then ``channels``, dropout after the first layer) and
       ``conv_seg`` give ``num_classes`` logits per point.

    The first MLP layer reads ``[point feature, global feature, category
    feature]``. Its weights are split into a point-wise 1x1 convolution of
    the ``P`` point channels and a linear map of the ``P +
    category_channels`` per-shape channels, added to every point of the
    shape: the same function as one convolution over the concatenation
    (the official layout), without building the ``[B, 2P + 64, N]`` tensor
    (6208 channels at the official sizes).

    Dropout: ``dropout_ratio`` (0.5 officially) applies after the first MLP
    layer, where the official head has it; :meth:`cls_seg` applies no
    dropout of its own. The loss is ``loss_decode`` of
    ``Base3DDecodeHead`` (cross-entropy over every point, as officially).

    Args:
        in_channels (Sequence[int]): token channels of each encoder scale,
            finest first.
        num_classes (int): part classes (50 for ShapeNetPart).
        num_categories (int): object categories (16), the one-hot size;
            0 builds no category branch (the input has no
            ``categories``).
        fp_channels (int): channels of each scale after propagation.
        fp_blocks (int): residual blocks of each propagation.
        category_channels (int): channels of the category feature
            (unused with ``num_categories=0``).
        hidden_channels (Sequence[int]): MLP widths before ``channels``.
        channels (int): the last MLP width, read by ``conv_seg``.
        dropout_ratio (float): dropout after the first MLP layer.
        loss_decode (dict): the loss config (``Base3DDecodeHead``).
        ignore_index (int): label ignored by the loss.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_classes: int = 50,
                 num_categories: int = 16,
                 fp_channels: int = 1024,
                 fp_blocks: int = 1,
                 category_channels: int = 64,
                 hidden_channels: Sequence[int] = (1024, 512),
                 channels: int = 256,
                 dropout_ratio: float = 0.5,
                 loss_decode: dict = dict(
                     type='mmdet.CrossEntropyLoss',
                     use_sigmoid=False,
                     class_weight=None,
                     loss_weight=1.0),
                 ignore_index: int = 255,
                 init_cfg=None) -> None:
        in_channels = list(in_channels)
        sizes = dict(
            num_classes=num_classes,
            fp_channels=fp_channels,
            category_channels=category_channels,
            channels=channels)
        for name, value in sizes.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{name} must be a positive int, got '
                                 f'{value!r}')
        if not isinstance(num_categories, int) or num_categories < 0:
            raise ValueError('num_categories must be an int >= 0 (0: no '
                             f'category input), got {num_categories!r}')
        if not in_channels or any(c < 1 for c in in_channels):
            raise ValueError('in_channels must list the positive channels '
                             f'of every encoder scale, got {in_channels}')
        super().__init__(
            channels=channels,
            num_classes=num_classes,
            dropout_ratio=dropout_ratio,
            loss_decode=loss_decode,
            ignore_index=ignore_index,
            init_cfg=init_cfg)
        self.in_channels = in_channels
        self.num_categories = num_categories
        self.propagations = nn.ModuleList([
            FeaturePropagation(3 + c, fp_channels, fp_blocks)
            for c in in_channels
        ])
        point_channels = len(in_channels) * fp_channels
        if num_categories:
            self.category_embed = nn.Sequential(
                nn.Linear(num_categories, category_channels, bias=False),
                BiasCorrectedBatchNorm1d(category_channels), nn.LeakyReLU(0.2))
        else:
            category_channels = 0
        widths = list(hidden_channels) + [channels]
        self.point_proj = nn.Conv1d(point_channels, widths[0], 1)
        self.shape_proj = nn.Linear(
            point_channels + category_channels, widths[0], bias=False)
        self.first_norm = BiasCorrectedBatchNorm1d(widths[0])
        layers = []
        for prev, width in zip(widths[:-1], widths[1:]):
            layers += [
                nn.Conv1d(prev, width, 1),
                BiasCorrectedBatchNorm1d(width),
                nn.ReLU(inplace=True)
            ]
        self.mlp = nn.Sequential(*layers)

    def _check_inputs(self, feats_dict: dict) -> None:
        """One ``ValueError`` naming what the input dict lacks."""
        keys = FEAT_KEYS if self.num_categories else FEAT_KEYS[:-1]
        missing = [k for k in keys if k not in feats_dict]
        if missing:
            raise ValueError(f'{type(self).__name__} needs the keys '
                             f'{list(keys)}, missing {missing}')
        num = len(self.in_channels)
        for key in ('centers', 'feats'):
            if len(feats_dict[key]) != num:
                raise ValueError(
                    f'{key} must have one entry per scale ({num}, '
                    f'len(in_channels)), got {len(feats_dict[key])}')
        for s, (c, f) in enumerate(zip(self.in_channels, feats_dict['feats'])):
            if f.shape[-1] != c:
                raise ValueError(f'feats[{s}] has {f.shape[-1]} channels, '
                                 f'in_channels[{s}] is {c}')
        if not self.num_categories:
            return
        categories = feats_dict['categories']
        if categories.shape != (len(feats_dict['points']), ) or \
                bool((categories < 0).any()) or \
                bool((categories >= self.num_categories).any()):
            raise ValueError('categories must be one id in [0, num_categories='
                             f'{self.num_categories}) per cloud, got '
                             f'{categories.tolist()}')

    def point_features(self, points: Tensor, centers: List[Tensor],
                       feats: List[Tensor]) -> Tensor:
        """Every scale's tokens propagated to the points, concatenated.

        Args:
            points (Tensor): ``[B, N, 3]`` coordinates.
            centers (list[Tensor]): ``[B, G_s, 3]`` token centres per scale.
            feats (list[Tensor]): ``[B, G_s, C_s]`` token features.

        Returns:
            Tensor: ``[B, num_scales * fp_channels, N]``.
        """
        return torch.cat([
            prop(points, c, points, f).transpose(1, 2)
            for prop, c, f in zip(self.propagations, centers, feats)
        ],
                         dim=1)

    def forward(self, feats_dict: dict) -> Tensor:
        """Part logits of every point.

        Args:
            feats_dict (dict): ``points`` ``[B, N, 3]``; ``centers`` and
                ``feats``, lists over the scales (finest first) of the
                token centres ``[B, G_s, 3]`` and encoder features ``[B,
                G_s, C_s]`` of all tokens; ``categories`` long ``[B]``
                (with ``num_categories > 0``).

        Returns:
            Tensor: ``[B, num_classes, N]`` logits.
        """
        self._check_inputs(feats_dict)
        x = self.point_features(feats_dict['points'], feats_dict['centers'],
                                feats_dict['feats'])
        shape = x.amax(2) + x.mean(2)
        if self.num_categories:
            one_hot = F.one_hot(feats_dict['categories'],
                                self.num_categories).to(x.dtype)
            shape = torch.cat([shape, self.category_embed(one_hot)], dim=1)
        x = self.point_proj(x) + self.shape_proj(shape).unsqueeze(-1)
        x = F.relu(self.first_norm(x), inplace=True)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.cls_seg(self.mlp(x))

    def cls_seg(self, feat: Tensor) -> Tensor:
        """``conv_seg`` alone (the dropout is applied in :meth:`forward`).

        Args:
            feat (Tensor): ``[B, channels, N]``.

        Returns:
            Tensor: ``[B, num_classes, N]``.
        """
        return self.conv_seg(feat)

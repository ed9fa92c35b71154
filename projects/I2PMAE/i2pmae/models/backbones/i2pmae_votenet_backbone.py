"""The I2P-MAE encoder as a VoteNet backbone (seed points and features)."""
from typing import Dict, List

from mmdet3d.registry import MODELS
from torch import Tensor, nn

from ...ops.gather_points import gather_points_unchecked
from ...utils.point_cloud_check import check_point_cloud
from ..layers import FeaturePropagation
from .i2pmae_point_backbone import I2PMAEPointBackbone


@MODELS.register_module()
class I2PMAEVoteNetBackbone(I2PMAEPointBackbone):
    """Tokenizer + I2P-MAE encoder giving the seeds VoteNet's head reads.

    mmdet3d's ``VoteHead`` takes its seeds from the backbone output as
    ``fp_xyz[-1]`` ``[B, M, 3]``, ``fp_features[-1]`` ``[B, C, M]`` and
    ``fp_indices[-1]`` ``[B, M]`` (int64 indices of the seeds in the input
    points, used to look up the vote targets), the layout of
    ``PointNet2SASSG``. This backbone produces them from the hierarchical
    encoder:

    1. the clouds ``[B, N, in_channels]`` (xyz, then per-point features
       such as the height) are tokenised on their xyz and every token of
       every scale is encoded (:class:`~.I2PMAEPointBackbone`);
    2. with ``in_channels > 3`` the first scale's token embedding is a
       :class:`~..layers.GatedExtraTokenEmbedding`: each neighbourhood's
       extra channels are embedded by a new branch added through a
       zero-initialised gate (at initialisation the features are exactly
       those of the xyz-only encoder);
    3. the seeds are the first ``num_seeds`` token centres of the first
       scale. The tokenizer orders them by furthest point sampling, whose
       first ``M`` picks are the furthest point sample of ``M`` points of
       the cloud; as the tokenizer's kNN finds every centre itself at
       distance 0 (ties by lowest index), the first neighbour of each
       centre is its index in the input points (``fp_indices``), and
       ``fp_xyz`` is gathered from the input with it;
    4. features go from the coarsest scale to the seeds by PointNet++
       feature propagation (three-NN interpolation, the finer scale's own
       features as skip, Conv-BN-GELU fusion to ``out_channels`` and
       ``fp_blocks`` residual blocks): coarsest to the next finer scale's
       centres, ..., scale 1 to the seeds with the seeds' first-scale
       features as skip.

    Weights: the class extends :class:`~..I2PMAEEncoder` through
    :class:`~.I2PMAEPointBackbone` (the tokenizer has none), so as
    ``backbone`` of a detector its encoder keys are those of an I2P-MAE
    checkpoint (``backbone.token_embeds.*``, ``pos_embeds``,
    ``stages``, ``norms``) and load unchanged through ``load_from`` (with
    ``CheckpointCompatibilityHook`` and ``load_from_required_keys``) or
    ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
    New keys: ``token_embeds.0.extra_embed.*`` and
    ``token_embeds.0.extra_gate`` (extra channels), ``fp_layers.*``, and
    ``norms.0`` (pretraining builds no first-scale norm).

    Args:
        tokenizer (dict): ``MultiScalePointTokenizer`` config; its
            ``num_groups[0]`` must be at least ``num_seeds``.
        num_seeds (int): seeds ``M``. Defaults to 1024.
        out_channels (int): seed feature channels ``C``. Defaults to 256.
        in_channels (int): channels per input point, xyz first (4: xyz and
            height, as ``PointNet2SASSG`` on ScanNet). Defaults to 4.
        fp_blocks (int): residual blocks of each feature propagation.
            Defaults to 1.
        extra_hidden_channels (int): hidden width of the extra-channel
            embedding (``in_channels > 3``). Defaults to 64.
        **kwargs: :class:`~..I2PMAEEncoder` arguments (``embed_dims``,
            ``depths``, ``num_heads``, ``local_radius``, ``final_norm``,
            ``init_cfg``, ...); at least two scales.
    """

    def __init__(self,
                 tokenizer: dict,
                 num_seeds: int = 1024,
                 out_channels: int = 256,
                 in_channels: int = 4,
                 fp_blocks: int = 1,
                 extra_hidden_channels: int = 64,
                 **kwargs) -> None:
        super().__init__(
            tokenizer=tokenizer,
            in_channels=in_channels,
            extra_hidden_channels=extra_hidden_channels,
            **kwargs)
        if self.num_scales < 2:
            raise ValueError(
                'I2PMAEVoteNetBackbone propagates features from coarser '
                'scales to the seeds: embed_dims must list at least two '
                f'scales, got {self.embed_dims}')
        if not 1 <= num_seeds <= self.tokenizer.num_groups[0]:
            raise ValueError(
                f'num_seeds={num_seeds} must be between 1 and the '
                f'{self.tokenizer.num_groups[0]} first-scale tokens '
                f'(tokenizer.num_groups[0]) the seeds are taken from')
        self.num_seeds = num_seeds
        self.out_channels = out_channels
        # coarsest first: scale S-1 -> S-2, ..., scale 1 -> the seeds
        self.fp_layers = nn.ModuleList()
        coarse = self.embed_dims[-1]
        for s in range(self.num_scales - 2, -1, -1):
            self.fp_layers.append(
                FeaturePropagation(self.embed_dims[s] + coarse, out_channels,
                                   fp_blocks))
            coarse = out_channels

    def forward(self, points: Tensor) -> Dict[str, List[Tensor]]:
        """Seeds of a batch of clouds.

        Args:
            points (Tensor): ``[B, N, in_channels]`` float clouds, xyz first
                (the detector's stacked points), every value finite.

        Returns:
            dict[str, list[Tensor]]: one-element lists (the head reads
            ``[-1]``):

            - ``fp_xyz``: ``[B, M, 3]`` seed coordinates, the input points
              at ``fp_indices``;
            - ``fp_features``: ``[B, C, M]`` seed features;
            - ``fp_indices``: int64 ``[B, M]`` indices into the points.

        Raises:
            ValueError: ``points`` is not ``[B, N, in_channels]`` with
            finite values, or has fewer than ``num_seeds`` points.
        """
        # the shape first, so that the seed count is read from a cloud
        check_point_cloud(
            points, channels=self.in_channels, check_values=False)
        num_points = points.shape[1]
        if self.num_seeds > num_points:
            raise ValueError(
                f'num_seeds={self.num_seeds} seeds exceed the {num_points} '
                'input points per cloud: sample more points per scene or '
                'lower num_seeds')
        xyz, scales, feats = self.encode_points(points)
        seed_idx = scales[0].idx[:, :self.num_seeds, 0]
        seed_xyz = gather_points_unchecked(xyz, seed_idx)
        x = feats[-1]
        for i, s in enumerate(range(self.num_scales - 2, -1, -1)):
            coarse_xyz = scales[s + 1].centers
            if s == 0:
                fine_xyz = seed_xyz
                skip = feats[0][:, :self.num_seeds]
            else:
                fine_xyz, skip = scales[s].centers, feats[s]
            x = self.fp_layers[i](fine_xyz, coarse_xyz, skip, x)
        return dict(
            fp_xyz=[seed_xyz],
            fp_features=[x.transpose(1, 2).contiguous()],
            fp_indices=[seed_idx])

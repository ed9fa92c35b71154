"""Token propagation between scales (PointNet++ feature propagation)."""
from typing import Optional

import torch
from torch import Tensor, nn

from ...ops import three_nn_interpolate
from .bias_corrected_batch_norm import BiasCorrectedBatchNorm1d


class _ConvBNAct(nn.Module):
    """Point-wise Conv1d → BatchNorm1d → GELU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, 1),
            BiasCorrectedBatchNorm1d(out_channels), nn.GELU())

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class _ResidualConvBN(nn.Module):
    """Two point-wise Conv-BN layers with a residual GELU (one block)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net1 = nn.Sequential(
            nn.Conv1d(channels, channels, 1),
            BiasCorrectedBatchNorm1d(channels), nn.GELU())
        self.net2 = nn.Sequential(
            nn.Conv1d(channels, channels, 1),
            BiasCorrectedBatchNorm1d(channels))
        self.act = nn.GELU()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.net2(self.net1(x)) + x)


class FeaturePropagation(nn.Module):
    """Interpolate coarse tokens onto fine positions and fuse them.

    Coarse features are carried to each fine position by inverse-squared-
    distance weighting of its three nearest coarse tokens, concatenated with
    the fine tokens' own features (skip), fused by Conv-BN-GELU and refined
    by ``num_blocks`` residual Conv-BN blocks.

    Args:
        in_channels (int): skip channels + coarse channels.
        out_channels (int): output channels.
        num_blocks (int): residual blocks after the fusion.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int = 1) -> None:
        super().__init__()
        self.fuse = _ConvBNAct(in_channels, out_channels)
        self.extraction = nn.Module()
        self.extraction.operation = nn.Sequential(
            *[_ResidualConvBN(out_channels) for _ in range(num_blocks)])

    def forward(self, fine_xyz: Tensor, coarse_xyz: Tensor,
                fine_feats: Optional[Tensor], coarse_feats: Tensor) -> Tensor:
        """Propagate.

        Args:
            fine_xyz (Tensor): ``[B, N, 3]`` target positions.
            coarse_xyz (Tensor): ``[B, S, 3]`` source positions.
            fine_feats (Tensor, optional): ``[B, N, C1]`` skip features.
            coarse_feats (Tensor): ``[B, S, C2]`` source features.

        Returns:
            Tensor: ``[B, N, out_channels]``.
        """
        # token centres of a checked batch: no value checks
        x = three_nn_interpolate(
            fine_xyz, coarse_xyz, coarse_feats, check_values=False)
        if fine_feats is not None:
            x = torch.cat([fine_feats, x], dim=-1)
        x = self.fuse(x.transpose(1, 2))
        x = self.extraction.operation(x)
        return x.transpose(1, 2)

"""Mini-PointNet that turns a group of points (or tokens) into one token."""
import torch
from torch import Tensor, nn

from .bias_corrected_batch_norm import BiasCorrectedBatchNorm1d


class TokenEmbedding(nn.Module):
    """Embed each neighbourhood ``[K, C_in]`` into a single ``C_out`` token.

    Two shared point-wise MLPs with a max-pool in between, the second one
    seeing each member concatenated with the group's pooled feature (the
    Point-BERT / Point-M2AE tokenizer). At the first scale ``C_in`` is 3
    (coordinates relative to the centre) and the hidden sizes are 128/256/512;
    at coarser scales the members are the finer scale's tokens and the hidden
    width equals ``C_in`` (token merging).

    Args:
        in_channels (int): channels of each group member.
        out_channels (int): channels of the produced token.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        if in_channels == 3:
            hidden, mid = 128, 256
        else:
            hidden = mid = in_channels
        self.first_conv = nn.Sequential(
            nn.Conv1d(in_channels, hidden, 1),
            BiasCorrectedBatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Conv1d(hidden, mid, 1))
        second_hidden = 512 if in_channels == 3 else out_channels
        self.second_conv = nn.Sequential(
            nn.Conv1d(2 * mid, second_hidden, 1),
            BiasCorrectedBatchNorm1d(second_hidden), nn.ReLU(inplace=True),
            nn.Conv1d(second_hidden, out_channels, 1))

    def forward(self, groups: Tensor) -> Tensor:
        """Embed groups.

        Args:
            groups (Tensor): ``[B, G, K, C_in]`` group members.

        Returns:
            Tensor: ``[B, G, C_out]`` one token per group.
        """
        b, g, k, c = groups.shape
        x = groups.reshape(b * g, k, c).transpose(1, 2)
        x = self.first_conv(x)
        pooled = x.max(dim=2, keepdim=True)[0]
        x = torch.cat([pooled.expand(-1, -1, k), x], dim=1)
        x = self.second_conv(x)
        return x.max(dim=2)[0].reshape(b, g, self.out_channels)

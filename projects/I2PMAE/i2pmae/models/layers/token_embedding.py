"""Mini-PointNet that turns a group of points (or tokens) into one token."""
from typing import Optional

import torch
from torch import Tensor, nn

from .bias_corrected_batch_norm import BiasCorrectedBatchNorm1d
from .chunked_token_embedding import ChunkedTokenEmbeddingFunction


class TokenEmbedding(nn.Module):
    """Embed each neighbourhood ``[K, C_in]`` into a single ``C_out`` token.

    Two shared point-wise MLPs with a max-pool in between, the second one
    seeing each member concatenated with the group's pooled feature (the
    Point-BERT / Point-M2AE tokenizer). At the first scale ``C_in`` is 3
    (coordinates relative to the centre) and the hidden sizes are 128/256/512;
    at coarser scales the members are the finer scale's tokens and the hidden
    width equals ``C_in`` (token merging).

    When gradients are recorded (and autocast is off), the forward and
    backward passes run in chunks of about ``chunk_points`` group members
    through :class:`~.chunked_token_embedding.ChunkedTokenEmbeddingFunction`,
    which keeps no per-member activation for the backward pass; the result
    and gradients are those of the plain modules up to float rounding.
    Without gradients the plain modules run.

    Args:
        in_channels (int): channels of each group member.
        out_channels (int): channels of the produced token.
        chunk_points (int, optional): group members per chunk of the
            memory-lean path; None always runs the plain modules (autograd
            then keeps every member's activations). Defaults to 32768.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 chunk_points: Optional[int] = 32768) -> None:
        super().__init__()
        if chunk_points is not None and chunk_points < 1:
            raise ValueError(
                f'chunk_points must be positive or None, got {chunk_points}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.chunk_points = chunk_points
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
        if self._runs_chunked(groups):
            return self._chunked_forward(groups.reshape(b * g, k, c)).reshape(
                b, g, self.out_channels)
        x = groups.reshape(b * g, k, c).transpose(1, 2)
        x = self.first_conv(x)
        pooled = x.max(dim=2, keepdim=True)[0]
        x = torch.cat([pooled.expand(-1, -1, k), x], dim=1)
        x = self.second_conv(x)
        return x.max(dim=2)[0].reshape(b, g, self.out_channels)

    def _runs_chunked(self, groups: Tensor) -> bool:
        """Whether :meth:`forward` takes the memory-lean path."""
        return (self.chunk_points is not None and torch.is_grad_enabled()
                and not torch.is_autocast_enabled(groups.device.type)
                and (groups.requires_grad or any(p.requires_grad
                                                 for p in self.parameters())))

    def _chunked_forward(self, x: Tensor) -> Tensor:
        """The memory-lean forward pass of ``[N, K, C_in]`` members."""
        conv1, bn1, _, conv2 = self.first_conv
        conv3, bn2, _, conv4 = self.second_conv
        if x.shape[0] * x.shape[1] < 2 and bn1.fixed_stats() is None:
            # as nn.BatchNorm1d: one value has no batch variance
            raise ValueError(
                'TokenEmbedding: batch statistics need more than one group '
                f'member per channel, got groups of shape {list(x.shape)} '
                '([B * G, K, C_in])')
        rows = max(1, self.chunk_points // x.shape[1])
        out, mean1, var1, mean2, var2 = ChunkedTokenEmbeddingFunction.apply(
            x, rows, bn1.fixed_stats(), bn2.fixed_stats(), bn1.eps, bn2.eps,
            conv1.weight.squeeze(-1), conv1.bias, bn1.weight, bn1.bias,
            conv2.weight.squeeze(-1), conv2.bias,
            conv3.weight.squeeze(-1), conv3.bias, bn2.weight, bn2.bias,
            conv4.weight.squeeze(-1), conv4.bias)
        if bn1.fixed_stats() is None:
            bn1.record_batch(mean1, var1, x.shape[0] * x.shape[1])
        if bn2.fixed_stats() is None:
            bn2.record_batch(mean2, var2, x.shape[0] * x.shape[1])
        return out

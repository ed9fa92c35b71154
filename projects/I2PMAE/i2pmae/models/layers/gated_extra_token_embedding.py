"""First-scale token embedding of xyz plus gated extra point channels."""
import torch
from torch import Tensor, nn

from .bias_corrected_batch_norm import BiasCorrectedBatchNorm1d
from .token_embedding import TokenEmbedding


class GatedExtraTokenEmbedding(TokenEmbedding):
    """A first-scale :class:`TokenEmbedding` that also reads extra channels.

    Each neighbourhood member carries its centred coordinates followed by
    ``extra_channels`` more values (e.g. the height above the floor of
    VoteNet's ScanNet input). The coordinates go through the unchanged
    xyz embedding (the parameters, and so the state-dict keys, of
    ``TokenEmbedding(3, out_channels)``: pretrained I2P-MAE weights load
    into it as they are). The extra channels go through a separate
    mini-PointNet (point-wise Conv-BN-ReLU-Conv, max over the members) whose
    token is scaled per channel by ``extra_gate`` and added::

        token = embed_xyz(xyz) + extra_gate * embed_extra(extra)

    ``extra_gate`` starts at zero, so an untrained embedding gives exactly
    the xyz-only tokens (a pretrained encoder starts from the features it
    was pretrained to produce), while the gate's gradient is non-zero from
    the first step. It is a bare parameter, so layer-type init configs
    (``TruncNormal`` on ``Linear``/``Conv1d``) leave it at zero.

    Args:
        out_channels (int): channels of the produced token.
        extra_channels (int): extra channels per member, ``>= 1``.
        extra_hidden_channels (int): width of the extra branch's hidden
            layer. Defaults to 64.
    """

    def __init__(self,
                 out_channels: int,
                 extra_channels: int,
                 extra_hidden_channels: int = 64) -> None:
        if extra_channels < 1:
            raise ValueError(
                f'extra_channels must be >= 1, got {extra_channels}')
        super().__init__(3, out_channels)
        self.extra_channels = extra_channels
        self.extra_embed = nn.Sequential(
            nn.Conv1d(extra_channels, extra_hidden_channels, 1),
            BiasCorrectedBatchNorm1d(extra_hidden_channels),
            nn.ReLU(inplace=True),
            nn.Conv1d(extra_hidden_channels, out_channels, 1))
        self.extra_gate = nn.Parameter(torch.zeros(out_channels))

    def forward(self, groups: Tensor) -> Tensor:
        """Embed groups.

        Args:
            groups (Tensor): ``[B, G, K, 3 + extra_channels]`` members:
                centred coordinates, then the extra channels.

        Returns:
            Tensor: ``[B, G, out_channels]`` one token per group.
        """
        expected = 3 + self.extra_channels
        if groups.dim() != 4 or groups.shape[-1] != expected:
            raise ValueError(f'groups must have shape [B, G, K, {expected}] '
                             f'(xyz + {self.extra_channels} extra channels), '
                             f'got {list(groups.shape)}')
        tokens = super().forward(groups[..., :3])
        b, g, k, c = groups.shape
        extra = groups[..., 3:].reshape(b * g, k, c - 3).transpose(1, 2)
        extra = self.extra_embed(extra).max(dim=2)[0]
        return tokens + self.extra_gate * extra.reshape(b, g, -1)

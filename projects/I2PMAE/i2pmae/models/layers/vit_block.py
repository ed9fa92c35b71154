"""Pre-norm ViT blocks (and stacks of them) with boolean attention masks."""
from typing import Optional, Sequence, Union

import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn


class ViTBlock(nn.Module):
    """One pre-norm ViT block (no qkv bias by default).

    ``x = x + DropPath(Attn(LN(x)))``; ``x = x + DropPath(MLP(LN(x)))``.

    Args:
        dim (int): token channels.
        num_heads (int): attention heads; must divide ``dim``.
        mlp_ratio (float): hidden size of the MLP relative to ``dim``.
        qkv_bias (bool): whether the qkv projection has a bias.
        drop_path (float): stochastic-depth rate of this block.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = False,
                 drop_path: float = 0.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'num_heads={num_heads} must divide the token '
                             f'dimension {dim}')
        self.num_heads = num_heads
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(dim, hidden)
        self.mlp.act = nn.GELU()
        self.mlp.fc2 = nn.Linear(hidden, dim)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else (
            nn.Identity())

    def attention(self, x: Tensor, attn_mask: Optional[Tensor]) -> Tensor:
        """Multi-head self-attention.

        Args:
            x (Tensor): ``[B, L, C]`` normalised tokens.
            attn_mask (Tensor, optional): bool ``[B, L, L]``, True where a
                query may attend to a key. Every row needs one True.

        Returns:
            Tensor: ``[B, L, C]``.
        """
        b, n, c = x.shape
        qkv = self.attn.qkv(x).reshape(b, n, 3, self.num_heads,
                                       c // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if attn_mask is not None:
            attn_mask = attn_mask.unsqueeze(1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.attn.proj(out.transpose(1, 2).reshape(b, n, c))

    def forward(self, x: Tensor, attn_mask: Optional[Tensor] = None) -> Tensor:
        """Apply the block.

        Args:
            x (Tensor): ``[B, L, C]`` tokens.
            attn_mask (Tensor, optional): bool ``[B, L, L]``, True = attend.

        Returns:
            Tensor: ``[B, L, C]``.
        """
        x = x + self.drop_path(self.attention(self.norm1(x), attn_mask))
        h = self.mlp.fc2(self.mlp.act(self.mlp.fc1(self.norm2(x))))
        return x + self.drop_path(h)


class ViTStage(nn.Module):
    """A stack of :class:`ViTBlock`; the positional embedding is re-added
    before each block.

    Args:
        dim (int): token channels.
        depth (int): number of blocks.
        num_heads (int): attention heads.
        drop_path (float | Sequence[float]): per-block stochastic depth.
        mlp_ratio (float): MLP expansion.
    """

    def __init__(self,
                 dim: int,
                 depth: int,
                 num_heads: int,
                 drop_path: Union[float, Sequence[float]] = 0.0,
                 mlp_ratio: float = 4.0) -> None:
        super().__init__()
        if isinstance(drop_path, (int, float)):
            drop_path = [float(drop_path)] * depth
        self.blocks = nn.ModuleList([
            ViTBlock(
                dim, num_heads, mlp_ratio=mlp_ratio, drop_path=drop_path[i])
            for i in range(depth)
        ])

    def forward(self,
                x: Tensor,
                pos: Tensor,
                attn_mask: Optional[Tensor] = None) -> Tensor:
        """Run every block on ``x + pos``.

        Args:
            x (Tensor): ``[B, L, C]`` tokens.
            pos (Tensor): ``[B, L, C]`` positional embeddings.
            attn_mask (Tensor, optional): bool ``[B, L, L]``, True = attend.

        Returns:
            Tensor: ``[B, L, C]``.
        """
        for block in self.blocks:
            x = block(x + pos, attn_mask)
        return x

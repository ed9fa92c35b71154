"""Shared logic of the token mask generators."""
from typing import List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor

from .point_tokenizer import TokenScale

#: How a top-scale mask is carried to the finer scales (see
#: :func:`propagate_mask`).
PROPAGATION_MODES = ('stated', 'official')


def propagate_mask(top_mask: Tensor,
                   scales: Sequence[TokenScale],
                   propagation: str = 'stated') -> List[Tensor]:
    """Carry a top-scale mask down to every finer scale.

    ``'stated'`` (the rule of the paper and the default): a token of scale
    ``s - 1`` is visible iff it is a neighbour of at least one visible token
    of scale ``s``.

    ``'official'`` reproduces the official code exactly: it multiplies the
    batch-offset neighbour indices by "coarse token visible" and scatters
    "visible" at the products, so every masked coarse token sends its
    neighbours to flat index 0. Whenever any token of scale ``s`` in the
    batch is masked, token 0 of sample 0 at scale ``s - 1`` is therefore
    marked visible too, neighbour of a visible token or not (the result of a
    sample depends on its position in the batch).

    Args:
        top_mask (Tensor): bool ``[B, G_top]``, True = masked.
        scales (Sequence[TokenScale]): the tokenizer output, finest first.
        propagation (str): ``'stated'`` or ``'official'``.

    Returns:
        list[Tensor]: bool masks ``[B, G_s]`` for every scale, finest first.
    """
    if propagation not in PROPAGATION_MODES:
        raise ValueError(f'propagation must be one of {PROPAGATION_MODES}, '
                         f'got {propagation!r}')
    masks = [top_mask]
    for s in range(len(scales) - 1, 0, -1):
        idx = scales[s].idx  # [B, G_s, K] into scale s-1
        b, g, k = idx.shape
        visible = (~masks[-1]).unsqueeze(-1).expand(b, g, k).to(torch.int32)
        num_fine = scales[s - 1].centers.shape[1]
        hits = idx.new_zeros(b, num_fine, dtype=torch.int32)
        hits.scatter_add_(1, idx.reshape(b, g * k), visible.reshape(b, g * k))
        fine_mask = hits == 0
        if propagation == 'official':
            # masked coarse tokens scatter "visible" at flat index 0
            fine_mask[0, 0] &= ~masks[-1].any()
        masks.append(fine_mask)
    return masks[::-1]


class BaseMaskGenerator(BaseModule):
    """Masks a ``mask_ratio`` share of the top-scale tokens and propagates.

    Args:
        mask_ratio (float): share of top-scale tokens to mask, in (0, 1).
        propagation (str): ``'stated'`` (default) or ``'official'`` (for
            parity checks); see :func:`propagate_mask`.
    """

    def __init__(self,
                 mask_ratio: float = 0.8,
                 propagation: str = 'stated') -> None:
        super().__init__()
        if not 0.0 < float(mask_ratio) < 1.0:
            raise ValueError(
                f'mask_ratio must lie in (0, 1), got {mask_ratio}')
        if propagation not in PROPAGATION_MODES:
            raise ValueError(f'propagation must be one of '
                             f'{PROPAGATION_MODES}, got {propagation!r}')
        self.mask_ratio = float(mask_ratio)
        self.propagation = propagation

    def num_masked(self, num_tokens: int) -> int:
        """Number of masked top-scale tokens (official rounding: floor)."""
        return int(self.mask_ratio * num_tokens)

    def sample_top_mask(self, scales: Sequence[TokenScale],
                        saliency: Optional[Tensor]) -> Tensor:
        """Draw the top-scale mask; implemented by subclasses."""
        raise NotImplementedError

    def forward(self,
                scales: Sequence[TokenScale],
                saliency: Optional[Tensor] = None,
                top_mask: Optional[Tensor] = None) -> List[Tensor]:
        """Produce masks for every scale.

        Args:
            scales (Sequence[TokenScale]): tokenizer output, finest first.
            saliency (Tensor, optional): ``[B, G_top]`` token importance.
            top_mask (Tensor, optional): bool ``[B, G_top]`` injected mask
                (True = masked); when given nothing is sampled.

        Returns:
            list[Tensor]: bool ``[B, G_s]`` masks, finest first.
        """
        top = scales[-1].centers
        if top_mask is None:
            top_mask = self.sample_top_mask(scales, saliency)
        else:
            top_mask = top_mask.to(device=top.device, dtype=torch.bool)
            if top_mask.shape != top.shape[:2]:
                raise ValueError(
                    f'top_mask must have shape {tuple(top.shape[:2])} '
                    f'([B, G_top]), got {tuple(top_mask.shape)}')
            num_vis = (~top_mask).sum(1)
            if (num_vis == 0).any():
                raise ValueError('top_mask masks every token of some sample; '
                                 'at least one must stay visible')
            if (num_vis != num_vis[0]).any():
                raise ValueError(
                    'top_mask must keep the same number of visible tokens '
                    f'in every sample, got {num_vis.tolist()}')
        return propagate_mask(top_mask, scales, self.propagation)

"""Uniformly random masking (the Point-M2AE baseline)."""
from typing import Optional, Sequence

import torch
from mmdet3d.registry import MODELS
from torch import Tensor

from .base_mask_generator import BaseMaskGenerator
from .point_tokenizer import TokenScale


@MODELS.register_module()
class RandomMaskGenerator(BaseMaskGenerator):
    """Masks a uniformly random ``mask_ratio`` share of top-scale tokens.

    Args:
        mask_ratio (float): share of masked top-scale tokens, in (0, 1).
        propagation (str): ``'stated'`` (default) or ``'official'``; see
            :func:`propagate_mask`.
    """

    def sample_top_mask(self,
                        scales: Sequence[TokenScale],
                        saliency: Optional[Tensor] = None) -> Tensor:
        """Sample a uniform mask (``saliency`` is ignored).

        Returns:
            Tensor: bool ``[B, G_top]``, True = masked.
        """
        centers = scales[-1].centers
        b, g = centers.shape[:2]
        order = torch.rand(b, g, device=centers.device).argsort(dim=1)
        mask = torch.zeros(b, g, dtype=torch.bool, device=centers.device)
        mask.scatter_(1, order[:, :self.num_masked(g)], True)
        return mask

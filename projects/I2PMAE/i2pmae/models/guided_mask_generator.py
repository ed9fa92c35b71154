"""2D-guided masking: salient tokens are more likely to stay visible."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from torch import Tensor

from .base_mask_generator import BaseMaskGenerator
from .point_tokenizer import TokenScale


@MODELS.register_module()
class GuidedMaskGenerator(BaseMaskGenerator):
    """I2P-MAE's 2D-guided mask.

    The saliency of the top-scale tokens is turned into a distribution by a
    softmax (with ``temperature``); tokens are drawn from it without
    replacement and the first ``(1 - mask_ratio) * G`` drawn stay visible, so
    semantically important tokens tend to be kept.

    The draw is the one ``torch.multinomial(probs, G, replacement=False)``
    makes (the order of ``probs / q`` with ``q ~ Exp(1)``, same random
    numbers, same result), written out because ``torch.multinomial``
    checks ``probs`` on the host, a device-to-host synchronisation on
    CUDA; the softmax needs no such check.

    Args:
        mask_ratio (float): share of masked top-scale tokens, in (0, 1).
        temperature (float): softmax temperature (1 = official).
        propagation (str): ``'stated'`` (default) or ``'official'``; see
            :func:`propagate_mask`.
    """

    def __init__(self,
                 mask_ratio: float = 0.8,
                 temperature: float = 1.0,
                 propagation: str = 'stated') -> None:
        super().__init__(mask_ratio, propagation)
        if temperature <= 0:
            raise ValueError(
                f'temperature must be positive, got {temperature}')
        self.temperature = float(temperature)

    def sample_top_mask(self, scales: Sequence[TokenScale],
                        saliency: Optional[Tensor]) -> Tensor:
        """Sample the top-scale mask from the saliency.

        Args:
            scales (Sequence[TokenScale]): tokenizer output.
            saliency (Tensor): ``[B, G_top]`` back-projected 2D saliency.

        Returns:
            Tensor: bool ``[B, G_top]``, True = masked.
        """
        b, g = scales[-1].centers.shape[:2]
        if saliency is None or tuple(saliency.shape) != (b, g):
            got = None if saliency is None else tuple(saliency.shape)
            raise ValueError(f'saliency must be a [B, G_top] = {(b, g)} '
                             f'tensor for guided masking, got {got}')
        probs = F.softmax(saliency.float() / self.temperature, dim=1)
        noise = torch.empty_like(probs).exponential_(1)
        order = (probs / noise).topk(g, dim=1).indices
        num_keep = g - self.num_masked(g)
        mask = torch.ones(b, g, dtype=torch.bool, device=saliency.device)
        mask.scatter_(1, order[:, :num_keep], False)
        return mask

"""Selecting masked or visible tokens with lengths known on the host.

A boolean-mask index (``x[mask]``) or a length read from a tensor
(``int(mask.sum())``) makes the host wait for the device: the output shape
depends on the data. The masks of a pretraining step have data-dependent
visible counts at the finer scales, so :class:`~.i2pmae.I2PMAE` reads the
counts of every sample at every scale once (:func:`count_visible`, the
step's one device-to-host transfer) and hands them to the functions that
need a length, such as :func:`select_rows`.
"""
from typing import List, Sequence

import torch
from torch import Tensor


def count_visible(masks: Sequence[Tensor]) -> List[List[int]]:
    """The number of visible tokens of every sample at every scale.

    All scales are read in one device-to-host transfer.

    Args:
        masks (Sequence[Tensor]): bool ``[B, G_s]`` per scale, True =
            masked.

    Returns:
        list[list[int]]: ``counts[s][b]``, visible tokens of sample ``b``
        at scale ``s``.
    """
    if not masks:
        return []
    return torch.stack([(~mask).sum(dim=1) for mask in masks]).tolist()


def select_rows(x: Tensor, mask: Tensor, count: int) -> Tensor:
    """``x[mask]`` for a mask with a known number of True entries.

    Same values, order and gradient as boolean indexing, without reading
    ``mask`` on the host.

    Args:
        x (Tensor): ``[B, G, ...]`` rows.
        mask (Tensor): bool ``[B, G]``.
        count (int): the number of True entries of ``mask``.

    Returns:
        Tensor: ``[count, ...]`` the rows where ``mask`` is True, in
        ``(b, g)`` order.
    """
    if tuple(x.shape[:2]) != tuple(mask.shape) or mask.dim() != 2:
        raise ValueError(f'mask must be a [B, G] tensor matching the first '
                         f'two dimensions of x {tuple(x.shape)}, got '
                         f'{tuple(mask.shape)}')
    if not 0 <= count <= mask.numel():
        raise ValueError(f'count must be in [0, {mask.numel()}] (the '
                         f'entries of mask), got {count}')
    flat = mask.reshape(-1)
    # True entries get key 0: first, and in index order (stable sort)
    order = torch.argsort((~flat).to(torch.int8), stable=True)[:count]
    return x.reshape(flat.shape[0], *x.shape[2:]).index_select(0, order)

"""Plain reference implementations that the tests compare the plugin with.

They favour clarity over memory and speed and are not part of the package.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

from projects.I2PMAE.i2pmae.models.multiview_depth_projector import (
    MultiViewDepthProjector, ProjectionMeta)


def chamfer_l2(pred: Tensor, target: Tensor) -> Tensor:
    """Symmetric Chamfer distance with squared Euclidean distances.

    ``mean_i min_j |p_i - t_j|^2 + mean_j min_i |p_i - t_j|^2`` where the
    means run over every point of every set in the batch (the official
    I2P-MAE 3D loss).

    Args:
        pred (Tensor): ``[L, K1, 3]`` predicted point sets.
        target (Tensor): ``[L, K2, 3]`` ground-truth point sets.

    Returns:
        Tensor: scalar loss.
    """
    if pred.dim() != 3 or target.dim() != 3 or pred.shape[0] != (
            target.shape[0]) or pred.shape[-1] != target.shape[-1]:
        raise ValueError('pred and target must be [L, K, C] sets with the '
                         f'same L and C, got {tuple(pred.shape)} and '
                         f'{tuple(target.shape)}')
    dist = (pred.unsqueeze(2) - target.unsqueeze(1)).pow(2).sum(-1)
    return dist.min(dim=2)[0].mean() + dist.min(dim=1)[0].mean()


def back_project_reference(projector: MultiViewDepthProjector, maps: Tensor,
                           xyz: Tensor, meta: ProjectionMeta) -> Tensor:
    """Full-resolution version of ``projector.back_project``.

    Upsamples ``maps`` to ``S x S`` with ``F.interpolate`` and gathers the
    points' pixels. Memory grows with ``V * B * C * S * S``.

    Args:
        projector (MultiViewDepthProjector): the projector whose pixel
            mapping is used.
        maps (Tensor): ``[V * B, C, h, w]`` maps.
        xyz (Tensor): ``[B, M, 3]`` points.
        meta (ProjectionMeta): the mapping returned by ``projector``.

    Returns:
        Tensor: ``[V, B, M, C]`` sampled values.
    """
    projector._check_xyz(xyz, 'xyz')
    size = meta.image_size
    vb, channels = maps.shape[:2]
    pixel = projector._pixel_of(projector._to_views(xyz),
                                meta).clamp(0, size - 1)
    full = F.interpolate(
        maps, size=(size, size), mode='bicubic', align_corners=False)
    flat = (pixel[..., 0] * size + pixel[..., 1]).unsqueeze(1)
    values = torch.gather(full.flatten(2), 2, flat.expand(vb, channels, -1))
    return values.transpose(1, 2).reshape(meta.num_views, meta.batch_size, -1,
                                          channels)

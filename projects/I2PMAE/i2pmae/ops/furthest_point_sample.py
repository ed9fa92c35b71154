"""Furthest point sampling (FPS)."""
import torch
from torch import Tensor

from ..utils.point_cloud_check import check_point_cloud
from . import _dispatch
from ._checks import check_count
from .furthest_point_sample_cpu import (furthest_point_sample_cpu,
                                        use_compiled_kernel)


def furthest_point_sample(points: Tensor,
                          num_samples: int,
                          check_values: bool = True) -> Tensor:
    """Pick ``num_samples`` well spread points by furthest point sampling.

    The first sample is point 0. Each next sample is the point whose squared
    L2 distance to the already chosen set is largest; among equal distances
    the lowest index wins. CUDA tensors go to mmcv's kernel (float32),
    float32 / float64 CPU tensors to a loop compiled by numba
    (:mod:`.furthest_point_sample_cpu`), other tensors to a torch
    implementation vectorised over the batch; all three return the same
    indices.

    Args:
        points (Tensor): ``[B, N, 3]`` coordinates.
        num_samples (int): number of samples S, ``1 <= S <= N``.
        check_values (bool): check that the coordinates are finite (a
            device-to-host synchronisation on CUDA); internal callers with
            checked inputs pass False. Defaults to True.

    Returns:
        Tensor: ``[B, S]`` int64 indices into ``points``.
    """
    check_point_cloud(points, 'points', check_values=check_values)
    check_count('num_samples', num_samples, points.shape[1],
                'N (number of points)')
    if _dispatch.use_mmcv_kernels(points):
        kernel = _dispatch.mmcv_op('furthest_point_sample')
        idx = kernel(points.detach().float().contiguous(), num_samples)
        return idx.long()
    if use_compiled_kernel(points):
        return furthest_point_sample_cpu(points, num_samples)
    return _furthest_point_sample_torch(points.detach(), num_samples)


@torch.no_grad()
def _furthest_point_sample_torch(points: Tensor, num_samples: int) -> Tensor:
    """Torch FPS: a loop over the samples, vectorised over batch and points.

    Args:
        points (Tensor): ``[B, N, 3]`` coordinates.
        num_samples (int): number of samples S.

    Returns:
        Tensor: ``[B, S]`` int64 indices.
    """
    batch_size, num_points, _ = points.shape
    device = points.device
    idx = torch.zeros((batch_size, num_samples),
                      dtype=torch.long,
                      device=device)
    # coordinate-major copy so that each coordinate is a contiguous row
    coords = points.transpose(1, 2).contiguous()  # [B, 3, N]
    min_dist = torch.full((batch_size, num_points),
                          float('inf'),
                          dtype=points.dtype,
                          device=device)
    dist = torch.empty_like(min_dist)
    diff = torch.empty_like(min_dist)
    batch = torch.arange(batch_size, device=device)
    last = torch.zeros(batch_size, dtype=torch.long, device=device)
    for i in range(1, num_samples):
        centre = coords[batch, :, last].unsqueeze(-1)  # [B, 3, 1]
        torch.sub(coords[:, 0], centre[:, 0], out=dist)
        dist.square_()
        for axis in (1, 2):
            torch.sub(coords[:, axis], centre[:, axis], out=diff)
            dist.add_(diff.square_())
        torch.minimum(min_dist, dist, out=min_dist)
        last = min_dist.argmax(dim=1)
        idx[:, i] = last
    return idx

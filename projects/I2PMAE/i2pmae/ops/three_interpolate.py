"""Inverse-distance interpolation of features from three neighbours."""
from typing import Optional

from torch import Tensor

from ..utils.point_cloud_check import check_point_cloud
from . import _dispatch
from ._checks import (check_features, check_index, check_same_batch,
                      check_tensor)
from .gather_points import MMCV_FLOAT_DTYPES, gather_points_unchecked
from .knn import knn
from .three_nn import three_nn


def three_interpolate(features: Tensor,
                      idx: Tensor,
                      weight: Tensor,
                      check_values: bool = True) -> Tensor:
    """Weighted sum of three neighbour features per target point.

    ``out[b, n] = sum_j weight[b, n, j] * features[b, idx[b, n, j]]``.
    Differentiable with respect to ``features`` (both devices) and
    ``weight`` (torch path only: mmcv's kernel gives no weight gradient, so
    weights that require grad keep the torch path on CUDA too).

    Args:
        features (Tensor): ``[B, S, C]`` features of the reference points.
        idx (Tensor): ``[B, N, 3]`` integer indices in ``[0, S)``.
        weight (Tensor): ``[B, N, 3]`` interpolation weights.
        check_values (bool): check the index range (a device-to-host
            synchronisation on CUDA). Defaults to True.

    Returns:
        Tensor: ``[B, N, C]`` interpolated features.
    """
    check_features('features', features)
    if not features.is_floating_point():
        raise ValueError(f'features must be a floating point tensor of '
                         f'shape [B, S, C], got dtype {features.dtype}')
    check_tensor('idx', idx, '[B, N, 3]')
    if idx.dim() != 3 or idx.shape[-1] != 3:
        raise ValueError(f'idx must have shape [B, N, 3], got '
                         f'{list(idx.shape)}')
    check_index('idx', idx, features.shape[1], 'S', check_values)
    check_tensor('weight', weight, '[B, N, 3]')
    if weight.shape != idx.shape:
        raise ValueError(f'weight must have the shape of idx '
                         f'{list(idx.shape)}, got {list(weight.shape)}')
    check_same_batch('features', features, 'idx', idx)
    check_same_batch('features', features, 'weight', weight)
    if (_dispatch.use_mmcv_kernels(features, idx, weight)
            and features.dtype in MMCV_FLOAT_DTYPES
            and not weight.requires_grad and idx.shape[1] > 0):
        kernel = _dispatch.mmcv_op('three_interpolate')
        # mmcv: three_interpolate(features [B, C, S], int32 idx [B, N, 3],
        # weight [B, N, 3]) -> [B, C, N]
        out = kernel(
            features.transpose(1, 2).contiguous(),
            idx.int().contiguous(),
            weight.to(features.dtype).contiguous())
        return out.transpose(1, 2).contiguous()
    return weighted_neighbour_sum(features, idx, weight)


def weighted_neighbour_sum(features: Tensor, idx: Tensor,
                           weight: Tensor) -> Tensor:
    """Torch weighted sum over any number K of neighbours.

    Holds one ``[B, N, C]`` gathered slice at a time instead of the whole
    ``[B, N, K, C]`` neighbourhood.

    Args:
        features (Tensor): ``[B, S, C]`` features.
        idx (Tensor): ``[B, N, K]`` valid indices.
        weight (Tensor): ``[B, N, K]`` weights.

    Returns:
        Tensor: ``[B, N, C]`` weighted sums.
    """
    weight = weight.to(features.dtype)
    out: Optional[Tensor] = None
    for j in range(idx.shape[-1]):
        term = gather_points_unchecked(features, idx[..., j])
        term = term * weight[..., j:j + 1]
        out = term if out is None else out + term
    if out is None:
        out = features.new_zeros(
            (features.shape[0], idx.shape[1], features.shape[2]))
    return out


def three_nn_interpolate(query: Tensor,
                         ref: Tensor,
                         features: Tensor,
                         eps: float = 1e-8,
                         check_values: bool = True) -> Tensor:
    """Propagate features from ``ref`` points to ``query`` points.

    The PointNet++ feature propagation rule: each query point takes the
    average of the features of its three nearest reference points weighted
    by ``1 / (dist2 + eps)`` (squared distances), weights normalised to sum
    to 1. With fewer than three reference points: ``S == 2`` uses both of
    them with the same weighting, ``S == 1`` copies the single feature to
    every query point. The weights are constants (no gradient flows to the
    coordinates, as with mmcv's kernels); gradients flow to ``features``.

    Args:
        query (Tensor): ``[B, N, 3]`` points to interpolate at.
        ref (Tensor): ``[B, S, 3]`` points with known features.
        features (Tensor): ``[B, S, C]`` features of ``ref``.
        eps (float): added to the squared distances before inverting.
            Defaults to 1e-8.
        check_values (bool): check that the coordinates are finite (a
            device-to-host synchronisation on CUDA); internal callers with
            checked inputs pass False. Defaults to True.

    Returns:
        Tensor: ``[B, N, C]`` interpolated features.
    """
    check_point_cloud(query, 'query', check_values=check_values)
    check_point_cloud(ref, 'ref', check_values=check_values)
    check_features('features', features)
    check_same_batch('query', query, 'ref', ref)
    check_same_batch('ref', ref, 'features', features)
    if features.shape[1] != ref.shape[1]:
        raise ValueError(f'features must have shape [B, S, C] with S = '
                         f'{ref.shape[1]} (the points of ref), got '
                         f'{list(features.shape)}')
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) \
            or eps <= 0:
        raise ValueError(f'eps must be a positive float, got {eps!r}')
    num_ref = ref.shape[1]
    num_query = query.shape[1]
    if num_ref == 1:
        return features.expand(-1, num_query, -1).contiguous()
    if num_ref == 2:
        dist2, idx = knn(2, ref, query, check_values=False)
    else:
        dist2, idx = three_nn(query, ref, check_values=False)
    recip = 1.0 / (dist2.detach() + eps)
    weight = recip / recip.sum(dim=-1, keepdim=True)
    if num_ref == 2:
        return weighted_neighbour_sum(features, idx, weight)
    return three_interpolate(features, idx, weight, check_values=False)

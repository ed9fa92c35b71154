"""Gather per-point rows by index."""
import torch
from torch import Tensor

from . import _dispatch
from ._checks import check_features, check_index, check_same_batch

#: dtypes that mmcv's CUDA kernels are compiled for.
MMCV_FLOAT_DTYPES = (torch.float16, torch.float32, torch.float64)


def gather_points(points: Tensor,
                  idx: Tensor,
                  check_values: bool = True) -> Tensor:
    """Select rows of ``points`` per batch element.

    ``out[b, i, j, ..., :] = points[b, idx[b, i, j, ...], :]``. Gradients
    flow to ``points``. Floating point CUDA tensors use mmcv's
    ``gather_points`` kernel (which works on ``[B, C, N]`` features and
    int32 ``[B, M]`` indices); everything else uses ``torch.gather``.

    Args:
        points (Tensor): ``[B, N, C]`` coordinates or features.
        idx (Tensor): ``[B, ...]`` integer indices in ``[0, N)``.
        check_values (bool): check the index range (a device-to-host
            synchronisation on CUDA). Defaults to True.

    Returns:
        Tensor: ``[B, ..., C]`` gathered rows, dtype of ``points``.
    """
    check_features('points', points)
    check_index('idx', idx, points.shape[1], 'N', check_values)
    check_same_batch('points', points, 'idx', idx)
    return gather_points_unchecked(points, idx)


def gather_points_unchecked(points: Tensor, idx: Tensor) -> Tensor:
    """:func:`gather_points` without input validation (internal use).

    Args:
        points (Tensor): ``[B, N, C]`` coordinates or features.
        idx (Tensor): ``[B, ...]`` valid integer indices.

    Returns:
        Tensor: ``[B, ..., C]`` gathered rows.
    """
    batch_size, _, channels = points.shape
    flat_idx = idx.reshape(batch_size, -1)
    out_shape = (batch_size, *idx.shape[1:], channels)
    if (_dispatch.use_mmcv_kernels(points, idx)
            and points.dtype in MMCV_FLOAT_DTYPES and flat_idx.shape[1] > 0
            and channels > 0):
        kernel = _dispatch.mmcv_op('gather_points')
        # mmcv: gather_points(features [B, C, N], int32 [B, M]) -> [B, C, M]
        out = kernel(
            points.transpose(1, 2).contiguous(),
            flat_idx.int().contiguous())
        return out.transpose(1, 2).reshape(out_shape)
    flat_idx = flat_idx.long().unsqueeze(-1).expand(-1, -1, channels)
    return points.gather(1, flat_idx).reshape(out_shape)

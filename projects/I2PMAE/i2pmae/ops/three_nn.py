"""Three nearest neighbours (PointNet++ feature propagation)."""
from typing import Tuple

from torch import Tensor

from ..utils.point_cloud_check import check_point_cloud
from . import _dispatch
from ._checks import check_same_batch
from .gather_points import MMCV_FLOAT_DTYPES
from .knn import _knn_index_torch, neighbour_squared_distance, sort_neighbours


def three_nn(query: Tensor,
             ref: Tensor,
             check_values: bool = True) -> Tuple[Tensor, Tensor]:
    """The three reference points nearest to every query point.

    Same rule as :func:`knn` with ``k = 3``: exact squared L2 distances,
    ascending, equal distances ordered by index. CUDA tensors use mmcv's
    ``three_nn`` kernel (which returns square-rooted distances and int32
    indices); the distances are recomputed so that both devices return
    squared distances and int64 indices.

    Args:
        query (Tensor): ``[B, N, 3]`` points to interpolate at.
        ref (Tensor): ``[B, S, 3]`` points with known features, ``S >= 3``.
        check_values (bool): check that the coordinates are finite (a
            device-to-host synchronisation on CUDA); internal callers with
            checked inputs pass False. Defaults to True.

    Returns:
        tuple[Tensor, Tensor]: ``dist2`` ``[B, N, 3]`` and ``idx``
        ``[B, N, 3]`` int64 indices into ``ref``.
    """
    check_point_cloud(query, 'query', check_values=check_values)
    check_point_cloud(ref, 'ref', check_values=check_values)
    check_same_batch('query', query, 'ref', ref)
    if ref.shape[1] < 3:
        raise ValueError(f'ref must have shape [B, S, 3] with S >= 3, got '
                         f'{list(ref.shape)}')
    if ref.dtype != query.dtype:
        raise ValueError(f'ref and query must have the same dtype, got '
                         f'{ref.dtype} and {query.dtype}')
    if (_dispatch.use_mmcv_kernels(query, ref)
            and ref.dtype in MMCV_FLOAT_DTYPES):
        kernel = _dispatch.mmcv_op('three_nn')
        # mmcv: three_nn(target [B, N, 3], source [B, S, 3])
        # -> (sqrt distances [B, N, 3], int32 idx [B, N, 3])
        _, idx = kernel(query.detach().contiguous(), ref.detach().contiguous())
        dist2, idx = sort_neighbours(
            neighbour_squared_distance(ref, query, idx.long()), idx.long())
        return dist2, idx
    idx = _knn_index_torch(3, ref.detach(), query.detach())
    return neighbour_squared_distance(ref, query, idx), idx

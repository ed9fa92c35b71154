"""k nearest neighbours by exact squared L2 distance."""
from typing import Tuple

import torch
from torch import Tensor

from ..utils.point_cloud_check import check_point_cloud
from . import _dispatch
from ._checks import check_count, check_same_batch
from .gather_points import MMCV_FLOAT_DTYPES, gather_points_unchecked

#: mmcv's CUDA kNN kernel keeps its candidates in a fixed array of 100, so
#: it serves ``k + 1 <= 99`` (one extra neighbour detects ties at the k-th
#: place); larger ``k`` use the torch implementation on CUDA as well.
MMCV_KNN_MAX_K = 99

#: Largest number of query-reference distances held at once by the torch
#: path (per chunk of queries); about 64 MB of float32.
_MAX_CHUNK_ELEMENTS = 1 << 24


def knn(k: int,
        ref: Tensor,
        query: Tensor,
        check_values: bool = True) -> Tuple[Tensor, Tensor]:
    """The ``k`` reference points nearest to every query point.

    Distances are exact squared L2 distances ``((q - r) ** 2).sum(-1)``,
    sorted ascending; equal distances are ordered by index (lower first), so
    the result is deterministic even with duplicate points. A query that is
    also a reference point finds itself at distance 0. CUDA tensors use
    mmcv's kernel to choose the neighbours when ``k < 99`` (its limit);
    the returned distances are always recomputed with the formula above,
    so both devices return the same layout, dtype and order.

    Args:
        k (int): number of neighbours, ``1 <= k <= N``.
        ref (Tensor): ``[B, N, 3]`` reference points.
        query (Tensor): ``[B, M, 3]`` query points.
        check_values (bool): check that the coordinates are finite (a
            device-to-host synchronisation on CUDA); internal callers with
            checked inputs pass False. Defaults to True.

    Returns:
        tuple[Tensor, Tensor]: ``dist2`` ``[B, M, k]`` (dtype of ``query``)
        and ``idx`` ``[B, M, k]`` int64 indices into ``ref``.
    """
    check_point_cloud(ref, 'ref', check_values=check_values)
    check_point_cloud(query, 'query', check_values=check_values)
    check_same_batch('ref', ref, 'query', query)
    check_count('k', k, ref.shape[1], 'N (number of reference points)')
    if ref.dtype != query.dtype:
        raise ValueError(f'ref and query must have the same dtype, got '
                         f'{ref.dtype} and {query.dtype}')
    if (_dispatch.use_mmcv_kernels(ref, query) and k < MMCV_KNN_MAX_K
            and ref.dtype in MMCV_FLOAT_DTYPES):
        idx = _knn_index_mmcv(k, ref.detach(), query.detach())
    else:
        idx = _knn_index_torch(k, ref.detach(), query.detach())
    return neighbour_squared_distance(ref, query, idx), idx


def squared_distance(query: Tensor, ref: Tensor) -> Tensor:
    """Exact pairwise squared L2 distances, one coordinate at a time.

    Equal to ``((query[:, :, None] - ref[:, None]) ** 2).sum(-1)`` bit for
    bit, without holding the ``[B, M, N, 3]`` difference tensor.

    Args:
        query (Tensor): ``[B, M, 3]`` points.
        ref (Tensor): ``[B, N, 3]`` points.

    Returns:
        Tensor: ``[B, M, N]`` squared distances.
    """
    ref_t = ref.transpose(1, 2)  # [B, 3, N]
    dist = (query[:, :, 0:1] - ref_t[:, None, 0]).square_()
    for axis in (1, 2):
        dist += (query[:, :, axis:axis + 1] - ref_t[:, None, axis]).square_()
    return dist


def neighbour_squared_distance(ref: Tensor, query: Tensor,
                               idx: Tensor) -> Tensor:
    """Squared distances from each query to its listed neighbours.

    Differentiable with respect to ``ref`` and ``query``.

    Args:
        ref (Tensor): ``[B, N, 3]`` reference points.
        query (Tensor): ``[B, M, 3]`` query points.
        idx (Tensor): ``[B, M, k]`` indices into ``ref``.

    Returns:
        Tensor: ``[B, M, k]`` squared distances.
    """
    neighbours = gather_points_unchecked(ref, idx)  # [B, M, k, 3]
    return ((query.unsqueeze(2) - neighbours)**2).sum(-1)


def sort_neighbours(dist2: Tensor, idx: Tensor) -> Tuple[Tensor, Tensor]:
    """Order neighbours by distance, then by index.

    Args:
        dist2 (Tensor): ``[..., k]`` distances.
        idx (Tensor): ``[..., k]`` indices.

    Returns:
        tuple[Tensor, Tensor]: the sorted ``dist2`` and ``idx``.
    """
    idx, order = idx.sort(dim=-1)
    dist2 = dist2.gather(-1, order)
    _, order = dist2.detach().sort(dim=-1, stable=True)
    return dist2.gather(-1, order), idx.gather(-1, order)


@torch.no_grad()
def _knn_index_mmcv(k: int, ref: Tensor, query: Tensor) -> Tensor:
    """Indices of the k nearest neighbours from mmcv's CUDA kernel.

    The kernel is asked for one neighbour more than needed: after ordering
    by (distance, index), queries whose k-th and (k+1)-th distances are
    equal are redone with a stable sort over all reference points, so ties
    are resolved exactly as on the CPU.

    Args:
        k (int): number of neighbours, ``k < MMCV_KNN_MAX_K``.
        ref (Tensor): ``[B, N, 3]`` reference points.
        query (Tensor): ``[B, M, 3]`` query points.

    Returns:
        Tensor: ``[B, M, k]`` int64 indices, ordered by (distance, index).
    """
    num_ref = ref.shape[1]
    num_kernel = min(k + 1, num_ref)
    kernel = _dispatch.mmcv_op('knn')
    # mmcv: knn(k, xyz [B, N, 3], center_xyz [B, M, 3], transposed)
    # -> int32 [B, k, M]
    idx = kernel(num_kernel, ref.contiguous(), query.contiguous(), False)
    idx = idx.transpose(1, 2).long()
    dist2, idx = sort_neighbours(
        neighbour_squared_distance(ref, query, idx), idx)
    if num_kernel == k:
        return idx.contiguous()
    boundary_tie = dist2[..., k - 1] == dist2[..., k]
    idx = idx[..., :k].contiguous()
    if bool(boundary_tie.any()):
        rows = boundary_tie.nonzero(as_tuple=True)
        dist = squared_distance(query[rows].unsqueeze(1),
                                ref[rows[0]]).squeeze(1)  # [R, N]
        idx[rows] = dist.sort(dim=-1, stable=True)[1][..., :k]
    return idx


@torch.no_grad()
def _knn_index_torch(k: int, ref: Tensor, query: Tensor) -> Tensor:
    """Indices of the k nearest neighbours, chunked over the queries.

    Args:
        k (int): number of neighbours.
        ref (Tensor): ``[B, N, 3]`` reference points.
        query (Tensor): ``[B, M, 3]`` query points.

    Returns:
        Tensor: ``[B, M, k]`` int64 indices, ordered by (distance, index).
    """
    batch_size, num_ref, _ = ref.shape
    num_query = query.shape[1]
    chunk = max(1, _MAX_CHUNK_ELEMENTS // max(1, batch_size * num_ref))
    out = []
    for start in range(0, num_query, chunk):
        dist = squared_distance(query[:, start:start + chunk], ref)
        out.append(_smallest_k(dist, k))
    if not out:
        return query.new_zeros((batch_size, 0, k), dtype=torch.long)
    return torch.cat(out, dim=1)


def _smallest_k(dist: Tensor, k: int) -> Tensor:
    """Indices of the k smallest entries of each row, ties by lower index.

    ``topk`` does not promise an order among equal values, so it is asked
    for ``k + 1`` values: rows whose k-th and (k+1)-th values differ have an
    unambiguous set, which is then ordered by (distance, index); the rare
    rows with a tie across that boundary are redone with a stable sort.

    Args:
        dist (Tensor): ``[..., N]`` distances.
        k (int): number of entries to keep, ``k <= N``.

    Returns:
        Tensor: ``[..., k]`` int64 indices.
    """
    num = dist.shape[-1]
    if k == num:
        return dist.sort(dim=-1, stable=True)[1]
    values, idx = dist.topk(k + 1, dim=-1, largest=False, sorted=True)
    boundary_tie = values[..., k - 1] == values[..., k]
    values, idx = sort_neighbours(values[..., :k], idx[..., :k])
    if bool(boundary_tie.any()):
        rows = boundary_tie.nonzero(as_tuple=True)
        idx[rows] = dist[rows].sort(dim=-1, stable=True)[1][..., :k]
    return idx

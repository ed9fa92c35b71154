"""Reading a segmentation sample's per-point labels, with named errors."""
from torch import Tensor

__all__ = ['sample_name', 'per_point_labels']


def sample_name(index: int, metainfo: dict) -> str:
    """How an error names a data sample: its point file, else its index.

    Args:
        index (int): the sample's position in the batch.
        metainfo (dict): its meta information (``points_path`` of the
            ShapeNetPart dataset, ``lidar_path`` of mmdet3d's, or
            ``sample_idx``).

    Returns:
        str: ``data sample I (FILE)``, ``data sample I (sample_idx K)`` or
        ``data sample I``.
    """
    path = metainfo.get('points_path') or metainfo.get('lidar_path')
    if path:
        return f'data sample {index} ({path})'
    if metainfo.get('sample_idx') is not None:
        return f'data sample {index} (sample_idx {metainfo["sample_idx"]})'
    return f'data sample {index}'


def per_point_labels(sample, index: int, num_points: int, kind: str) -> Tensor:
    """A sample's ``gt_pts_seg.pts_semantic_mask``, one label per point.

    Args:
        sample (Det3DDataSample): the data sample.
        index (int): its position in the batch (for the error message).
        num_points (int): points of its cloud.
        kind (str): what the labels are (``'part'``, ``'semantic'``), for
            the error message.

    Returns:
        Tensor: the ``[num_points]`` labels, as stored.

    Raises:
        ValueError: the sample has no labels, or not ``num_points`` of
            them (names the sample).
    """
    name = sample_name(index, sample.metainfo)
    seg = sample.get('gt_pts_seg')
    mask = None if seg is None else seg.get('pts_semantic_mask')
    if mask is None:
        raise ValueError(f'{name} has no gt_pts_seg.pts_semantic_mask '
                         f'({kind} segmentation training needs one label '
                         'per point)')
    if tuple(mask.shape) != (num_points, ):
        raise ValueError(
            f'{name} has {kind} labels of shape {tuple(mask.shape)} for '
            f'{num_points} points (one label per point)')
    return mask

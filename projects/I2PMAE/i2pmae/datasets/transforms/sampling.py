"""Point sub-sampling transforms: random and furthest point sampling."""
from typing import Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS

from ..point_sampling import WarnOnce, indices_with_replacement

#: per-point keys of a results dict, indexed together when points are
#: sub-sampled or reordered
PER_POINT_KEYS = ('points', 'pts_semantic_mask')


def take_points(results: dict, idx: np.ndarray) -> dict:
    """Index every per-point array of ``results`` with ``idx``.

    Args:
        results (dict): the results dict (modified in place).
        idx (np.ndarray): point indices.

    Returns:
        dict: ``results``.
    """
    for key in PER_POINT_KEYS:
        if key in results:
            results[key] = np.ascontiguousarray(results[key][idx])
    return results


def check_num_points(num_points: Optional[int], name: str) -> None:
    """Raise a ``ValueError`` naming ``name`` unless ``num_points`` is None
    or a positive int."""
    if num_points is not None and (not isinstance(num_points, int)
                                   or num_points <= 0):
        raise ValueError(f'{name} must be a positive int, got {num_points!r}')


def check_fps_counts(num_points: int, num_candidates: Optional[int]) -> None:
    """Check the point counts of FPS followed by a random subset.

    Shared by :class:`PointCloudFPSSample` and the batched sampling of the
    data preprocessor.

    Args:
        num_points (int): points kept, a positive int.
        num_candidates (int, optional): points picked by FPS before the
            random subset, a positive int >= ``num_points``; None means
            ``num_points``.

    Raises:
        ValueError: a count that is not a positive int, or fewer candidates
            than points.
    """
    if num_points is None:
        raise ValueError('num_points must be a positive int, got None')
    check_num_points(num_points, 'num_points')
    check_num_points(num_candidates, 'num_candidates')
    if num_candidates is not None and num_candidates < num_points:
        raise ValueError(f'num_candidates ({num_candidates}) must be >= '
                         f'num_points ({num_points})')


@TRANSFORMS.register_module()
class PointCloudRandomSample(BaseTransform):
    """Randomly sub-sample (or just shuffle) the points of a cloud.

    Without replacement, ``num_points`` distinct points are drawn in random
    order; a smaller cloud keeps all its points and repeats random ones (one
    warning per transform instance). ``replace=True`` draws with
    replacement (the ShapeNetPart protocol). Uses numpy's global RNG.

    Required keys: ``points``. Modified keys: ``points``,
    ``pts_semantic_mask`` (when present).

    Args:
        num_points (int, optional): points kept; None keeps all, shuffled.
        replace (bool): sample with replacement. Defaults to False.
    """

    def __init__(self,
                 num_points: Optional[int] = None,
                 replace: bool = False) -> None:
        check_num_points(num_points, 'num_points')
        self.num_points = num_points
        self.replace = replace
        self._warn = WarnOnce(type(self).__name__)

    def transform(self, results: dict) -> dict:
        """Sub-sample ``results['points']``.

        Args:
            results (dict): results with ``points`` ``[N, C]``.

        Returns:
            dict: the results with ``num_points`` points.
        """
        num_available = len(results['points'])
        num_points = self.num_points or num_available
        if self.replace:
            idx = np.random.choice(num_available, num_points, replace=True)
        elif num_available >= num_points:
            idx = np.random.permutation(num_available)[:num_points]
        else:
            self._warn(f'a cloud has {num_available} points, fewer than the '
                       f'{num_points} requested; resampling with replacement')
            idx = indices_with_replacement(num_available, num_points)
        return take_points(results, idx)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_points={self.num_points}, '
                f'replace={self.replace})')


@TRANSFORMS.register_module()
class PointCloudFPSSample(BaseTransform):
    """Furthest point sampling, optionally followed by a random subset.

    FPS (from the first point) picks ``num_candidates`` points (default
    ``num_points``); when there are more candidates than ``num_points`` a
    random subset of ``num_points`` of them is kept, as the official
    fine-tuning does (1200 candidates for 1024 points). Smaller clouds use
    all their points as candidates, or are resampled with replacement (one
    warning per transform instance) when smaller than ``num_points``.

    Required keys: ``points``. Modified keys: ``points``,
    ``pts_semantic_mask`` (when present).

    Args:
        num_points (int): points kept.
        num_candidates (int, optional): points picked by FPS before the
            random subset; None means ``num_points`` (plain FPS).
    """

    def __init__(self,
                 num_points: int,
                 num_candidates: Optional[int] = None) -> None:
        check_fps_counts(num_points, num_candidates)
        self.num_points = num_points
        self.num_candidates = num_candidates or num_points
        self._warn = WarnOnce(type(self).__name__)

    def transform(self, results: dict) -> dict:
        """Sub-sample ``results['points']`` by FPS.

        Args:
            results (dict): results with ``points`` ``[N, C]``.

        Returns:
            dict: the results with ``num_points`` points.
        """
        from ...ops import furthest_point_sample
        points = results['points']
        num_available = len(points)
        if num_available < self.num_points:
            self._warn(f'a cloud has {num_available} points, fewer than the '
                       f'{self.num_points} requested; resampling with '
                       'replacement')
            idx = indices_with_replacement(num_available, self.num_points)
            return take_points(results, idx)
        num_candidates = min(self.num_candidates, num_available)
        xyz = torch.from_numpy(np.ascontiguousarray(points[None, :, :3]))
        idx = furthest_point_sample(xyz, num_candidates)[0].numpy()
        if num_candidates > self.num_points:
            idx = idx[np.random.choice(
                num_candidates, self.num_points, replace=False)]
        return take_points(results, idx)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_points={self.num_points}, '
                f'num_candidates={self.num_candidates})')

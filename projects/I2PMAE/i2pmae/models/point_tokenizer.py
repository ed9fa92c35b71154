"""Multi-scale FPS + kNN tokenisation of point clouds."""
from typing import List, NamedTuple, Sequence

from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor

from ..ops import furthest_point_sample, knn
from ..ops.gather_points import gather_points_unchecked
from ..utils.point_cloud_check import check_point_cloud


class TokenScale(NamedTuple):
    """The tokens of one scale.

    Attributes:
        centers (Tensor): ``[B, G, 3]`` token centres.
        idx (Tensor): ``[B, G, K]`` long, indices of each token's neighbours
            in the previous scale (the raw points at scale 0, the previous
            scale's centres otherwise), per sample (no batch offset).
        neighborhoods (Tensor): ``[B, G, K, 3]`` neighbours minus centre.
        neighborhoods_abs (Tensor): ``[B, G, K, 3]`` neighbours as given.
    """
    centers: Tensor
    idx: Tensor
    neighborhoods: Tensor
    neighborhoods_abs: Tensor


@MODELS.register_module()
class MultiScalePointTokenizer(BaseModule):
    """Hierarchical tokenizer: FPS centres + kNN groups at every scale.

    Scale 0 samples ``num_groups[0]`` centres from the raw points and groups
    their ``group_sizes[0]`` nearest points; scale ``s > 0`` does the same on
    the centres of scale ``s - 1`` (so coarse tokens are made of fine ones).

    Args:
        num_groups (Sequence[int]): centres per scale, non-increasing
            (e.g. ``[512, 256, 64]``).
        group_sizes (Sequence[int]): neighbours per centre (``[16, 8, 8]``).
    """

    def __init__(self, num_groups: Sequence[int],
                 group_sizes: Sequence[int]) -> None:
        super().__init__()
        num_groups, group_sizes = list(num_groups), list(group_sizes)
        if not num_groups or len(num_groups) != len(group_sizes):
            raise ValueError(
                'num_groups and group_sizes must be non-empty lists of the '
                f'same length, got {num_groups} and {group_sizes}')
        if any(int(g) < 1 for g in num_groups + group_sizes):
            raise ValueError('num_groups and group_sizes must be positive, '
                             f'got {num_groups} and {group_sizes}')
        for s in range(1, len(num_groups)):
            if num_groups[s] > num_groups[s - 1]:
                raise ValueError(
                    f'num_groups must not grow with the scale (scales must '
                    f'nest): num_groups[{s}]={num_groups[s]} > '
                    f'num_groups[{s - 1}]={num_groups[s - 1]}')
            if group_sizes[s] > num_groups[s - 1]:
                raise ValueError(
                    f'group_sizes[{s}]={group_sizes[s]} exceeds the '
                    f'{num_groups[s - 1]} tokens of scale {s - 1}')
        self.num_groups = num_groups
        self.group_sizes = group_sizes

    @property
    def num_scales(self) -> int:
        return len(self.num_groups)

    def forward(self,
                points: Tensor,
                check_values: bool = True) -> List[TokenScale]:
        """Tokenise a batch of clouds.

        Args:
            points (Tensor): ``[B, N, 3]`` with ``N >= num_groups[0]`` and
                ``N >= group_sizes[0]``.
            check_values (bool): check that the coordinates are finite (a
                device-to-host synchronisation on CUDA); models pass False
                since their data preprocessor has checked the batch.
                Defaults to True.

        Returns:
            list[TokenScale]: one entry per scale, finest first.
        """
        check_point_cloud(points, check_values=check_values)
        n = points.shape[1]
        if n < max(self.num_groups[0], self.group_sizes[0]):
            raise ValueError(
                f'points has {n} points per cloud, fewer than the first '
                f'scale needs (num_groups[0]={self.num_groups[0]}, '
                f'group_sizes[0]={self.group_sizes[0]})')
        scales = []
        xyz = points
        for num_group, group_size in zip(self.num_groups, self.group_sizes):
            center_idx = furthest_point_sample(
                xyz, num_group, check_values=False)
            centers = gather_points_unchecked(xyz, center_idx)
            _, idx = knn(group_size, xyz, centers, check_values=False)
            neigh_abs = gather_points_unchecked(xyz, idx)
            scales.append(
                TokenScale(centers, idx, neigh_abs - centers.unsqueeze(2),
                           neigh_abs))
            xyz = centers
        return scales

"""Furthest point sampling of a whole batch on the model's device."""
from typing import Optional

import torch
from mmdet3d.registry import MODELS
from torch import Tensor, nn

from ...datasets.transforms.sampling import check_fps_counts, check_num_points
from ...ops import furthest_point_sample, gather_points


@MODELS.register_module()
class PointCloudBatchFPSSample(nn.Module):
    """:class:`~...datasets.transforms.PointCloudFPSSample` for a batch.

    Training: FPS (from the first point) picks ``num_candidates`` points of
    each cloud (all of them when a cloud has fewer), then a random
    ``num_points`` of the candidates are kept, drawn per cloud without
    replacement from torch's global generator of the points' device (the
    official fine-tuning: FPS to 1200 on the GPU, then 1024 of them).
    Testing: plain FPS to ``test_num_points`` points, in FPS order (no
    randomness). The clouds should arrive shuffled for training (FPS starts
    at point 0), e.g. by ``PointCloudRandomSample`` in the pipeline.

    FPS runs on the points' device: mmcv's kernel on CUDA, the vectorised
    torch implementation on CPU (:func:`~...ops.furthest_point_sample`).
    Unlike the per-sample transform, a cloud with fewer points than asked
    for is an error (the per-sample transform resamples it with
    replacement).

    Args:
        num_points (int): points kept in training.
        num_candidates (int, optional): points picked by FPS before the
            random subset, >= ``num_points``; None: ``num_points`` (plain
            FPS).
        test_num_points (int, optional): points picked by FPS in testing;
            None: ``num_points``.
    """

    def __init__(self,
                 num_points: int,
                 num_candidates: Optional[int] = None,
                 test_num_points: Optional[int] = None) -> None:
        super().__init__()
        check_fps_counts(num_points, num_candidates)
        check_num_points(test_num_points, 'test_num_points')
        self.num_points = num_points
        self.num_candidates = num_candidates or num_points
        self.test_num_points = test_num_points or num_points

    def forward(self, points: Tensor, training: bool = False) -> Tensor:
        """Sample every cloud of ``points``.

        Args:
            points (Tensor): ``[B, N, C]`` clouds, xyz in the first three
                channels (the others are gathered along), with finite
                values (the data preprocessor checks them first).
            training (bool): random subset of the FPS candidates (True) or
                plain FPS to ``test_num_points`` (False).

        Returns:
            Tensor: ``[B, num_points, C]`` (training) or
            ``[B, test_num_points, C]`` (testing).

        Raises:
            ValueError: the clouds have fewer points than asked for.
        """
        num_points = self.num_points if training else self.test_num_points
        batch_size, num_available = points.shape[:2]
        if num_available < num_points:
            key = 'num_points' if training else 'test_num_points'
            raise ValueError(
                f'{type(self).__name__}: the clouds have {num_available} '
                f'points, fewer than {key}={num_points}; lower {key}, or '
                'sample in the dataset pipeline with PointCloudFPSSample '
                '(which resamples small clouds with replacement)')
        num_candidates = num_points
        if training:
            num_candidates = min(self.num_candidates, num_available)
        # the data preprocessor checked the values; FPS indices are in range
        idx = furthest_point_sample(
            points[..., :3].contiguous(), num_candidates, check_values=False)
        if num_candidates > num_points:
            order = torch.rand(
                batch_size, num_candidates, device=points.device).argsort(1)
            idx = idx.gather(1, order[:, :num_points])
        return gather_points(points, idx, check_values=False)

    def extra_repr(self) -> str:
        """The sampling settings, shown in the module's repr."""
        return (f'num_points={self.num_points}, '
                f'num_candidates={self.num_candidates}, '
                f'test_num_points={self.test_num_points}')

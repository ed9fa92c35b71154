"""Batches point clouds for the I2P-MAE models."""
from typing import List, Optional, Sequence, Union

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseDataPreprocessor
from torch import nn

from ..utils.point_cloud_check import check_point_cloud
from .build_component import build_component

#: a sub-module: its config or the module itself
ModuleCfg = Union[dict, nn.Module, None]


@MODELS.register_module()
class PointCloudDataPreprocessor(BaseDataPreprocessor):
    """Stacks ``inputs['points']`` into ``[B, N, C]`` on the model device.

    Accepts what mmengine's ``default_collate`` (a stacked tensor) or
    ``pseudo_collate`` (a list of ``[N, C]`` tensors) produce. Optionally
    sub-samples the batch on the device (``point_sampler``, e.g.
    ``PointCloudBatchFPSSample``: FPS with mmcv's kernel on CUDA) and then,
    in training only, augments it (``batch_augments``, e.g.
    ``PointCloudBatchScaleAndTranslate``), in that order, drawing from
    torch's global generator (seeded per iteration by
    ``IterationSeedHook``).

    Args:
        num_channels (int, optional): keep only the first channels
            (3 = coordinates only); None keeps all.
        point_sampler (dict | nn.Module, optional): called as
            ``sampler(points, training)``; None keeps every point.
        batch_augments (list[dict | nn.Module], optional): each called as
            ``augment(points)`` in training, in order.
    """

    def __init__(self,
                 num_channels: Optional[int] = None,
                 point_sampler: ModuleCfg = None,
                 batch_augments: Optional[List[ModuleCfg]] = None) -> None:
        super().__init__()
        self.num_channels = num_channels
        self.point_sampler = build_component(point_sampler)
        self.batch_augments = nn.ModuleList(
            build_component(augment) for augment in batch_augments or [])

    def forward(self, data: dict, training: bool = False) -> dict:
        """Cast to the device and stack.

        Args:
            data (dict): ``dict(inputs=dict(points=...), data_samples=...)``.
            training (bool): training batch (random sampling and the
                batch augments) or not.

        Returns:
            dict: the same structure with ``points`` a ``[B, N, C]`` tensor.
        """
        data = self.cast_data(data)
        inputs = data.get('inputs')
        if not isinstance(inputs, dict) or 'points' not in inputs:
            raise ValueError("data['inputs'] must be a dict with a 'points' "
                             'entry')
        points: Union[torch.Tensor, Sequence] = inputs['points']
        if not torch.is_tensor(points):
            shapes = {tuple(p.shape) for p in points}
            if len(shapes) != 1:
                raise ValueError(
                    'every point cloud of a batch must have the same '
                    f'[N, C] shape, got {sorted(shapes)}')
            points = torch.stack(list(points))
        if points.dim() != 3:
            raise ValueError(f'points must batch to [B, N, C], got '
                             f'{tuple(points.shape)}')
        if self.num_channels is not None:
            points = points[..., :self.num_channels]
        # the models' one value check: they do not check the batch again
        points = check_point_cloud(points.float(), channels=None)
        if self.point_sampler is not None:
            points = self.point_sampler(points, training)
        if training:
            for augment in self.batch_augments:
                points = augment(points)
        inputs = dict(inputs, points=points)
        return dict(inputs=inputs, data_samples=data.get('data_samples'))

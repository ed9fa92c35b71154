"""Batches point clouds for the I2P-MAE models."""
from typing import Optional, Sequence, Union

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseDataPreprocessor

from ..utils.point_cloud_check import check_point_cloud


@MODELS.register_module()
class PointCloudDataPreprocessor(BaseDataPreprocessor):
    """Stacks ``inputs['points']`` into ``[B, N, C]`` on the model device.

    Accepts what mmengine's ``default_collate`` (a stacked tensor) or
    ``pseudo_collate`` (a list of ``[N, C]`` tensors) produce.

    Args:
        num_channels (int, optional): keep only the first channels
            (3 = coordinates only); None keeps all.
    """

    def __init__(self, num_channels: Optional[int] = None) -> None:
        super().__init__()
        self.num_channels = num_channels

    def forward(self, data: dict, training: bool = False) -> dict:
        """Cast to the device and stack.

        Args:
            data (dict): ``dict(inputs=dict(points=...), data_samples=...)``.
            training (bool): unused.

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
        inputs = dict(inputs, points=points)
        return dict(inputs=inputs, data_samples=data.get('data_samples'))

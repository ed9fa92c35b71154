"""Base of the plugin's mmengine models: one ``forward(mode=...)`` dispatch.
"""
from abc import ABCMeta, abstractmethod
from typing import List, Optional

from mmengine.model import BaseModel
from torch import Tensor

from .build_component import build_component


class BasePointModel(BaseModel, metaclass=ABCMeta):
    """An mmengine ``BaseModel`` taking ``inputs=dict(points=[B, N, C])``.

    ``forward`` routes mmengine's three modes to :meth:`loss`,
    :meth:`predict` and :meth:`_forward` (the plain tensor output), and
    rejects any other mode with one error. The data preprocessor is built
    from mmdet3d's registry (``BaseModel`` would use mmengine's) and
    defaults to ``PointCloudDataPreprocessor`` keeping xyz.

    Args:
        data_preprocessor (dict | nn.Module, optional): the preprocessor
            config or module; None: ``PointCloudDataPreprocessor`` with
            ``num_channels=3``.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='PointCloudDataPreprocessor', num_channels=3)
        super().__init__(
            data_preprocessor=build_component(data_preprocessor),
            init_cfg=init_cfg)

    @abstractmethod
    def loss(self, inputs: dict, data_samples: Optional[List]) -> dict:
        """The training losses.

        Args:
            inputs (dict): ``points`` ``[B, N, C]``.
            data_samples (list, optional): the batch's data samples.

        Returns:
            dict[str, Tensor]: losses (and logged values).
        """

    @abstractmethod
    def predict(self,
                inputs: dict,
                data_samples: Optional[List] = None) -> List:
        """The evaluation outputs, stored in the data samples.

        Args:
            inputs (dict): ``points`` ``[B, N, C]``.
            data_samples (list, optional): the batch's data samples; new
                ones are made when None.

        Returns:
            list: one data sample per cloud.
        """

    @abstractmethod
    def _forward(self,
                 inputs: dict,
                 data_samples: Optional[List] = None) -> Tensor:
        """The plain network output (``mode='tensor'``).

        Args:
            inputs (dict): ``points`` ``[B, N, C]``.
            data_samples (list, optional): unused by the plugin's models.

        Returns:
            Tensor: ``[B, ...]``.
        """

    def forward(self,
                inputs: dict,
                data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """mmengine entry point.

        Args:
            inputs (dict): ``points`` ``[B, N, C]``.
            data_samples (list, optional): the batch's data samples.
            mode (str): ``'loss'`` (:meth:`loss`), ``'predict'``
                (:meth:`predict`) or ``'tensor'`` (:meth:`_forward`).

        Returns:
            dict | list | Tensor: what the method of ``mode`` returns.

        Raises:
            ValueError: any other ``mode``.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise ValueError(f'mode must be loss, predict or tensor, got {mode}')

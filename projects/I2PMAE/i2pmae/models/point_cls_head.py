"""MLP classification head used for I2P-MAE fine-tuning."""
from typing import Optional, Sequence

from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from .build_component import build_component
from .layers.bias_corrected_batch_norm import BiasCorrectedBatchNorm1d


@MODELS.register_module()
class PointClsHead(BaseModule):
    """``(Linear → BN → ReLU → Dropout) × n → Linear`` (official layout).

    Args:
        in_channels (int): pooled feature channels.
        num_classes (int): output classes.
        hidden_channels (Sequence[int]): hidden layer sizes.
        dropout (float): dropout after each hidden layer.
        loss (dict): loss config (``SmoothCrossEntropyLoss`` by default).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 hidden_channels: Sequence[int] = (256, 256),
                 dropout: float = 0.5,
                 loss: dict = dict(type='SmoothCrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError(f'num_classes must be positive, got '
                             f'{num_classes}')
        layers = []
        prev = in_channels
        for hidden in hidden_channels:
            layers += [
                nn.Linear(prev, hidden),
                BiasCorrectedBatchNorm1d(hidden),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout)
            ]
            prev = hidden
        layers.append(nn.Linear(prev, num_classes))
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.mlp = nn.Sequential(*layers)
        self.loss_module = build_component(loss)

    def forward(self, feats: Tensor) -> Tensor:
        """``[B, in_channels]`` pooled features → ``[B, num_classes]``."""
        return self.mlp(feats)

    def loss(self, feats: Tensor, labels: Tensor) -> dict:
        """Classification loss and training accuracy."""
        logits = self(feats)
        acc = (logits.argmax(1) == labels).float().mean() * 100
        return dict(loss_cls=self.loss_module(logits, labels), acc=acc)

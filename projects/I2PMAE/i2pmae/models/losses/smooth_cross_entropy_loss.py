"""Cross entropy with the official I2P-MAE label smoothing."""
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class SmoothCrossEntropyLoss(nn.Module):
    """Cross entropy against smoothed one-hot targets.

    The true class gets ``1 - smoothing`` and each other class
    ``smoothing / (num_classes - 1)`` (the official fine-tuning loss;
    ``smoothing=0`` is plain cross entropy).

    Args:
        smoothing (float): label smoothing in [0, 1).
        loss_weight (float): multiplier of the loss.
    """

    def __init__(self, smoothing: float = 0.0, loss_weight: float = 1.0):
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f'smoothing must lie in [0, 1), got {smoothing}')
        self.smoothing = smoothing
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Loss of ``[B, C]`` logits against ``[B]`` integer labels."""
        n = logits.shape[1]
        labels = labels.long().view(-1)
        if labels.numel() and (labels.min() < 0 or labels.max() >= n):
            raise ValueError(f'labels must lie in [0, {n}), got values in '
                             f'[{int(labels.min())}, {int(labels.max())}]')
        one_hot = F.one_hot(labels, n).to(logits.dtype)
        eps = self.smoothing
        target = one_hot * (1 - eps) + (1 - one_hot) * eps / max(n - 1, 1)
        loss = -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
        return self.loss_weight * loss


__all__ = ['SmoothCrossEntropyLoss']

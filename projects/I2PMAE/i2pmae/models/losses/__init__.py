"""Losses of the I2P-MAE plugin."""
from .chamfer_l2_loss import ChamferL2Loss, chamfer_l2
from .smooth_cross_entropy_loss import SmoothCrossEntropyLoss

__all__ = ['ChamferL2Loss', 'chamfer_l2', 'SmoothCrossEntropyLoss']

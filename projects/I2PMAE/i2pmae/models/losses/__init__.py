"""Losses of the I2P-MAE plugin (the 3D Chamfer-L2 and the 2D MSE of
pretraining are mmdet3d's ``ChamferDistance`` and mmdet's ``MSELoss``)."""
from .smooth_cross_entropy_loss import SmoothCrossEntropyLoss

__all__ = ['SmoothCrossEntropyLoss']

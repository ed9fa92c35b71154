"""Decode heads of the I2P-MAE plugin (registered in mmdet3d MODELS)."""
from .part_seg_head import I2PMAEPartSegHead
from .sem_seg_head import I2PMAESemSegHead

__all__ = ['I2PMAEPartSegHead', 'I2PMAESemSegHead']

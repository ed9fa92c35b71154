"""Segmentors of the I2P-MAE plugin (registered in mmdet3d MODELS)."""
from .part_segmentor import I2PMAEPartSegmentor

__all__ = ['I2PMAEPartSegmentor']

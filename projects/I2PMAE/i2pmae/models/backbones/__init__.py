"""Backbones that plug the I2P-MAE encoder into mmdet3d models."""
from .i2pmae_point_backbone import I2PMAEPointBackbone
from .i2pmae_votenet_backbone import I2PMAEVoteNetBackbone

__all__ = ['I2PMAEPointBackbone', 'I2PMAEVoteNetBackbone']

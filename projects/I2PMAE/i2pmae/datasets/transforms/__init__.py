"""Point-cloud transforms (registered in mmdet3d's ``TRANSFORMS``)."""
from .augmentation import (PointCloudJitter, PointCloudRandomRotate,
                           PointCloudScaleAndTranslate)
from .formatting import PackPointCloudInputs
from .normalization import PointCloudNormalize
from .sampling import PointCloudFPSSample, PointCloudRandomSample
from .seg_annotation_check import CheckPointSegAnnotations

__all__ = [
    'PointCloudRandomSample', 'PointCloudFPSSample', 'PointCloudNormalize',
    'PointCloudScaleAndTranslate', 'PointCloudRandomRotate',
    'PointCloudJitter', 'PackPointCloudInputs', 'CheckPointSegAnnotations'
]

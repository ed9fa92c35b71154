"""Batched transforms of the data preprocessor, on the model's device."""
from .fps_sample import PointCloudBatchFPSSample
from .scale_and_translate import PointCloudBatchScaleAndTranslate

__all__ = ['PointCloudBatchFPSSample', 'PointCloudBatchScaleAndTranslate']

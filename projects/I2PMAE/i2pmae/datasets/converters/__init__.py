"""Converters: public dataset files -> the processed files the datasets read.

A dataset calls its converter when the processed file is missing (the first
run); the converter can also be called on its own to prepare the file ahead
of training.
"""
from .modelnet40_fps_cache import (build_modelnet40_fps_cache,
                                   describe_short_files,
                                   furthest_point_subsample,
                                   modelnet40_fps_cache_name)

__all__ = [
    'build_modelnet40_fps_cache', 'describe_short_files',
    'furthest_point_subsample', 'modelnet40_fps_cache_name'
]

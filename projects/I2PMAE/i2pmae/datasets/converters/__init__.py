"""Converters: public dataset files -> the processed files the datasets read.

Datasets call them when the processed file is missing; they also run alone.
"""
from .modelnet40_fps_cache import (build_modelnet40_fps_cache,
                                   describe_short_files,
                                   furthest_point_subsample,
                                   modelnet40_fps_cache_name)

__all__ = [
    'build_modelnet40_fps_cache', 'describe_short_files',
    'furthest_point_subsample', 'modelnet40_fps_cache_name'
]

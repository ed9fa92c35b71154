"""Parametric synthetic shapes, written in the layouts of the public datasets.

The shapes are compositions of surface primitives (spheres, boxes, frusta,
tori, pyramids) with random proportions, pose, anisotropic scale, surface
noise, non-uniform sampling and (for some layouts) missing regions; their
part labels fill the ShapeNetPart layout. :func:`generate_synthetic_datasets`
writes every layout of :data:`SYNTHETIC_LAYOUT` under one folder,
deterministically and atomically (see :mod:`.layout_writers`). Coordinates
are y-up, like ShapeNet and ModelNet.

Modules, from the bottom up: :mod:`.primitives` (surfaces), :mod:`.recipes`
(shapes composed of them), :mod:`.class_tables` (class names -> recipes),
:mod:`.sampling` (a perturbed cloud of a recipe), :mod:`.scan_objects`
(ScanObjectNN-like scans), :mod:`.layout_writers` (the shapes of a layout
and one writer per layout) and :mod:`.generate` (all layouts).
"""
from .class_tables import (CLASSIFICATION_RECIPES, PART_RECIPES,
                           SYNTHETIC_CLASSES)
from .generate import SYNTHETIC_LAYOUT, generate_synthetic_datasets
from .primitives import SurfacePart
from .recipes import Recipe
from .sampling import (CLASSIFICATION_STYLE, PART_STYLE, ShapeStyle,
                       generate_shape, sample_parts)
from .scan_objects import generate_scan_object

__all__ = [
    'generate_synthetic_datasets', 'SYNTHETIC_LAYOUT', 'SYNTHETIC_CLASSES',
    'CLASSIFICATION_RECIPES', 'PART_RECIPES', 'Recipe', 'SurfacePart',
    'ShapeStyle', 'CLASSIFICATION_STYLE', 'PART_STYLE', 'generate_shape',
    'sample_parts', 'generate_scan_object'
]

"""Parametric synthetic shapes, written in the layouts of the public datasets.

The shapes are compositions of surface primitives (spheres, boxes, frusta,
tori, pyramids) with random proportions, pose, anisotropic scale, surface
noise, non-uniform sampling and (for some layouts) missing regions. Every
primitive carries a part label, which gives per-point part labels for the
ShapeNetPart layout.

:func:`generate_synthetic_datasets` writes, under one folder::

    ShapeNet55-34/                                    (pre-training)
    ModelNet/modelnet40_normal_resampled/             (fine-tuning)
    modelnet40_ply_hdf5_2048/                         (linear SVM)
    ScanObjectNN/main_split{,_nobg}/                  (OBJ-BG, OBJ-ONLY,
                                                       PB-T50-RS)
    ModelNetFewshot/<way>way_<shot>shot/<fold>.pkl    (few-shot)
    shapenetcore_partanno_segmentation_benchmark_v0_normal/   (part seg.)

Every file is written under a temporary name and renamed into place when
complete, so an interrupted run never leaves a truncated file behind.
Generation is deterministic: each shape draws from its own
``numpy.random.Generator`` seeded by (seed, layout, class, index).
Coordinates are y-up, like ShapeNet and ModelNet.

Modules, from the bottom up: :mod:`.primitives` (surfaces),
:mod:`.recipes` (shapes composed of them), :mod:`.class_tables` (class
names -> recipes), :mod:`.sampling` (a perturbed cloud of a recipe),
:mod:`.scan_objects` (ScanObjectNN-like scans), :mod:`.layout_writers` (one
writer per dataset layout), :mod:`.progress` and :mod:`.generate` (all
layouts under one folder).
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

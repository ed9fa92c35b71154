"""Writing every synthetic dataset layout under one folder.

:func:`generate_synthetic_datasets` checks its arguments, counts the shapes
for the progress report and calls the writers of :mod:`.layout_writers`.
"""
import os.path as osp
from typing import Dict, Optional, Sequence

from .class_tables import CLASSIFICATION_RECIPES, PART_RECIPES
from .layout_writers import (write_fewshot, write_modelnet_h5,
                             write_modelnet_resampled, write_scanobjectnn,
                             write_shapenet55, write_shapenetpart)
from .progress import GenerationProgress

#: sub-folders written by :func:`generate_synthetic_datasets`
SYNTHETIC_LAYOUT = {
    'shapenet55': 'ShapeNet55-34',
    'modelnet_resampled': 'ModelNet/modelnet40_normal_resampled',
    'modelnet_h5': 'modelnet40_ply_hdf5_2048',
    'scanobjectnn': 'ScanObjectNN',
    'fewshot': 'ModelNetFewshot',
    'shapenetpart': 'shapenetcore_partanno_segmentation_benchmark_v0_normal',
}


def generate_synthetic_datasets(out_dir: str,
                                seed: int = 0,
                                per_class: int = 8,
                                test_per_class: Optional[int] = None,
                                num_points: int = 2048,
                                shapenet_points: int = 8192,
                                fewshot_points: int = 1024,
                                fewshot_folds: int = 2,
                                fewshot_queries: int = 10,
                                layouts: Optional[Sequence[str]] = None,
                                show_progress: bool = True) -> Dict[str, str]:
    """Write small synthetic datasets in the layouts of the public ones.

    Args:
        out_dir (str): output folder (e.g. ``data/synthetic``).
        seed (int): base seed; the output is a function of the arguments.
        per_class (int): training shapes per class / category.
        test_per_class (int, optional): test shapes per class; defaults to
            ``max(10, per_class // 2)``, so that one test cloud moves a
            15- or 16-class accuracy by under one point.
        num_points (int): points per cloud of the ModelNet40 (txt and h5),
            ScanObjectNN and ShapeNetPart layouts.
        shapenet_points (int): points per ShapeNet-55 ``.npy`` cloud.
        fewshot_points (int): points per few-shot cloud.
        fewshot_folds (int): episodes per few-shot setting.
        fewshot_queries (int): query shapes per class of an episode.
        layouts (Sequence[str], optional): subset of
            :data:`SYNTHETIC_LAYOUT` keys to write; None writes all.
        show_progress (bool): report progress on stdout: a live bar on a
            terminal, at most ten plain lines otherwise.

    Returns:
        dict[str, str]: layout key -> folder written.
    """
    layouts = list(SYNTHETIC_LAYOUT) if layouts is None else list(layouts)
    unknown = set(layouts) - set(SYNTHETIC_LAYOUT)
    if unknown:
        raise ValueError(f'unknown layouts {sorted(unknown)}; choose from '
                         f'{list(SYNTHETIC_LAYOUT)}')
    for name, value in (('per_class', per_class), ('num_points', num_points),
                        ('shapenet_points',
                         shapenet_points), ('fewshot_points', fewshot_points),
                        ('fewshot_folds', fewshot_folds), ('fewshot_queries',
                                                           fewshot_queries)):
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f'{name} must be a positive int, got {value!r}')
    if test_per_class is None:
        test_per_class = max(10, per_class // 2)
    if not isinstance(test_per_class, int) or test_per_class <= 0:
        raise ValueError('test_per_class must be a positive int, got '
                         f'{test_per_class!r}')
    num_cls = len(CLASSIFICATION_RECIPES)
    counts = {
        'shapenet55':
        num_cls * (per_class + test_per_class),
        'modelnet_resampled':
        num_cls * (per_class + test_per_class),
        'modelnet_h5':
        num_cls * (per_class + test_per_class),
        'scanobjectnn':
        15 * (per_class + test_per_class),
        'fewshot':
        num_cls * (20 + fewshot_queries),
        'shapenetpart':
        len(PART_RECIPES) *
        (per_class + max(1, per_class // 4) + test_per_class),
    }
    progress = GenerationProgress(
        sum(counts[k] for k in layouts), show_progress)
    folders = {k: osp.join(out_dir, SYNTHETIC_LAYOUT[k]) for k in layouts}
    common = dict(
        seed=seed,
        per_class=per_class,
        test_per_class=test_per_class,
        progress=progress)
    writers = {
        'shapenet55':
        lambda root: write_shapenet55(
            root, num_points=shapenet_points, **common),
        'modelnet_resampled':
        lambda root: write_modelnet_resampled(
            root, num_points=num_points, **common),
        'modelnet_h5':
        lambda root: write_modelnet_h5(root, num_points=num_points, **common),
        'scanobjectnn':
        lambda root: write_scanobjectnn(root, num_points=num_points, **common),
        'fewshot':
        lambda root: write_fewshot(
            root,
            seed=seed,
            num_folds=fewshot_folds,
            num_queries=fewshot_queries,
            num_points=fewshot_points,
            progress=progress),
        'shapenetpart':
        lambda root: write_shapenetpart(root, num_points=num_points, **common),
    }
    for key in layouts:
        writers[key](folders[key])
    progress.finish()
    return folders

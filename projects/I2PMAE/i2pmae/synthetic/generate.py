"""Writing every synthetic dataset layout under one folder.

:func:`generate_synthetic_datasets` checks its arguments, counts the shapes
for the progress report and calls the writers of :mod:`.layout_writers`.
"""
import io
import os.path as osp
from functools import partial
from typing import Dict, Optional, Sequence

from ..utils.progress import ProgressReporter
from .class_tables import CLASSIFICATION_RECIPES, PART_RECIPES
from .layout_writers import (generate_splits, write_fewshot, write_modelnet_h5,
                             write_modelnet_resampled, write_scanobjectnn,
                             write_shapenet55, write_shapenetpart)
from .sampling import PART_STYLE, generate_shape
from .scan_objects import generate_scan_object

#: sub-folders written by :func:`generate_synthetic_datasets`
SYNTHETIC_LAYOUT = {
    'shapenet55': 'ShapeNet55-34',
    'modelnet_resampled': 'ModelNet/modelnet40_normal_resampled',
    'modelnet_h5': 'modelnet40_ply_hdf5_2048',
    'scanobjectnn': 'ScanObjectNN',
    'fewshot': 'ModelNetFewshot',
    'shapenetpart': 'shapenetcore_partanno_segmentation_benchmark_v0_normal',
}


def _check_sizes(**sizes) -> None:
    """Raise a ValueError naming the first size that is not a positive int."""
    for name, value in sizes.items():
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f'{name} must be a positive int, got {value!r}')


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
    _check_sizes(
        per_class=per_class,
        num_points=num_points,
        shapenet_points=shapenet_points,
        fewshot_points=fewshot_points,
        fewshot_folds=fewshot_folds,
        fewshot_queries=fewshot_queries)
    if test_per_class is None:
        test_per_class = max(10, per_class // 2)
    _check_sizes(test_per_class=test_per_class)
    # arguments of generate_splits; most layouts share the first ones
    recipes = list(CLASSIFICATION_RECIPES.values())
    common = dict(
        recipes=recipes,
        splits=dict(train=per_class, test=test_per_class),
        num_points=num_points)
    scan = dict(common, recipes=recipes[:15], make=generate_scan_object)
    pool = dict(pool=20 + fewshot_queries)
    part = dict(
        recipes=list(PART_RECIPES.values()),
        splits=dict(
            train=per_class, val=max(1, per_class // 4), test=test_per_class),
        num_points=num_points,
        make=partial(generate_shape, style=PART_STYLE))
    plans = {  # layout -> (writer, its shapes)
        'shapenet55':
        (write_shapenet55, dict(common, num_points=shapenet_points)),
        'modelnet_resampled': (write_modelnet_resampled, common),
        'modelnet_h5': (partial(write_modelnet_h5, seed=seed), common),
        'scanobjectnn': (partial(write_scanobjectnn, seed=seed), scan),
        'fewshot': (partial(write_fewshot, seed=seed, num_folds=fewshot_folds),
                    dict(common, splits=pool, num_points=fewshot_points)),
        'shapenetpart': (partial(write_shapenetpart, seed=seed), part),
    }
    total = sum(
        len(plans[k][1]['recipes']) * sum(plans[k][1]['splits'].values())
        for k in layouts)
    hidden = io.StringIO()  # a discarded report when not shown
    progress = ProgressReporter(total, 'synthetic shapes',
                                None if show_progress else hidden)
    folders = {}
    for key in layouts:
        write, plan = plans[key]
        shapes = generate_splits(key, seed=seed, progress=progress, **plan)
        folders[key] = osp.join(out_dir, SYNTHETIC_LAYOUT[key])
        write(folders[key], shapes)
    progress.finish()
    return folders

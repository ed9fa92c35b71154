"""Writers of the public dataset layouts, filled with synthetic shapes.

:func:`generate_splits` makes the shapes of a layout, each from its own
``numpy.random.Generator`` seeded by (seed, layout, class, index); one
writer per layout stores them. Every file is written under a temporary name
and renamed into place when complete.
"""
import glob
import itertools
import json
import os
import os.path as osp
import pickle
from typing import Callable, Dict, Iterable, Iterator, Sequence, Tuple

import numpy as np

from ..datasets.class_names import (SHAPENETPART_SEG_CLASSES,
                                    SHAPENETPART_SYNSETS)
from ..datasets.file_io import atomic_open, atomic_path
from ..utils.progress import ProgressReporter
from .class_tables import (CLASSIFICATION_RECIPES, PART_RECIPES,
                           SYNTHETIC_CLASSES)
from .primitives import Array
from .recipes import Recipe
from .sampling import generate_shape

_LAYOUT_IDS = {
    'shapenet55': 1,
    'modelnet_resampled': 2,
    'modelnet_h5': 3,
    'scanobjectnn': 4,
    'fewshot': 5,
    'shapenetpart': 6
}


def _rng(seed: int, layout: str, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, _LAYOUT_IDS[layout], *keys])


def generate_splits(layout: str,
                    recipes: Iterable[Recipe],
                    splits: Dict[str, int],
                    seed: int,
                    num_points: int,
                    progress: ProgressReporter,
                    make: Callable = generate_shape) -> Iterator[Tuple]:
    """Generate the shapes of every split, class by class.

    The indices of a class run on across its splits (train ``0..n-1``,
    test ``n..``), so each shape has its own seed.

    Args:
        layout (str): layout key; part of every shape's seed.
        recipes (Iterable[Recipe]): the classes, in label order.
        splits (dict[str, int]): split -> shapes per class.
        seed (int): base seed.
        num_points (int): points per cloud.
        progress (ProgressReporter): counts each shape.
        make (Callable): ``(recipe, num_points, rng) -> sample``.

    Yields:
        tuple: split, class label, index in the class and the sample, the
        ``shapes`` that the writers below store.
    """
    for label, recipe in enumerate(recipes):
        names = [split for split, n in splits.items() for _ in range(n)]
        for i, split in enumerate(names):
            sample = make(recipe, num_points, _rng(seed, layout, label, i))
            progress.update()
            yield split, label, i, sample


def _write_rows(path: str, rows: Array, row_format: str) -> None:
    line = row_format + '\n'
    with atomic_open(path, 'w') as f:
        f.write((line * len(rows)) % tuple(rows.ravel()))


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with atomic_open(path, 'w') as f:
        f.write(''.join(f'{line}\n' for line in lines))


def _write_h5(path: str, arrays: Dict[str, Array]) -> None:
    import h5py
    with atomic_path(path) as tmp_path:
        with h5py.File(tmp_path, 'w') as f:
            for key, value in arrays.items():
                f.create_dataset(key, data=value)


def _shuffled(items: list, rng: np.random.Generator) -> list:
    return [items[j] for j in rng.permutation(len(items))]


def _by_split(shapes: Iterable[Tuple]) -> Dict[str, list]:
    """``(split, label, index, sample)`` -> split -> (sample, label)."""
    out = {}
    for split, label, _, sample in shapes:
        out.setdefault(split, []).append((sample, label))
    return out


def write_shapenet55(root: str, shapes: Iterable[Tuple]) -> None:
    """ShapeNet-55 layout: ``ShapeNet-55/{train,test}.txt`` + ``.npy``.

    Taxonomy ids are ``'9000<class:04d>'`` and model ids ``'m<index>'``.

    Args:
        root (str): output folder (``.../ShapeNet55-34``).
        shapes (Iterable[tuple]): ``train`` and ``test`` shapes of
            :func:`generate_splits` (8192 points in the real data).
    """
    os.makedirs(osp.join(root, 'ShapeNet-55'), exist_ok=True)
    os.makedirs(osp.join(root, 'shapenet_pc'), exist_ok=True)
    lists = {}
    for split, cls, i, (pts, _, _) in shapes:
        name = f'{9000_0000 + cls:08d}-m{cls:02d}{i:05d}.npy'
        with atomic_open(osp.join(root, 'shapenet_pc', name), 'wb') as f:
            np.save(f, pts)
        lists.setdefault(split, []).append(name)
    for split, names in lists.items():
        _write_lines(osp.join(root, 'ShapeNet-55', f'{split}.txt'), names)


def write_modelnet_resampled(root: str, shapes: Iterable[Tuple]) -> None:
    """``modelnet40_normal_resampled`` layout (txt clouds with normals).

    Stale processed caches (``*_fps.dat``) in ``root`` are deleted, since
    they would no longer match the regenerated clouds.

    Args:
        root (str): output folder.
        shapes (Iterable[tuple]): ``train`` and ``test`` shapes of
            :func:`generate_splits`.
    """
    os.makedirs(root, exist_ok=True)
    for stale in glob.glob(osp.join(root, '*_fps.dat')):
        os.remove(stale)
    lists = {}
    for split, cls, i, (pts, nrm, _) in shapes:
        name = SYNTHETIC_CLASSES[cls]
        shape_id = f'{name}_{i + 1:04d}'
        os.makedirs(osp.join(root, name), exist_ok=True)
        _write_rows(
            osp.join(root, name, f'{shape_id}.txt'),
            np.concatenate([pts, nrm], axis=1), ','.join(['%.6f'] * 6))
        lists.setdefault(split, []).append(shape_id)
    _write_lines(
        osp.join(root, 'modelnet40_shape_names.txt'), SYNTHETIC_CLASSES)
    for split, ids in lists.items():
        _write_lines(osp.join(root, f'modelnet40_{split}.txt'), ids)


def write_modelnet_h5(root: str, shapes: Iterable[Tuple], seed: int) -> None:
    """``modelnet40_ply_hdf5_2048`` layout, two files per split.

    Args:
        root (str): output folder.
        shapes (Iterable[tuple]): ``train`` and ``test`` shapes of
            :func:`generate_splits` (2048 points in the real data).
        seed (int): base seed of the shuffles.
    """
    os.makedirs(root, exist_ok=True)
    for split, items in _by_split(shapes).items():
        order = _rng(seed, 'modelnet_h5', 999, int(split == 'test'))
        clouds, labels = zip(*_shuffled(items, order))
        arrays = dict(
            data=np.stack([c[0] for c in clouds]),
            normal=np.stack([c[1] for c in clouds]),
            label=np.array(labels, dtype=np.uint8)[:, None])
        chunks = np.array_split(np.arange(len(items)), min(2, len(items)))
        names = [f'ply_data_{split}{k}.h5' for k in range(len(chunks))]
        for name, chunk in zip(names, chunks):
            part = {key: value[chunk] for key, value in arrays.items()}
            _write_h5(osp.join(root, name), part)
        _write_lines(
            osp.join(root, f'{split}_files.txt'),
            [f'data/modelnet40_ply_hdf5_2048/{n}' for n in names])
    _write_lines(osp.join(root, 'shape_names.txt'), SYNTHETIC_CLASSES)


def write_scanobjectnn(root: str, shapes: Iterable[Tuple], seed: int) -> None:
    """ScanObjectNN layout with OBJ-BG, OBJ-ONLY and PB-T50-RS files.

    Args:
        root (str): output folder (``.../ScanObjectNN``).
        shapes (Iterable[tuple]): ``train`` (written as ``training_*.h5``)
            and ``test`` scans of :func:`generate_splits` (15 classes, 2048
            points in the real data).
        seed (int): base seed of the shuffles.
    """
    for folder in ('main_split', 'main_split_nobg'):
        os.makedirs(osp.join(root, folder), exist_ok=True)
    files = {  # variant -> its file, after the split's name
        'obj_bg': 'main_split/{}_objectdataset.h5',
        'obj_only': 'main_split_nobg/{}_objectdataset.h5',
        'pb_t50_rs': 'main_split/{}_objectdataset_augmentedrot_scale75.h5',
    }
    for split, items in _by_split(shapes).items():
        order = _rng(seed, 'scanobjectnn', 999, int(split == 'test'))
        samples, labels = zip(*_shuffled(items, order))
        prefix = 'training' if split == 'train' else split
        for key, name in files.items():
            ones = np.ones(len(samples[0][key]), np.int8)  # obj_only's mask
            _write_h5(
                osp.join(root, name.format(prefix)),
                dict(
                    data=np.stack([s[key] for s in samples]),
                    label=np.array(labels, dtype=np.int64),
                    mask=np.stack(
                        [s.get(f'{key}_mask', ones) for s in samples])))


def write_fewshot(root: str, shapes: Iterable[Tuple], seed: int,
                  num_folds: int) -> None:
    """``ModelNetFewshot`` layout: ``{5,10}way_{10,20}shot/<fold>.pkl``.

    Each episode picks ``way`` classes and, per class, ``shot`` support
    shapes and all but 20 of the class's pool as queries.

    Args:
        root (str): output folder.
        shapes (Iterable[tuple]): the pool of :func:`generate_splits`: 20
            plus the queries per class of an episode (20 in the real data)
            shapes per class.
        seed (int): base seed of the episodes.
        num_folds (int): episodes per setting (10 in the real data).
    """
    max_shot = 20
    pools = [[] for _ in CLASSIFICATION_RECIPES]
    for _, cls, _, (pts, nrm, _) in shapes:
        pools[cls].append(np.concatenate([pts, nrm], axis=1))
    for way, shot in itertools.product((5, 10), (10, 20)):
        folder = osp.join(root, f'{way}way_{shot}shot')
        os.makedirs(folder, exist_ok=True)
        for fold in range(num_folds):
            rng = _rng(seed, 'fewshot', 1000 + way, shot, fold)
            classes = rng.permutation(len(pools))[:way]
            train, test = [], []
            for new_label, cls in enumerate(classes):
                pool = pools[cls]
                order = rng.permutation(len(pool))
                train += [(pool[j], new_label, int(cls)) for j in order[:shot]]
                test += [(pool[j], new_label, int(cls))
                         for j in order[max_shot:]]
            episode = dict(
                train=_shuffled(train, rng), test=_shuffled(test, rng))
            with atomic_open(osp.join(folder, f'{fold}.pkl'), 'wb') as f:
                pickle.dump(episode, f)


def write_shapenetpart(root: str, shapes: Iterable[Tuple], seed: int) -> None:
    """ShapeNetPart layout with per-point part labels.

    Uses the 16 real categories, synset offsets and global part ids.

    Args:
        root (str): output folder.
        shapes (Iterable[tuple]): ``train``, ``val`` and ``test`` shapes of
            :func:`generate_splits` with :data:`~.class_tables.PART_RECIPES`.
        seed (int): base seed of the shuffled file lists.
    """
    os.makedirs(osp.join(root, 'train_test_split'), exist_ok=True)
    lists = {}
    categories = list(PART_RECIPES)
    for split, cat_idx, i, (pts, nrm, lab) in shapes:
        synset = SHAPENETPART_SYNSETS[categories[cat_idx]]
        part_ids = np.asarray(SHAPENETPART_SEG_CLASSES[categories[cat_idx]])
        os.makedirs(osp.join(root, synset), exist_ok=True)
        token = f's{cat_idx:02d}{i:06d}'
        rows = np.concatenate(
            [pts, nrm, part_ids[lab][:, None].astype(np.float32)], axis=1)
        _write_rows(
            osp.join(root, synset, f'{token}.txt'), rows,
            ' '.join(['%.6f'] * 6 + ['%d']))
        lists.setdefault(split, []).append(f'shape_data/{synset}/{token}')
    _write_lines(
        osp.join(root, 'synsetoffset2category.txt'),
        [f'{c}\t{SHAPENETPART_SYNSETS[c]}' for c in categories])
    for split, entries in lists.items():
        order = _rng(seed, 'shapenetpart', 999, len(split))
        with atomic_open(
                osp.join(root, 'train_test_split',
                         f'shuffled_{split}_file_list.json'), 'w') as f:
            json.dump(_shuffled(entries, order), f)

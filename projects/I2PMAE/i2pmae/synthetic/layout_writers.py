"""Writers of the public dataset layouts, filled with synthetic shapes.

One function per layout (ShapeNet-55, ModelNet40 resampled txt and h5,
ScanObjectNN, ModelNet40 few-shot, ShapeNetPart). Each shape draws from its
own ``numpy.random.Generator`` seeded by (seed, layout, class, index), and
every file is written under a temporary name and renamed into place when
complete.
"""
import glob
import json
import os
import os.path as osp
import pickle
from typing import Dict, Sequence

import numpy as np

from ..datasets.class_names import (SHAPENETPART_SEG_CLASSES,
                                    SHAPENETPART_SYNSETS)
from ..datasets.file_io import atomic_open, atomic_path
from .class_tables import (CLASSIFICATION_RECIPES, PART_RECIPES,
                           SYNTHETIC_CLASSES)
from .primitives import Array
from .progress import GenerationProgress
from .sampling import PART_STYLE, generate_shape
from .scan_objects import generate_scan_object

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


def _write_rows(path: str, rows: Array, fmt: str, sep: str) -> None:
    line = sep.join([fmt] * rows.shape[1]) + '\n'
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


def write_shapenet55(root: str, seed: int, per_class: int, test_per_class: int,
                     num_points: int, progress: GenerationProgress) -> str:
    """ShapeNet-55 layout: ``ShapeNet-55/{train,test}.txt`` + ``.npy``.

    Taxonomy ids are ``'9000<class:04d>'`` and model ids ``'m<index>'``.

    Args:
        root (str): output folder (``.../ShapeNet55-34``).
        seed (int): base seed.
        per_class (int): training shapes per class.
        test_per_class (int): test shapes per class.
        num_points (int): points per ``.npy`` cloud (8192 in the real data).
        progress (GenerationProgress): progress counter.

    Returns:
        str: ``root``.
    """
    os.makedirs(osp.join(root, 'ShapeNet-55'), exist_ok=True)
    os.makedirs(osp.join(root, 'shapenet_pc'), exist_ok=True)
    lists = {'train': [], 'test': []}
    for cls, recipe in enumerate(CLASSIFICATION_RECIPES.values()):
        for i in range(per_class + test_per_class):
            split = 'train' if i < per_class else 'test'
            pts, _, _ = generate_shape(recipe, num_points,
                                       _rng(seed, 'shapenet55', cls, i))
            name = f'{9000_0000 + cls:08d}-m{cls:02d}{i:05d}.npy'
            with atomic_open(osp.join(root, 'shapenet_pc', name), 'wb') as f:
                np.save(f, pts)
            lists[split].append(name)
            progress.update()
    for split, names in lists.items():
        _write_lines(osp.join(root, 'ShapeNet-55', f'{split}.txt'), names)
    return root


def write_modelnet_resampled(root: str, seed: int, per_class: int,
                             test_per_class: int, num_points: int,
                             progress: GenerationProgress) -> str:
    """``modelnet40_normal_resampled`` layout (txt clouds with normals).

    Stale processed caches (``*_fps.dat``) in ``root`` are deleted, since
    they would no longer match the regenerated clouds.

    Args:
        root (str): output folder.
        seed (int): base seed.
        per_class (int): training shapes per class.
        test_per_class (int): test shapes per class.
        num_points (int): rows per txt file.
        progress (GenerationProgress): progress counter.

    Returns:
        str: ``root``.
    """
    os.makedirs(root, exist_ok=True)
    for stale in glob.glob(osp.join(root, '*_fps.dat')):
        os.remove(stale)
    lists = {'train': [], 'test': []}
    for cls, (name, recipe) in enumerate(CLASSIFICATION_RECIPES.items()):
        os.makedirs(osp.join(root, name), exist_ok=True)
        for i in range(per_class + test_per_class):
            split = 'train' if i < per_class else 'test'
            pts, nrm, _ = generate_shape(
                recipe, num_points, _rng(seed, 'modelnet_resampled', cls, i))
            shape_id = f'{name}_{i + 1:04d}'
            _write_rows(
                osp.join(root, name, f'{shape_id}.txt'),
                np.concatenate([pts, nrm], axis=1), '%.6f', ',')
            lists[split].append(shape_id)
            progress.update()
    _write_lines(
        osp.join(root, 'modelnet40_shape_names.txt'), SYNTHETIC_CLASSES)
    for split, ids in lists.items():
        _write_lines(osp.join(root, f'modelnet40_{split}.txt'), ids)
    return root


def write_modelnet_h5(root: str, seed: int, per_class: int,
                      test_per_class: int, num_points: int,
                      progress: GenerationProgress) -> str:
    """``modelnet40_ply_hdf5_2048`` layout, two files per split.

    Args:
        root (str): output folder.
        seed (int): base seed.
        per_class (int): training shapes per class.
        test_per_class (int): test shapes per class.
        num_points (int): points per cloud (2048 in the real data).
        progress (GenerationProgress): progress counter.

    Returns:
        str: ``root``.
    """
    os.makedirs(root, exist_ok=True)
    for split, count, offset in (('train', per_class, 0),
                                 ('test', test_per_class, per_class)):
        data, normal, label = [], [], []
        for cls, recipe in enumerate(CLASSIFICATION_RECIPES.values()):
            for i in range(offset, offset + count):
                pts, nrm, _ = generate_shape(recipe, num_points,
                                             _rng(seed, 'modelnet_h5', cls, i))
                data.append(pts)
                normal.append(nrm)
                label.append(cls)
                progress.update()
        order = _rng(seed, 'modelnet_h5', 999, int(split == 'test'))
        order = order.permutation(len(data))
        data, normal = np.stack(data)[order], np.stack(normal)[order]
        label = np.array(label, dtype=np.uint8)[order, None]
        chunks = np.array_split(np.arange(len(data)), min(2, len(data)))
        names = []
        for k, chunk in enumerate(chunks):
            names.append(f'ply_data_{split}{k}.h5')
            _write_h5(
                osp.join(root, names[-1]),
                dict(
                    data=data[chunk], normal=normal[chunk],
                    label=label[chunk]))
        _write_lines(
            osp.join(root, f'{split}_files.txt'),
            [f'data/modelnet40_ply_hdf5_2048/{n}' for n in names])
    _write_lines(osp.join(root, 'shape_names.txt'), SYNTHETIC_CLASSES)
    return root


def write_scanobjectnn(root: str, seed: int, per_class: int,
                       test_per_class: int, num_points: int,
                       progress: GenerationProgress) -> str:
    """ScanObjectNN layout with OBJ-BG, OBJ-ONLY and PB-T50-RS files.

    Uses the first 15 synthetic classes (ScanObjectNN has 15).

    Args:
        root (str): output folder (``.../ScanObjectNN``).
        seed (int): base seed.
        per_class (int): training objects per class.
        test_per_class (int): test objects per class.
        num_points (int): points per cloud (2048 in the real data).
        progress (GenerationProgress): progress counter.

    Returns:
        str: ``root``.
    """
    for folder in ('main_split', 'main_split_nobg'):
        os.makedirs(osp.join(root, folder), exist_ok=True)
    recipes = list(CLASSIFICATION_RECIPES.values())[:15]
    for split, count, offset in (('training', per_class, 0),
                                 ('test', test_per_class, per_class)):
        samples, labels = [], []
        for cls, recipe in enumerate(recipes):
            for i in range(offset, offset + count):
                samples.append(
                    generate_scan_object(recipe, num_points,
                                         _rng(seed, 'scanobjectnn', cls, i)))
                labels.append(cls)
                progress.update()
        order = _rng(seed, 'scanobjectnn', 999, int(split == 'test'))
        order = order.permutation(len(samples))
        labels = np.array(labels, dtype=np.int64)[order]
        files = (('main_split', '_objectdataset.h5', 'obj_bg'),
                 ('main_split_nobg', '_objectdataset.h5', 'obj_only'),
                 ('main_split', '_objectdataset_augmentedrot_scale75.h5',
                  'pb_t50_rs'))
        for folder, suffix, key in files:
            mask = np.stack([
                samples[j].get(f'{key}_mask', np.ones(num_points, np.int8))
                for j in order
            ])
            _write_h5(
                osp.join(root, folder, split + suffix),
                dict(
                    data=np.stack([samples[j][key] for j in order]),
                    label=labels,
                    mask=mask))
    return root


def write_fewshot(root: str, seed: int, num_folds: int, num_queries: int,
                  num_points: int, progress: GenerationProgress) -> str:
    """``ModelNetFewshot`` layout: ``{5,10}way_{10,20}shot/<fold>.pkl``.

    A pool of ``20 + num_queries`` shapes per class is generated once; each
    episode picks ``way`` classes, ``shot`` support and ``num_queries``
    query shapes per class from it.

    Args:
        root (str): output folder.
        seed (int): base seed.
        num_folds (int): episodes per setting (10 in the real data).
        num_queries (int): test shapes per class of an episode (20 in the
            real data).
        num_points (int): points per cloud (with normals).
        progress (GenerationProgress): progress counter.

    Returns:
        str: ``root``.
    """
    max_shot = 20
    pools = []
    for cls, recipe in enumerate(CLASSIFICATION_RECIPES.values()):
        pool = []
        for i in range(max_shot + num_queries):
            pts, nrm, _ = generate_shape(recipe, num_points,
                                         _rng(seed, 'fewshot', cls, i))
            pool.append(np.concatenate([pts, nrm], axis=1))
            progress.update()
        pools.append(pool)
    for way in (5, 10):
        for shot in (10, 20):
            folder = osp.join(root, f'{way}way_{shot}shot')
            os.makedirs(folder, exist_ok=True)
            for fold in range(num_folds):
                rng = _rng(seed, 'fewshot', 1000 + way, shot, fold)
                classes = rng.permutation(len(pools))[:way]
                train, test = [], []
                for new_label, cls in enumerate(classes):
                    order = rng.permutation(max_shot + num_queries)
                    pool = pools[cls]
                    train += [(pool[j], new_label, int(cls))
                              for j in order[:shot]]
                    test += [(pool[j], new_label, int(cls))
                             for j in order[max_shot:]]
                train = [train[j] for j in rng.permutation(len(train))]
                test = [test[j] for j in rng.permutation(len(test))]
                with atomic_open(osp.join(folder, f'{fold}.pkl'), 'wb') as f:
                    pickle.dump(dict(train=train, test=test), f)
    return root


def write_shapenetpart(root: str, seed: int, per_class: int,
                       test_per_class: int, num_points: int,
                       progress: GenerationProgress) -> str:
    """ShapeNetPart layout with per-point part labels.

    Uses the 16 real categories, synset offsets and global part ids;
    ``per_class`` shapes go to train, ``max(1, per_class // 4)`` to val and
    ``test_per_class`` to test.

    Args:
        root (str): output folder.
        seed (int): base seed.
        per_class (int): training shapes per category.
        test_per_class (int): test shapes per category.
        num_points (int): rows per shape file.
        progress (GenerationProgress): progress counter.

    Returns:
        str: ``root``.
    """
    os.makedirs(osp.join(root, 'train_test_split'), exist_ok=True)
    val_per_class = max(1, per_class // 4)
    splits = {'train': [], 'val': [], 'test': []}
    for cat_idx, (category, recipe) in enumerate(PART_RECIPES.items()):
        synset = SHAPENETPART_SYNSETS[category]
        part_ids = np.asarray(SHAPENETPART_SEG_CLASSES[category])
        os.makedirs(osp.join(root, synset), exist_ok=True)
        total = per_class + val_per_class + test_per_class
        for i in range(total):
            split = ('train' if i < per_class else 'val' if i < per_class +
                     val_per_class else 'test')
            pts, nrm, lab = generate_shape(
                recipe, num_points, _rng(seed, 'shapenetpart', cat_idx, i),
                PART_STYLE)
            token = f's{cat_idx:02d}{i:06d}'
            rows = np.concatenate(
                [pts, nrm, part_ids[lab][:, None].astype(np.float32)], axis=1)
            line = ' '.join(['%.6f'] * 6 + ['%d']) + '\n'
            with atomic_open(osp.join(root, synset, f'{token}.txt'), 'w') as f:
                f.write((line * len(rows)) % tuple(rows.ravel()))
            splits[split].append(f'shape_data/{synset}/{token}')
            progress.update()
    _write_lines(
        osp.join(root, 'synsetoffset2category.txt'),
        [f'{c}\t{SHAPENETPART_SYNSETS[c]}' for c in PART_RECIPES])
    for split, entries in splits.items():
        order = _rng(seed, 'shapenetpart', 999,
                     len(split)).permutation(len(entries))
        with atomic_open(
                osp.join(root, 'train_test_split',
                         f'shuffled_{split}_file_list.json'), 'w') as f:
            json.dump([entries[j] for j in order], f)
    return root

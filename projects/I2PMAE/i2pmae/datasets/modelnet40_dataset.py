"""ModelNet40 (resampled, with normals) for fine-tuning."""
import logging
import os
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet3d.registry import DATASETS
from mmengine.logging import print_log

from ..utils.progress import ProgressReporter
from .base_point_cloud_dataset import BasePointCloudDataset
from .file_io import (atomic_pickle_dump, check_finite, check_labels,
                      load_pickle, read_lines, read_point_txt)
from .point_sampling import indices_with_replacement

MODELNET40_LAYOUT = """\
<data_root>/                              e.g. data/ModelNet/modelnet40_normal_resampled
    modelnet40_shape_names.txt            one class name per line
    modelnet40_train.txt                  one '<class>_<id>' per line
    modelnet40_test.txt
    <class>/<class>_<id>.txt              rows 'x,y,z,nx,ny,nz'
    modelnet40_{train,test}_8192pts_fps.dat
                                          optional processed cache (pickle of
                                          [points_list, labels_list]); built
                                          from the txt files when missing"""  # noqa: E501


def furthest_point_subsample(clouds: Sequence[np.ndarray],
                             num_points: int) -> List[np.ndarray]:
    """FPS-subsample clouds to ``num_points`` each, batched by size.

    Clouds with fewer points are resampled with replacement (the caller
    reports them, see :func:`describe_short_files`).

    Args:
        clouds (Sequence[np.ndarray]): ``[N_i, C]`` clouds (xyz first).
        num_points (int): points kept per cloud.

    Returns:
        list[np.ndarray]: ``[num_points, C]`` float32 clouds.
    """
    from ..ops import furthest_point_sample
    out: List[np.ndarray] = [None] * len(clouds)
    by_size = {}
    for i, cloud in enumerate(clouds):
        by_size.setdefault(len(cloud), []).append(i)
    for size, members in by_size.items():
        if size < num_points:
            for i in members:
                out[i] = clouds[i][indices_with_replacement(size, num_points)]
            continue
        xyz = torch.from_numpy(np.stack([clouds[i][:, :3] for i in members]))
        # the loop of small ops runs fastest on one thread
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            idx = furthest_point_sample(xyz, num_points).numpy()
        finally:
            torch.set_num_threads(threads)
        for row, i in enumerate(members):
            out[i] = np.ascontiguousarray(clouds[i][idx[row]])
    return out


def describe_short_files(sizes: Sequence[Tuple[str, int]],
                         num_points: int,
                         max_named: int = 5) -> Optional[str]:
    """Name the point files with fewer points than expected.

    A txt file cut at a line boundary still parses, so its row count is the
    only sign of the damage. A file is short when it has fewer points than
    ``num_points`` (it is then resampled with replacement) or than most
    files of the split (the ModelNet40 files all hold 10000).

    Args:
        sizes (Sequence[tuple[str, int]]): ``(path, number of points)`` of
            every file read.
        num_points (int): points kept per cloud (``cache_points``).
        max_named (int): most files named in the message.

    Returns:
        str or None: a message naming the short files with the number of
        points expected and found; None when no file is short.
    """
    counts = Counter(n for _, n in sizes)
    typical = max(counts, key=lambda n: (counts[n], n)) if counts else 0
    short = [(path, n) for path, n in sizes if n < max(typical, num_points)]
    if not short:
        return None

    def expected(n):
        if n < typical:
            return f'expected {typical} like most files'
        return f'expected at least cache_points={num_points}'

    named = '; '.join(f'{path!r} has {n} points, {expected(n)}'
                      for path, n in short[:max_named])
    if len(short) > max_named:
        named += f'; and {len(short) - max_named} more'
    notes = []
    if any(n < typical for _, n in short):
        notes.append('a file with fewer rows than most is likely truncated '
                     '(fix it, then delete the cache)')
    if any(n < num_points for _, n in short):
        notes.append(f'clouds with fewer than {num_points} points are '
                     'resampled with replacement')
    return (f'{len(short)} of {len(sizes)} point files have fewer points '
            f'than expected: {named}. ' + '; '.join(notes))


@DATASETS.register_module()
class ModelNet40Dataset(BasePointCloudDataset):
    """ModelNet40 from ``modelnet40_normal_resampled`` for fine-tuning.

    Samples come from the processed cache
    ``modelnet40_<split>_<cache_points>pts_fps.dat`` (a pickle of
    ``[points_list, labels_list]`` with float32 ``[cache_points, 6]`` clouds
    and int32 ``[1]`` labels), the file Point-BERT users already have. When
    it is missing it is built from the txt files (furthest point sampling to
    ``cache_points``) and written atomically, so a crashed build never
    leaves a partial cache behind.

    Layout::

        <data_root>/      e.g. data/ModelNet/modelnet40_normal_resampled
            modelnet40_shape_names.txt
            modelnet40_{train,test}.txt       '<class>_<id>' per line
            <class>/<class>_<id>.txt          'x,y,z,nx,ny,nz' rows
            modelnet40_{train,test}_8192pts_fps.dat   (cache)

    Args:
        data_root (str): the ``modelnet40_normal_resampled`` folder.
        split (str): ``'train'`` or ``'test'``.
        num_category (int): 40 (or 10 for the ``modelnet10_*`` files).
        cache_points (int): points per cloud in the cache. Defaults to 8192.
        build_cache (bool): build the cache when missing; when False a
            missing cache is an error. Defaults to True.
        fps_batch_size (int): clouds per FPS call while building.
        cache_dir (str, optional): folder of the cache (e.g. when data_root
            is read-only); defaults to data_root.
        **kwargs: see :class:`BasePointCloudDataset` (``use_normals`` keeps
            the normal columns).
    """

    LAYOUT = MODELNET40_LAYOUT

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 num_category: int = 40,
                 cache_points: int = 8192,
                 build_cache: bool = True,
                 fps_batch_size: int = 32,
                 cache_dir: Optional[str] = None,
                 **kwargs) -> None:
        if num_category not in (10, 40):
            raise ValueError(f'num_category must be 10 or 40, got '
                             f'{num_category}')
        if cache_points <= 0:
            raise ValueError(f'cache_points must be positive, got '
                             f'{cache_points}')
        self.num_category = num_category
        self.cache_points = cache_points
        self.build_cache = build_cache
        self.fps_batch_size = fps_batch_size
        self.cache_dir = cache_dir
        super().__init__(data_root=data_root, split=split, **kwargs)

    @property
    def cache_file(self) -> str:
        """Path of the processed cache of this split."""
        name = (f'modelnet{self.num_category}_{self.split}_'
                f'{self.cache_points}pts_fps.dat')
        if self.cache_dir is not None:
            return osp.join(self.cache_dir, name)
        return self.path(name)

    def _read_index(self) -> Tuple[List[str], List[int]]:
        """Read the class list and the split's shape ids.

        Returns:
            tuple[list[str], list[int]]: shape ids and their labels.
        """
        prefix = f'modelnet{self.num_category}'
        classes = read_lines(
            self.path(f'{prefix}_shape_names.txt'), 'ModelNet class list',
            self.LAYOUT)
        if 'classes' not in self._metainfo:
            self._metainfo['classes'] = tuple(classes)
        class_index = {c: i for i, c in enumerate(self._metainfo['classes'])}
        split_file = self.path(f'{prefix}_{self.split}.txt')
        shape_ids = read_lines(split_file, 'ModelNet split file', self.LAYOUT)
        labels = []
        for row, shape_id in enumerate(shape_ids, start=1):
            name = shape_id.rsplit('_', 1)[0]
            if name not in class_index:
                raise ValueError(
                    f'ModelNet split file {split_file!r}, row {row}: class '
                    f'{name!r} of {shape_id!r} is not in the class list '
                    f'{self._metainfo["classes"]}')
            labels.append(class_index[name])
        return shape_ids, labels

    def _txt_path(self, shape_id: str) -> str:
        return self.path(shape_id.rsplit('_', 1)[0], f'{shape_id}.txt')

    def _build_cache(self, shape_ids: List[str],
                     labels: List[int]) -> List[np.ndarray]:
        """Read the txt clouds, FPS them and write the cache atomically.

        Args:
            shape_ids (list[str]): shape ids of the split.
            labels (list[int]): their labels.

        Returns:
            list[np.ndarray]: the cached clouds.
        """
        print_log(
            f'building {self.cache_file} from {len(shape_ids)} txt files '
            '(first run only)',
            logger='current')
        points: List[np.ndarray] = []
        sizes: List[Tuple[str, int]] = []
        progress = ProgressReporter(
            len(shape_ids), task=f'ModelNet40 {self.split} cache')
        for start in range(0, len(shape_ids), self.fps_batch_size):
            chunk = []
            for shape_id in shape_ids[start:start + self.fps_batch_size]:
                path = self._txt_path(shape_id)
                cloud = read_point_txt(path, num_columns=6, delimiter=',')
                check_finite(cloud, f'ModelNet sample {path!r}')
                chunk.append(cloud)
                sizes.append((path, len(cloud)))
            points.extend(furthest_point_subsample(chunk, self.cache_points))
            progress.update(len(chunk))
        progress.finish()
        message = describe_short_files(sizes, self.cache_points)
        if message is not None:
            print_log(
                f'{type(self).__name__}: {message}',
                logger='current',
                level=logging.WARNING)
        cache_labels = [np.array([label], dtype=np.int32) for label in labels]
        if self.cache_dir is not None:
            os.makedirs(self.cache_dir, exist_ok=True)
        atomic_pickle_dump([points, cache_labels], self.cache_file)
        return points

    def _load_cache(self, shape_ids: List[str],
                    labels: List[int]) -> List[np.ndarray]:
        """Load and check the cache against the split file.

        Args:
            shape_ids (list[str]): shape ids of the split.
            labels (list[int]): their labels.

        Returns:
            list[np.ndarray]: the cached clouds.
        """
        path = self.cache_file
        content = load_pickle(path, 'ModelNet cache')
        if (not isinstance(content, (list, tuple)) or len(content) != 2
                or len(content[0]) != len(content[1])):
            raise ValueError(f'ModelNet cache {path!r}: expected a pickle of '
                             '[points_list, labels_list] of equal length')
        clouds, cache_labels = content
        if len(clouds) != len(shape_ids):
            raise ValueError(
                f'ModelNet cache {path!r} holds {len(clouds)} samples but the '
                f'split file lists {len(shape_ids)}; delete the cache to '
                'rebuild it')
        cache_labels = np.array(
            [int(np.asarray(label).reshape(-1)[0]) for label in cache_labels])
        check_labels(cache_labels, self.num_classes,
                     f'ModelNet cache {path!r}')
        mismatch = np.flatnonzero(cache_labels != np.asarray(labels))
        if len(mismatch):
            i = int(mismatch[0])
            raise ValueError(
                f'ModelNet cache {path!r}: sample {i} has label '
                f'{cache_labels[i]} but the split file says {labels[i]} '
                f'({shape_ids[i]}); delete the cache to rebuild it')
        for i, cloud in enumerate(clouds):
            if (not isinstance(cloud, np.ndarray) or cloud.ndim != 2
                    or cloud.shape[1] < 3 or not len(cloud)):
                shape = getattr(cloud, 'shape', type(cloud).__name__)
                raise ValueError(f'ModelNet cache {path!r}: sample {i} should '
                                 f'be an array [N, 6], got {shape}')
            check_finite(
                cloud, f'ModelNet cache {path!r}: sample {i} ({shape_ids[i]})')
        return [c.astype(np.float32, copy=False) for c in clouds]

    def load_data_list(self) -> List[dict]:
        """Load (or build) the cache of the split.

        Returns:
            list[dict]: data infos with ``cloud_index``, ``gt_label`` and
            ``shape_id``.
        """
        shape_ids, labels = self._read_index()
        if osp.isfile(self.cache_file):
            clouds = self._load_cache(shape_ids, labels)
        elif self.build_cache:
            clouds = self._build_cache(shape_ids, labels)
        else:
            self.require(self.cache_file, 'ModelNet cache (build_cache=False)')
        self._clouds = clouds
        return [
            dict(cloud_index=i, gt_label=label, shape_id=shape_id)
            for i, (shape_id, label) in enumerate(zip(shape_ids, labels))
        ]

"""ModelNet40 (resampled, with normals) for fine-tuning."""
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
from mmdet3d.registry import DATASETS

from .base_point_cloud_dataset import BasePointCloudDataset
from .converters import build_modelnet40_fps_cache, modelnet40_fps_cache_name
from .file_io import check_finite, check_labels, load_pickle, read_lines

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


@DATASETS.register_module()
class ModelNet40Dataset(BasePointCloudDataset):
    """ModelNet40 from ``modelnet40_normal_resampled`` for fine-tuning.

    Samples come from the processed cache
    ``modelnet40_<split>_<cache_points>pts_fps.dat`` that Point-BERT users
    already have; when it is missing the converter
    :func:`~.converters.build_modelnet40_fps_cache` builds it from the txt
    files. The files are laid out as in ``MODELNET40_LAYOUT``.

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
        name = modelnet40_fps_cache_name(self.num_category, self.split,
                                         self.cache_points)
        if self.cache_dir is not None:
            return osp.join(self.cache_dir, name)
        return self.path(name)

    def _read_index(self) -> Tuple[List[str], List[int]]:
        """Read the class list, then the split's shape ids and labels."""
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

    def _load_cache(self, shape_ids: List[str],
                    labels: List[int]) -> List[np.ndarray]:
        """The cached clouds, checked against the split's ids and labels."""
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
        """Load the cache of the split, built from the txt files if missing.

        Returns:
            list[dict]: data infos with ``cloud_index``, ``gt_label`` and
            ``shape_id``.
        """
        shape_ids, labels = self._read_index()
        if osp.isfile(self.cache_file):
            clouds = self._load_cache(shape_ids, labels)
        elif self.build_cache:
            clouds = build_modelnet40_fps_cache(
                [
                    self.path(s.rsplit('_', 1)[0], f'{s}.txt')
                    for s in shape_ids
                ],
                labels,
                self.cache_file,
                self.cache_points,
                batch_size=self.fps_batch_size,
                task=f'ModelNet40 {self.split} cache',
                log_name=type(self).__name__)
        else:
            self.require(self.cache_file, 'ModelNet cache (build_cache=False)')
        self._clouds = clouds
        return [
            dict(cloud_index=i, gt_label=label, shape_id=shape_id)
            for i, (shape_id, label) in enumerate(zip(shape_ids, labels))
        ]

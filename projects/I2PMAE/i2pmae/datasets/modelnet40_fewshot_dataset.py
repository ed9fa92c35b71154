"""ModelNet40 few-shot episodes (``ModelNetFewshot``)."""
from typing import List

import numpy as np
from mmdet3d.registry import DATASETS

from .base_point_cloud_dataset import BasePointCloudDataset
from .file_io import check_finite, check_labels, load_pickle

MODELNET40_FEWSHOT_LAYOUT = """\
<data_root>/                          e.g. data/ModelNetFewshot
    <way>way_<shot>shot/<fold>.pkl    way in {5, 10}, shot in {10, 20},
                                      fold in 0..9; a pickle of
                                      {'train': [(points [N, 6], label,
                                      original_label), ...], 'test': [...]}
                                      with labels in [0, way)"""


@DATASETS.register_module()
class ModelNet40FewShotDataset(BasePointCloudDataset):
    """One fold of a ModelNet40 N-way K-shot task, in memory.

    Each pickle holds ``{'train': [...], 'test': [...]}`` lists of
    ``(points, label, original_label)`` tuples; ``label`` lies in
    ``[0, way)`` and ``original_label`` is the ModelNet40 class. The classes
    of the episode are named ``way0 ... way<N-1>``. The files are laid out
    as in ``MODELNET40_FEWSHOT_LAYOUT``.

    Args:
        data_root (str): the ``ModelNetFewshot`` folder.
        way (int): number of classes of the episode (5 or 10 officially).
        shot (int): training samples per class (10 or 20 officially).
        fold (int): episode index (0..9 officially).
        split (str): ``'train'`` or ``'test'``.
        **kwargs: see :class:`BasePointCloudDataset`.
    """

    LAYOUT = MODELNET40_FEWSHOT_LAYOUT

    def __init__(self,
                 data_root: str,
                 way: int = 5,
                 shot: int = 10,
                 fold: int = 0,
                 split: str = 'train',
                 **kwargs) -> None:
        for name, value in (('way', way), ('shot', shot)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f'{name} must be a positive int, got '
                                 f'{value!r}')
        if not isinstance(fold, int) or fold < 0:
            raise ValueError(f'fold must be a non-negative int, got {fold!r}')
        self.way, self.shot, self.fold = way, shot, fold
        super().__init__(data_root=data_root, split=split, **kwargs)

    @property
    def episode_file(self) -> str:
        """The pickle of this way / shot / fold."""
        return self.path(f'{self.way}way_{self.shot}shot', f'{self.fold}.pkl')

    def load_data_list(self) -> List[dict]:
        """Read the episode's pickle.

        Returns:
            list[dict]: data infos with ``cloud_index``, ``gt_label`` and
            ``original_label``.
        """
        if 'classes' not in self._metainfo:
            self._metainfo['classes'] = tuple(f'way{i}'
                                              for i in range(self.way))
        path = self.require(self.episode_file, 'few-shot episode file')
        episode = load_pickle(path, 'few-shot episode file')
        if not isinstance(episode, dict) or self.split not in episode:
            keys = list(episode) if isinstance(episode, dict) else None
            raise ValueError(f'few-shot episode file {path!r}: expected a '
                             f"dict with a {self.split!r} list, got keys "
                             f'{keys} of {type(episode).__name__}')
        clouds, labels, data_list = [], [], []
        for i, item in enumerate(episode[self.split]):
            if not isinstance(item, (tuple, list)) or len(item) < 2:
                raise ValueError(
                    f'few-shot episode file {path!r}: {self.split} sample {i} '
                    'should be a (points, label, original_label) tuple')
            points = np.asarray(item[0])
            if points.ndim != 2 or points.shape[1] < 3 or not len(points):
                raise ValueError(
                    f'few-shot episode file {path!r}: {self.split} sample {i} '
                    f'should be an array [N, 6], got {points.shape}')
            check_finite(
                points, f'few-shot episode file {path!r}: '
                f'{self.split} sample {i}')
            label = int(np.asarray(item[1]).reshape(-1)[0])
            original = (
                int(np.asarray(item[2]).reshape(-1)[0])
                if len(item) > 2 else -1)
            clouds.append(points.astype(np.float32, copy=False))
            labels.append(label)
            data_list.append(
                dict(cloud_index=i, gt_label=label, original_label=original))
        if not data_list:
            raise ValueError(f'few-shot episode file {path!r}: the '
                             f'{self.split!r} list is empty')
        check_labels(
            np.array(labels), self.num_classes,
            f'few-shot episode file {path!r} ({self.split})')
        self._clouds = clouds
        return data_list

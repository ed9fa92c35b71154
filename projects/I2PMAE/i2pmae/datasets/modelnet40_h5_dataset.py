"""ModelNet40 in the ``modelnet40_ply_hdf5_2048`` format (linear SVM)."""
import glob
import os.path as osp
from typing import List, Optional

import numpy as np
from mmdet3d.registry import DATASETS

from .base_point_cloud_dataset import BasePointCloudDataset
from .class_names import MODELNET40_CLASSES
from .file_io import check_labels, read_h5_clouds, read_lines
from .point_sampling import WarnOnce, indices_with_replacement

MODELNET40_H5_LAYOUT = """\
<data_root>/                          e.g. data/modelnet40_ply_hdf5_2048
    ply_data_train0.h5 ...            'data' float [n, 2048, 3],
    ply_data_test0.h5 ...             'label' int [n, 1]
    shape_names.txt                   optional class list (default: the 40
                                      ModelNet40 classes)"""


@DATASETS.register_module()
class ModelNet40H5Dataset(BasePointCloudDataset):
    """ModelNet40 clouds from the ``ply_data_{split}*.h5`` files.

    All files of the split (sorted by name) are loaded into memory. As in
    the official linear-SVM protocol, ``num_points`` keeps the first points
    of each cloud (no random sampling); clouds with fewer points are
    resampled with replacement, with one warning per dataset. The files
    are laid out as in ``MODELNET40_H5_LAYOUT``.

    Args:
        data_root (str): the ``modelnet40_ply_hdf5_2048`` folder.
        split (str): ``'train'`` or ``'test'``.
        num_points (int, optional): keep the first ``num_points`` points
            (1024 in the official SVM protocol); None keeps all.
        **kwargs: see :class:`BasePointCloudDataset`.
    """

    LAYOUT = MODELNET40_H5_LAYOUT

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 num_points: Optional[int] = None,
                 **kwargs) -> None:
        if num_points is not None and num_points <= 0:
            raise ValueError(f'num_points must be positive, got {num_points}')
        self.num_points = num_points
        self._warn = WarnOnce(type(self).__name__)
        super().__init__(data_root=data_root, split=split, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read every h5 file of the split.

        Returns:
            list[dict]: data infos with ``cloud_index``, ``gt_label`` and
            ``h5_file``.
        """
        if 'classes' not in self._metainfo:
            names_file = self.path('shape_names.txt')
            self._metainfo['classes'] = tuple(
                read_lines(names_file, 'ModelNet40 h5 class list', self.LAYOUT
                           ) if osp.isfile(names_file) else MODELNET40_CLASSES)
        pattern = self.path(f'ply_data_{self.split}*.h5')
        files = sorted(glob.glob(pattern))
        if not files:
            self.require(pattern, f'ModelNet40 h5 {self.split} files')
        clouds, data_list = [], []
        for path in files:
            data, label = read_h5_clouds(path, '[n, 1]')
            check_labels(label, self.num_classes, f'HDF5 file {path!r}')
            for i in range(len(data)):
                data_list.append(
                    dict(
                        cloud_index=len(clouds) + i,
                        gt_label=int(label[i]),
                        h5_file=osp.basename(path),
                        h5_index=i))
            clouds.extend(self._trim(data))
        self._clouds = clouds
        return data_list

    def _trim(self, data: np.ndarray) -> List[np.ndarray]:
        """Keep the first ``num_points`` points of each ``[N, C]`` cloud."""
        if self.num_points is None:
            return list(data)
        if data.shape[1] >= self.num_points:
            return list(data[:, :self.num_points])
        self._warn(f'clouds have {data.shape[1]} points, fewer than the '
                   f'{self.num_points} requested; resampling with replacement')
        return [
            cloud[indices_with_replacement(len(cloud), self.num_points)]
            for cloud in data
        ]

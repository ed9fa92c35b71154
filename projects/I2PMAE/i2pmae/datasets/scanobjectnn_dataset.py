"""ScanObjectNN (OBJ-BG, OBJ-ONLY and PB-T50-RS splits)."""
import os.path as osp
from typing import List

import numpy as np
from mmdet3d.registry import DATASETS

from .base_point_cloud_dataset import BasePointCloudDataset
from .class_names import SCANOBJECTNN_CLASSES
from .file_io import check_labels, read_h5_clouds

SCANOBJECTNN_LAYOUT = """\
<data_root>/                          e.g. data/ScanObjectNN
    main_split/                       with background
        training_objectdataset.h5                       OBJ-BG
        test_objectdataset.h5
        training_objectdataset_augmentedrot_scale75.h5  PB-T50-RS
        test_objectdataset_augmentedrot_scale75.h5
    main_split_nobg/                  without background
        training_objectdataset.h5                       OBJ-ONLY
        test_objectdataset.h5
each file: 'data' float [n, 2048, 3], 'label' int [n] (15 classes)"""

#: variant -> (sub-folder, file suffix)
SCANOBJECTNN_VARIANTS = {
    'obj_bg': ('main_split', '_objectdataset.h5'),
    'obj_only': ('main_split_nobg', '_objectdataset.h5'),
    'pb_t50_rs': ('main_split', '_objectdataset_augmentedrot_scale75.h5'),
}


@DATASETS.register_module()
class ScanObjectNNDataset(BasePointCloudDataset):
    """ScanObjectNN object clouds (2048 points, 15 classes), in memory.

    The files are laid out as in ``SCANOBJECTNN_LAYOUT``.

    Args:
        data_root (str): the ``ScanObjectNN`` folder.
        variant (str): ``'obj_bg'``, ``'obj_only'`` or ``'pb_t50_rs'``.
        split (str): ``'train'`` or ``'test'``.
        **kwargs: see :class:`BasePointCloudDataset`.
    """

    LAYOUT = SCANOBJECTNN_LAYOUT
    METAINFO = dict(classes=SCANOBJECTNN_CLASSES)

    def __init__(self,
                 data_root: str,
                 variant: str = 'obj_bg',
                 split: str = 'train',
                 **kwargs) -> None:
        if variant not in SCANOBJECTNN_VARIANTS:
            raise ValueError(
                f'variant must be one of '
                f'{tuple(SCANOBJECTNN_VARIANTS)}, got {variant!r}')
        self.variant = variant
        super().__init__(data_root=data_root, split=split, **kwargs)

    @property
    def h5_file(self) -> str:
        """The h5 file of this variant and split."""
        folder, suffix = SCANOBJECTNN_VARIANTS[self.variant]
        prefix = 'training' if self.split == 'train' else 'test'
        return self.path(folder, prefix + suffix)

    def load_data_list(self) -> List[dict]:
        """Read the split's h5 file.

        Returns:
            list[dict]: data infos with ``cloud_index`` and ``gt_label``.
        """
        path = self.require(self.h5_file,
                            f'ScanObjectNN {self.variant} {self.split} file')
        data, label = read_h5_clouds(path, '[n]')
        label = label.astype(np.int64)
        check_labels(label, self.num_classes, f'HDF5 file {path!r}')
        self._clouds = data
        name = osp.basename(path)
        return [
            dict(cloud_index=i, gt_label=int(label[i]), h5_file=name)
            for i in range(len(data))
        ]

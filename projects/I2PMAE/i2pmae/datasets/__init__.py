"""Datasets of the I2P-MAE plugin (registered in mmdet3d's ``DATASETS``).

Users download the public datasets themselves and point a config's
``data_root`` at the folder; nothing here downloads anything.
The ``synthetic`` package (``projects.I2PMAE.i2pmae.synthetic``) writes small
datasets in the same layouts.
"""
from .base_point_cloud_dataset import BasePointCloudDataset
from .class_names import (MODELNET40_CLASSES, SCANOBJECTNN_CLASSES,
                          SHAPENETPART_SEG_CLASSES)
from .modelnet40_dataset import ModelNet40Dataset
from .modelnet40_fewshot_dataset import ModelNet40FewShotDataset
from .modelnet40_h5_dataset import ModelNet40H5Dataset
from .scanobjectnn_dataset import ScanObjectNNDataset
from .shapenet55_dataset import ShapeNet55Dataset
from .shapenet_part_dataset import ShapeNetPartDataset
from .stratified_holdout_dataset import StratifiedHoldoutDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'BasePointCloudDataset', 'ShapeNet55Dataset', 'ModelNet40Dataset',
    'ModelNet40H5Dataset', 'ScanObjectNNDataset', 'ModelNet40FewShotDataset',
    'ShapeNetPartDataset', 'MODELNET40_CLASSES', 'SCANOBJECTNN_CLASSES',
    'SHAPENETPART_SEG_CLASSES', 'StratifiedHoldoutDataset'
]

"""Packing of a transformed sample into model inputs and a data sample."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import PointData
from mmpretrain.structures import DataSample

#: data-info keys copied into the data sample's metainfo when present
DEFAULT_META_KEYS = ('sample_idx', 'num_points', 'category_id', 'category',
                     'taxonomy_id', 'model_id', 'shape_id', 'token',
                     'points_path', 'h5_file', 'h5_index', 'original_label')


@TRANSFORMS.register_module()
class PackPointCloudInputs(BaseTransform):
    """Pack a point cloud and its labels for the data preprocessor / model.

    Contract (what every model of this package consumes)::

        dict(
            inputs=dict(points=FloatTensor[N, C]),  # C: 3, or 6 with normals
            data_samples=DataSample(
                gt_label=LongTensor[1],  # class id (part seg.: category id)
                gt_pts_seg=PointData(  # part segmentation only
                    pts_semantic_mask=LongTensor[N]),  # global part ids
                metainfo=dict(sample_idx=..., num_points=..., ...)))

    The data sample is mmpretrain's ``DataSample`` so that classifiers can
    call ``set_pred_score`` / ``set_pred_label`` on it and mmpretrain's
    ``Accuracy`` can read it; the part labels use mmdet3d's convention
    (``gt_pts_seg``, a ``PointData``). ``metainfo`` holds the ``meta_keys``.

    ``default_collate`` (the configs of this package) stacks a batch into
    ``inputs['points']`` ``[B, N, C]`` and a list of B data samples;
    ``pseudo_collate`` gives a list of B ``[N, C]`` tensors.

    Required keys: ``points``. Optional keys: ``gt_label``,
    ``pts_semantic_mask`` and the ``meta_keys``.

    Args:
        meta_keys (Sequence[str]): data-info keys copied into the data
            sample's metainfo when present.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack ``results``.

        Args:
            results (dict): transformed sample with ``points`` ``[N, C]``.

        Returns:
            dict: ``dict(inputs=dict(points=...), data_samples=...)``.
        """
        points = results['points']
        if not isinstance(points, np.ndarray) or points.ndim != 2 or \
                points.shape[1] not in (3, 6):
            shape = getattr(points, 'shape', type(points).__name__)
            raise ValueError('results["points"] must be an array [N, 3] or '
                             f'[N, 6], got {shape}')
        data_sample = DataSample()
        if 'gt_label' in results:
            data_sample.set_gt_label(int(results['gt_label']))
        if 'pts_semantic_mask' in results:
            mask = np.asarray(results['pts_semantic_mask'])
            if mask.shape != (len(points), ):
                raise ValueError(
                    'results["pts_semantic_mask"] must have shape '
                    f'[{len(points)}] (one label per point), got {mask.shape}')
            data_sample.gt_pts_seg = PointData(
                pts_semantic_mask=torch.from_numpy(mask.astype(np.int64)))
        data_sample.set_metainfo(
            {key: results[key]
             for key in self.meta_keys if key in results})
        inputs = dict(
            points=torch.from_numpy(
                np.ascontiguousarray(points, dtype=np.float32)))
        return dict(inputs=inputs, data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'

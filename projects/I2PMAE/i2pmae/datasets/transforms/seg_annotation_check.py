"""One clear error for point-segmentation annotations that do not fit."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CheckPointSegAnnotations(BaseTransform):
    """Check a scene's point masks against its points and class ids.

    Placed right after mmdet3d's ``LoadAnnotations3D`` it changes nothing;
    it raises one ``ValueError`` naming the files when

    * the semantic (or instance) mask does not hold one label per point
      (mmdet3d's ``IndoorPatchPointSample`` would index one with the
      other, and ``SegMetric`` compare them, with a numpy indexing error
      or silently wrong pairs);
    * a semantic label is outside the dataset's class ids, i.e. outside
      ``seg_label_mapping`` (``PointSegClassMapping`` would fail with a
      numpy index error, and ``SegMetric`` drop the point silently), or,
      without a mapping in the results, outside ``[0, num_classes)`` and
      not ``ignore_index``.

    Required keys: ``points``, ``pts_semantic_mask``; read when present:
    ``pts_instance_mask``, ``seg_label_mapping``, ``lidar_path``,
    ``pts_semantic_mask_path``, ``pts_instance_mask_path``.

    Args:
        num_classes (int, optional): classes of labels that are not mapped
            (no ``seg_label_mapping`` in the results). Defaults to None:
            such labels are not range-checked.
        ignore_index (int, optional): the label of unannotated points
            allowed besides ``[0, num_classes)``. Defaults to None.
    """

    def __init__(self,
                 num_classes: Optional[int] = None,
                 ignore_index: Optional[int] = None) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    @staticmethod
    def _files(results: dict, mask_key: str) -> str:
        """The point and mask files of a scene, as errors name them."""
        return (f'{results.get(mask_key + "_path", mask_key)} (points '
                f'{results.get("lidar_path", "?")})')

    def transform(self, results: dict) -> dict:
        """Check the masks of ``results``.

        Args:
            results (dict): the loading transforms' results.

        Returns:
            dict: ``results`` unchanged.

        Raises:
            ValueError: a mask without one label per point, or a semantic
            label outside the class ids.
        """
        num_points = len(results['points'])
        for key in ('pts_semantic_mask', 'pts_instance_mask'):
            mask = results.get(key)
            if mask is not None and np.shape(mask) != (num_points, ):
                raise ValueError(
                    f'{self._files(results, key)} has {np.shape(mask)} '
                    f'labels for {num_points} points: a point mask needs one '
                    'label per point')
        mask = np.asarray(results['pts_semantic_mask'])
        mapping = results.get('seg_label_mapping')
        if mapping is not None:
            bad = (mask < 0) | (mask >= len(mapping))
            allowed = f'the dataset\'s class ids [0, {len(mapping)})'
        elif self.num_classes is not None:
            bad = (mask < 0) | (mask >= self.num_classes)
            if self.ignore_index is not None:
                bad &= mask != self.ignore_index
            allowed = (f'the classes [0, {self.num_classes}) and '
                       f'ignore_index {self.ignore_index}')
        else:
            return results
        if bad.any():
            raise ValueError(
                f'{self._files(results, "pts_semantic_mask")}: semantic '
                f'label {int(mask[bad][0])} (of {int(bad.sum())} points) is '
                f'outside {allowed}')
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')

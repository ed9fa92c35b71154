"""Unit-sphere normalisation of point coordinates."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PointCloudNormalize(BaseTransform):
    """Centre the cloud on its centroid and scale it into the unit sphere.

    Only the xyz columns change; after the transform the furthest point lies
    at distance 1 from the origin (a cloud of identical points stays at the
    origin).

    Required keys: ``points``. Modified keys: ``points``.
    """

    def transform(self, results: dict) -> dict:
        """Normalise ``results['points']``.

        Args:
            results (dict): results with ``points`` ``[N, C]``.

        Returns:
            dict: the results with normalised coordinates.
        """
        points = results['points']
        xyz = points[:, :3] - points[:, :3].mean(axis=0)
        radius = np.sqrt((xyz**2).sum(axis=1)).max()
        if radius > 0:
            xyz = xyz / radius
        points = points.copy()
        points[:, :3] = xyz
        results['points'] = points
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'

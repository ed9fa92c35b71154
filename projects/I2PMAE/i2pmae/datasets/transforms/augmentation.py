"""Random geometric augmentations of point clouds (numpy's global RNG)."""
from typing import Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS

_AXES = {'x': 0, 'y': 1, 'z': 2}


@TRANSFORMS.register_module()
class PointCloudScaleAndTranslate(BaseTransform):
    """Scale each axis and translate the cloud by random amounts.

    xyz becomes ``xyz * s + t`` with ``s ~ U(scale_low, scale_high)`` and
    ``t ~ U(-translate_range, translate_range)`` drawn per axis (official
    classification: 2/3..3/2 and 0.2); ``isotropic=True`` shares one scale
    (ShapeNetPart: 0.8..1.25 and 0.1). Normals stay unchanged, as in the
    official code.

    Required keys: ``points``. Modified keys: ``points``.

    Args:
        scale_low (float): lower scale bound. Defaults to 2/3.
        scale_high (float): upper scale bound. Defaults to 3/2.
        translate_range (float): translation bound. Defaults to 0.2.
        isotropic (bool): one scale for all axes. Defaults to False.
    """

    def __init__(self,
                 scale_low: float = 2. / 3.,
                 scale_high: float = 3. / 2.,
                 translate_range: float = 0.2,
                 isotropic: bool = False) -> None:
        if not 0 < scale_low <= scale_high:
            raise ValueError('need 0 < scale_low <= scale_high, got '
                             f'{scale_low} and {scale_high}')
        if translate_range < 0:
            raise ValueError(f'translate_range must be >= 0, got '
                             f'{translate_range}')
        self.scale_low = scale_low
        self.scale_high = scale_high
        self.translate_range = translate_range
        self.isotropic = isotropic

    def transform(self, results: dict) -> dict:
        """Scale and translate ``results['points']``.

        Args:
            results (dict): results with ``points`` ``[N, C]``.

        Returns:
            dict: the augmented results.
        """
        scale = np.random.uniform(
            self.scale_low, self.scale_high, size=1 if self.isotropic else 3)
        shift = np.random.uniform(
            -self.translate_range, self.translate_range, size=3)
        points = results['points'].copy()
        points[:, :3] = points[:, :3] * scale + shift
        results['points'] = points.astype(np.float32, copy=False)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale_low={self.scale_low}, '
                f'scale_high={self.scale_high}, '
                f'translate_range={self.translate_range}, '
                f'isotropic={self.isotropic})')


@TRANSFORMS.register_module()
class PointCloudRandomRotate(BaseTransform):
    """Rotate the cloud about one axis by a random angle.

    The angle is drawn from ``U(-angle_range, angle_range)`` (radians); the
    default, a full turn about the up axis ``y``, is the official
    ScanObjectNN fine-tuning augmentation. Normals rotate with the points.

    Required keys: ``points``. Modified keys: ``points``.

    Args:
        axis (str | int): ``'x'``, ``'y'``, ``'z'`` or 0/1/2. Defaults to
            ``'y'``.
        angle_range (float): largest absolute angle in radians. Defaults to
            pi.
    """

    def __init__(self,
                 axis: Union[str, int] = 'y',
                 angle_range: float = np.pi) -> None:
        if isinstance(axis, str):
            if axis.lower() not in _AXES:
                raise ValueError(f"axis must be 'x', 'y' or 'z', got {axis!r}")
            axis = _AXES[axis.lower()]
        if axis not in (0, 1, 2):
            raise ValueError(f'axis must be 0, 1 or 2, got {axis!r}')
        if angle_range < 0:
            raise ValueError(f'angle_range must be >= 0, got {angle_range}')
        self.axis = axis
        self.angle_range = float(angle_range)

    def rotation_matrix(self, angle: float) -> np.ndarray:
        """The 3x3 matrix rotating by ``angle`` about ``self.axis``.

        Args:
            angle (float): angle in radians (right-handed).

        Returns:
            np.ndarray: ``[3, 3]`` float32 rotation.
        """
        cos, sin = np.cos(angle), np.sin(angle)
        i, j = [a for a in range(3) if a != self.axis]
        if self.axis == 1:  # keep the right-handed orientation z -> x
            i, j = j, i
        rot = np.eye(3)
        rot[i, i], rot[i, j], rot[j, i], rot[j, j] = cos, -sin, sin, cos
        return rot.astype(np.float32)

    def transform(self, results: dict) -> dict:
        """Rotate ``results['points']`` (and its normals).

        Args:
            results (dict): results with ``points`` ``[N, C]``.

        Returns:
            dict: the rotated results.
        """
        angle = np.random.uniform(-self.angle_range, self.angle_range)
        rot = self.rotation_matrix(angle)
        points = results['points'].copy()
        points[:, :3] = points[:, :3] @ rot.T
        if points.shape[1] >= 6:
            points[:, 3:6] = points[:, 3:6] @ rot.T
        results['points'] = points
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(axis={self.axis}, '
                f'angle_range={self.angle_range})')


@TRANSFORMS.register_module()
class PointCloudJitter(BaseTransform):
    """Add clipped Gaussian noise to every point's coordinates.

    Required keys: ``points``. Modified keys: ``points``.

    Args:
        std (float): noise standard deviation. Defaults to 0.01.
        clip (float): noise is clipped to ``[-clip, clip]``. Defaults to
            0.05.
    """

    def __init__(self, std: float = 0.01, clip: float = 0.05) -> None:
        if std < 0 or clip < 0:
            raise ValueError(f'std and clip must be >= 0, got {std}, {clip}')
        self.std = std
        self.clip = clip

    def transform(self, results: dict) -> dict:
        """Jitter ``results['points']``.

        Args:
            results (dict): results with ``points`` ``[N, C]``.

        Returns:
            dict: the jittered results.
        """
        points = results['points'].copy()
        noise = np.clip(
            np.random.normal(0.0, self.std, size=(len(points), 3)), -self.clip,
            self.clip)
        points[:, :3] += noise.astype(points.dtype)
        results['points'] = points
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(std={self.std}, clip={self.clip})'

"""Point operators: mmcv CUDA kernels on CUDA tensors, vectorised torch on CPU.

Every operator validates its input (one ``ValueError`` naming the argument
and the expected shape) and returns the same layout and dtype on both
devices: channels last, int64 indices, squared distances. The checks of
values (finite coordinates, index ranges) synchronise with a CUDA device;
callers whose inputs are already checked pass ``check_values=False``.
"""
from .furthest_point_sample import furthest_point_sample
from .gather_points import gather_points
from .knn import knn
from .three_interpolate import three_interpolate, three_nn_interpolate
from .three_nn import three_nn

__all__ = [
    'furthest_point_sample', 'knn', 'gather_points', 'three_nn',
    'three_interpolate', 'three_nn_interpolate'
]

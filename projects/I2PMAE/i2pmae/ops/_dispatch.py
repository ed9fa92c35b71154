"""Choice between mmcv's CUDA kernels and the pure torch implementations.

The operators call :func:`use_mmcv_kernels` and :func:`mmcv_op` through this
module (``_dispatch.use_mmcv_kernels(...)``), so tests can monkeypatch
either one: the predicate to force the CUDA branch, and the entries of
:data:`MMCV_OPS` to substitute the kernels.
"""
from typing import Callable, Dict

from torch import Tensor

#: Names of the mmcv operators used by this package.
MMCV_OP_NAMES = ('furthest_point_sample', 'knn', 'gather_points', 'three_nn',
                 'three_interpolate')

#: Loaded mmcv callables, filled lazily by :func:`mmcv_op`.
MMCV_OPS: Dict[str, Callable] = {}


def use_mmcv_kernels(*tensors: Tensor) -> bool:
    """Whether the mmcv CUDA kernels should handle these tensors.

    Args:
        *tensors (Tensor): the inputs of one operator call.

    Returns:
        bool: True when every tensor lives on a CUDA device.
    """
    return all(t.is_cuda for t in tensors)


def mmcv_op(name: str) -> Callable:
    """The mmcv operator called ``name`` (imported on first use).

    Args:
        name (str): one of :data:`MMCV_OP_NAMES`.

    Returns:
        Callable: ``mmcv.ops.<name>``.
    """
    if name not in MMCV_OP_NAMES:
        raise ValueError(f'name must be one of {MMCV_OP_NAMES}, got {name!r}')
    if name not in MMCV_OPS:
        import mmcv.ops
        MMCV_OPS[name] = getattr(mmcv.ops, name)
    return MMCV_OPS[name]

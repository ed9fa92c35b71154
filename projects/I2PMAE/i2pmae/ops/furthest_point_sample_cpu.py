"""Furthest point sampling on the CPU: a loop compiled by numba.

The torch implementation of :func:`~.furthest_point_sample` issues about ten
small tensor operations per sampled point; at the sizes of a data pipeline
(2048 points, hundreds of samples) their dispatch costs more than the
arithmetic. This kernel runs the same arithmetic per point in one compiled
loop: each squared distance is ``dx*dx + dy*dy + dz*dz`` summed in that
order, in the input's precision, and the first maximum wins, so it returns
exactly the torch loop's indices (tested on clouds with ties and
duplicates). numba ships with MMDetection3D, so it adds no dependency; it
compiles once per process and dtype (about a second).
"""
import functools
from typing import Callable

import numpy as np
import torch
from torch import Tensor

#: The CPU implementation :func:`~.furthest_point_sample` uses: ``'numba'``
#: (this module) or ``'torch'`` (the vectorised loop). Changed only to
#: compare the two (``tools/benchmark.py data --cpu-fps torch``); DataLoader
#: workers forked after the change inherit it.
CPU_BACKEND = 'numba'
#: dtypes the compiled kernel takes; others use the torch loop
KERNEL_DTYPES = (torch.float32, torch.float64)


def set_cpu_backend(name: str) -> None:
    """Choose the CPU implementation of furthest point sampling.

    Args:
        name (str): ``'numba'`` or ``'torch'``.
    """
    global CPU_BACKEND
    if name not in ('numba', 'torch'):
        raise ValueError(
            f"CPU furthest point sampling backend must be 'numba' or "
            f"'torch', got {name!r}")
    CPU_BACKEND = name


def use_compiled_kernel(points: Tensor) -> bool:
    """Whether :func:`furthest_point_sample_cpu` handles ``points``."""
    return (CPU_BACKEND == 'numba' and points.device.type == 'cpu'
            and points.dtype in KERNEL_DTYPES)


@functools.lru_cache(maxsize=None)
def _kernel() -> Callable:
    """The compiled loop (numba is imported and the loop built on first
    use, so importing the package stays fast)."""
    import numba

    @numba.njit(nogil=True, cache=False)
    def fps(points: np.ndarray, num_samples: int, out: np.ndarray) -> None:
        batch_size, num_points, _ = points.shape
        min_dist = np.empty(num_points, dtype=points.dtype)
        for b in range(batch_size):
            min_dist[:] = np.inf
            out[b, 0] = 0
            last = 0
            for i in range(1, num_samples):
                cx = points[b, last, 0]
                cy = points[b, last, 1]
                cz = points[b, last, 2]
                best = -np.inf
                best_idx = 0
                for j in range(num_points):
                    diff = points[b, j, 0] - cx
                    dist = diff * diff
                    diff = points[b, j, 1] - cy
                    dist = dist + diff * diff
                    diff = points[b, j, 2] - cz
                    dist = dist + diff * diff
                    if dist < min_dist[j]:
                        min_dist[j] = dist
                    if min_dist[j] > best:  # strict: the first maximum wins
                        best = min_dist[j]
                        best_idx = j
                last = best_idx
                out[b, i] = last

    return fps


def furthest_point_sample_cpu(points: Tensor, num_samples: int) -> Tensor:
    """Furthest point sampling of checked CPU clouds by the compiled loop.

    Args:
        points (Tensor): ``[B, N, 3]`` finite float32 or float64 CPU
            coordinates (see :func:`use_compiled_kernel`).
        num_samples (int): number of samples S, ``1 <= S <= N``.

    Returns:
        Tensor: ``[B, S]`` int64 indices, the first point first.
    """
    array = points.detach().contiguous().numpy()
    out = np.empty((array.shape[0], num_samples), dtype=np.int64)
    _kernel()(array, num_samples, out)
    return torch.from_numpy(out)

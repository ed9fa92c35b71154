"""Input validation shared by the point operators.

Every check raises a single :class:`ValueError` whose message names the
offending argument and the expected shape or range. Point clouds are checked
by :func:`~..utils.point_cloud_check.check_point_cloud`. Only the checks of
values (finite coordinates, index ranges) read tensor data, a device-to-host
synchronisation on CUDA; they run with ``check_values=True``, the default of
every public operator, and internal callers that pass tensors derived from
checked inputs turn them off.
"""
from typing import Any

import torch
from torch import Tensor


def check_tensor(name: str, value: Any, expected: str) -> Tensor:
    """Make sure ``value`` is a tensor.

    Args:
        name (str): argument name used in the error message.
        value (Any): the argument.
        expected (str): the expected shape, e.g. ``'[B, N, 3]'``.

    Returns:
        Tensor: ``value`` unchanged.
    """
    if not isinstance(value, Tensor):
        raise ValueError(f'{name} must be a torch.Tensor of shape '
                         f'{expected}, got {type(value).__name__}')
    return value


def check_features(name: str, features: Any) -> Tensor:
    """Check a ``[B, N, C]`` tensor (any C, any dtype).

    Args:
        name (str): argument name used in the error message.
        features (Any): the argument.

    Returns:
        Tensor: ``features`` unchanged.
    """
    check_tensor(name, features, '[B, N, C]')
    if features.dim() != 3:
        raise ValueError(f'{name} must have shape [B, N, C], got '
                         f'{list(features.shape)}')
    return features


def check_count(name: str, value: Any, upper: int, upper_name: str) -> int:
    """Check an integer count in ``[1, upper]``.

    Args:
        name (str): argument name used in the error message.
        value (Any): the argument.
        upper (int): the largest allowed value.
        upper_name (str): what ``upper`` is, e.g. ``'N (number of points)'``.

    Returns:
        int: ``value`` as a Python int.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f'{name} must be an int in [1, {upper_name}='
                         f'{upper}], got {value!r}')
    if value < 1 or value > upper:
        raise ValueError(f'{name} must be in [1, {upper_name}={upper}], '
                         f'got {value}')
    return value


def check_same_batch(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    """Check that two tensors share batch size and device.

    Args:
        name_a (str): name of the first argument.
        a (Tensor): first argument, batch first.
        name_b (str): name of the second argument.
        b (Tensor): second argument, batch first.
    """
    if a.shape[0] != b.shape[0]:
        raise ValueError(f'{name_a} and {name_b} must have the same batch '
                         f'size, got {a.shape[0]} and {b.shape[0]}')
    if a.device != b.device:
        raise ValueError(f'{name_a} and {name_b} must be on the same device, '
                         f'got {a.device} and {b.device}')


def check_index(name: str,
                idx: Any,
                size: int,
                size_name: str,
                check_values: bool = True) -> Tensor:
    """Check an integer index tensor ``[B, ...]`` with values in ``[0, size)``.

    Args:
        name (str): argument name used in the error message.
        idx (Any): the argument.
        size (int): number of indexable entries.
        size_name (str): what ``size`` is, e.g. ``'N'``.
        check_values (bool): also check the value range (a device-to-host
            synchronisation on CUDA). Defaults to True.

    Returns:
        Tensor: ``idx`` unchanged.
    """
    check_tensor(name, idx, '[B, ...]')
    if idx.dim() < 1:
        raise ValueError(f'{name} must have shape [B, ...], got a scalar')
    if idx.dtype.is_floating_point or idx.dtype.is_complex \
            or idx.dtype == torch.bool:
        raise ValueError(f'{name} must be an integer tensor, got dtype '
                         f'{idx.dtype}')
    if check_values and idx.numel() > 0:
        low, high = int(idx.min()), int(idx.max())
        if low < 0 or high >= size:
            raise ValueError(f'{name} values must be in [0, {size_name}='
                             f'{size}), got values in [{low}, {high}]')
    return idx

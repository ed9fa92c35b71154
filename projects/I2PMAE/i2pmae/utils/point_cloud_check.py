"""The one validator of point-cloud tensors.

Shape and dtype live on the host and cost nothing to check. Checking the
values (every coordinate finite) reads the tensor: on CUDA that is a
device-to-host synchronisation, so it runs where data enters (the data
preprocessor, or a public function called with a raw tensor) and is
skipped, with ``check_values=False``, on tensors that come from a checked
input (see the input-validation note in the project README).
"""
from typing import Any, Optional

import torch
from torch import Tensor


def check_point_cloud(points: Any,
                      name: str = 'points',
                      channels: Optional[int] = 3,
                      check_values: bool = True) -> Tensor:
    """Raise one clear ``ValueError`` unless ``points`` is a floating-point
    ``[B, N, C]`` tensor (of finite values with ``check_values``).

    Args:
        points (Any): the argument.
        name (str): the argument name used in the messages.
            Defaults to ``'points'``.
        channels (int, optional): the required ``C``; None accepts any
            ``C >= 3`` (coordinates first, then other features).
            Defaults to 3.
        check_values (bool): also check that every value is finite, naming
            the batch items that are not (a device-to-host synchronisation
            on CUDA). Defaults to True.

    Returns:
        Tensor: ``points`` unchanged.
    """
    expected = '[B, N, C] with C >= 3' if channels is None else (
        f'[B, N, {channels}]')
    if not isinstance(points, Tensor):
        raise ValueError(f'{name} must be a Tensor of shape {expected}, got '
                         f'{type(points).__name__}')
    num_channels = points.shape[-1] if points.dim() else 0
    if points.dim() != 3 or (num_channels < 3 if channels is None else
                             num_channels != channels):
        raise ValueError(f'{name} must have shape {expected}, got '
                         f'{list(points.shape)}')
    if not points.is_floating_point():
        raise ValueError(f'{name} must be a floating-point tensor of shape '
                         f'{expected}, got dtype {points.dtype}')
    if check_values:
        finite = torch.isfinite(points).flatten(1).all(dim=1)
        if not bool(finite.all()):
            bad = (~finite).nonzero().flatten().tolist()
            raise ValueError(f'{name} contains NaN or infinite values (batch '
                             f'items {bad}); every value must be finite')
    return points

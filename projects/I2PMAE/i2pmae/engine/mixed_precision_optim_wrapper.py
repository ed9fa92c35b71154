"""Mixed-precision training on CUDA and on CPU.

mmengine's ``AmpOptimWrapper`` refuses to run without an accelerator; CPUs
with AMX or AVX512-BF16 run bfloat16 matmuls several times faster than
float32, so the same switch (``tools/train.py --amp``) is useful there.
"""
import logging
from contextlib import contextmanager
from typing import Optional, Union

import torch
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn

from ..utils.half_precision import cpu_has_fast_bfloat16

#: ``dtype`` argument -> autocast dtype per device type.
DTYPES = {
    'auto': dict(cuda=torch.float16, cpu=torch.bfloat16),
    'fp16': dict(cuda=torch.float16, cpu=torch.float16),
    'bf16': dict(cuda=torch.bfloat16, cpu=torch.bfloat16),
}


@OPTIM_WRAPPERS.register_module()
class MixedPrecisionOptimWrapper(OptimWrapper):
    """Autocast forward passes, loss scaling for float16, on any device.

    The forward of ``train_step`` runs under ``torch.autocast`` of the
    parameters' device type; components that must stay in float32 (point
    sampling, neighbour search, losses) turn autocast off themselves.
    float16 scales the loss (``torch.amp.GradScaler``, state saved in the
    checkpoint); bfloat16 has float32's range and needs no scaling. A
    non-finite loss raises instead of silently skipping steps.

    Args:
        optimizer (torch.optim.Optimizer): the wrapped optimizer.
        dtype (str): ``'auto'`` (default: float16 on CUDA as mmengine's
            AMP, bfloat16 on CPU), ``'fp16'`` or ``'bf16'``.
        loss_scale (str | float | dict): float16 only: ``'dynamic'``
            (default), a fixed scale, or ``GradScaler`` arguments.
        **kwargs: :class:`mmengine.optim.OptimWrapper` arguments.
    """

    def __init__(self,
                 optimizer: torch.optim.Optimizer,
                 dtype: str = 'auto',
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 **kwargs) -> None:
        super().__init__(optimizer, **kwargs)
        if dtype not in DTYPES:
            raise ValueError(f'MixedPrecisionOptimWrapper dtype must be one '
                             f'of {list(DTYPES)}, got {dtype!r}')
        params = [p for g in optimizer.param_groups for p in g['params']]
        self.device_type = params[0].device.type if params else 'cpu'
        self.cast_dtype = DTYPES[dtype].get(self.device_type)
        if self.cast_dtype is None:
            raise ValueError(f'mixed precision is not supported on '
                             f'{self.device_type!r} devices')
        if self.device_type == 'cpu' and not cpu_has_fast_bfloat16():
            print_log(
                'mixed precision on a CPU without AMX or AVX512-BF16: '
                f'{self.cast_dtype} matmuls are emulated there and slower '
                'than float32',
                logger='current',
                level=logging.WARNING)
        self.loss_scaler: Optional[torch.amp.GradScaler] = None
        self._fixed_scale = None
        if self.cast_dtype == torch.float16:
            if loss_scale == 'dynamic':
                scaler_args = {}
            elif isinstance(loss_scale, float):
                self._fixed_scale = loss_scale
                scaler_args = dict(init_scale=loss_scale)
            elif isinstance(loss_scale, dict):
                scaler_args = loss_scale
            else:
                raise TypeError("loss_scale must be 'dynamic', a float or a "
                                f'dict, got {loss_scale!r}')
            self.loss_scaler = torch.amp.GradScaler(self.device_type,
                                                    **scaler_args)

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Back-propagate ``loss`` (scaled under float16).

        Args:
            loss (Tensor): the total loss of the iteration.
            **kwargs: arguments of :meth:`torch.Tensor.backward`.

        Raises:
            FloatingPointError: ``loss`` is NaN or infinite.
        """
        if not bool(torch.isfinite(loss)):
            raise FloatingPointError(
                f'non-finite loss {loss.item()} under {self.cast_dtype} '
                f'mixed precision at update {self._inner_count}: train in '
                'float32 (no --amp) to see whether precision causes it')
        if self.loss_scaler is not None:
            loss = self.loss_scaler.scale(loss)
        loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        """Update the parameters (unscaling first under float16).

        Args:
            **kwargs: arguments of :meth:`torch.optim.Optimizer.step`.
        """
        if self.loss_scaler is None:
            super().step(**kwargs)
            return
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._fixed_scale)

    def state_dict(self) -> dict:
        """Optimizer state, plus ``loss_scaler`` under float16.

        Returns:
            dict: what :meth:`load_state_dict` restores.
        """
        state = super().state_dict()
        if self.loss_scaler is not None:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore :meth:`state_dict` (a float32 run's state loads too).

        Args:
            state_dict (dict): optimizer state, optionally ``loss_scaler``.
        """
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        if scaler_state is not None and self.loss_scaler is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """mmengine's context (gradient accumulation) plus autocast.

        Args:
            model (nn.Module): the trained model.
        """
        with super().optim_context(model), torch.autocast(
                self.device_type, dtype=self.cast_dtype):
            yield

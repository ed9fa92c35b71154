"""Optimizer-wrapper constructor that reports frozen parameters in one line.
"""
import logging
from collections import OrderedDict
from contextlib import contextmanager
from typing import Dict, Iterator, Tuple

from mmdet3d.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

__all__ = ['FrozenAwareOptimWrapperConstructor', 'frozen_parameter_counts']


def frozen_parameter_counts(model: nn.Module) -> Dict[str, Tuple[int, int]]:
    """Count the parameters with ``requires_grad=False`` per top module.

    Args:
        model (nn.Module): the model.

    Returns:
        dict[str, tuple[int, int]]: top-level submodule name (``'teacher'``)
        -> (number of parameter tensors, number of values), in model order.
    """
    counts: Dict[str, Tuple[int, int]] = OrderedDict()
    for name, param in model.named_parameters():
        if not param.requires_grad:
            top = name.split('.', 1)[0]
            tensors, values = counts.get(top, (0, 0))
            counts[top] = (tensors + 1, values + param.numel())
    return counts


class _PerParameterToDebug(logging.Filter):
    """Lower the default constructor's per-parameter messages to DEBUG.

    :class:`DefaultOptimWrapperConstructor` logs one WARNING per frozen
    parameter (``'<name> is skipped since its requires_grad=False'``) and
    one INFO line per parameter option (``'paramwise_options -- ...'``).
    This filter relabels exactly those records as DEBUG, so the logger's
    handlers show them only with ``log_level='DEBUG'``.
    """

    SKIPPED = ' is skipped since its requires_grad=False'
    OPTIONS = 'paramwise_options -- '

    def filter(self, record: logging.LogRecord) -> bool:
        """Relabel a matching record; let every record through.

        Args:
            record (logging.LogRecord): the record being logged.

        Returns:
            bool: always True.
        """
        message = record.getMessage()
        if message.endswith(self.SKIPPED) or message.startswith(self.OPTIONS):
            record.levelno = logging.DEBUG
            record.levelname = logging.getLevelName(logging.DEBUG)
        return True


@contextmanager
def _per_parameter_messages_at_debug() -> Iterator[None]:
    """Apply :class:`_PerParameterToDebug` to the current MMLogger."""
    logger = MMLogger.get_current_instance()
    log_filter = _PerParameterToDebug()
    logger.addFilter(log_filter)
    try:
        yield
    finally:
        logger.removeFilter(log_filter)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FrozenAwareOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """:class:`DefaultOptimWrapperConstructor` with a one-line summary.

    The param groups, learning rates and weight decays are exactly those of
    the default constructor (this class only changes what is logged). With
    a ``paramwise_cfg`` the default constructor leaves parameters with
    ``requires_grad=False`` (the frozen 2D teacher) out of the optimizer,
    warning once per tensor, and logs each parameter's options; those
    messages are logged at DEBUG level here and one INFO line sums up what
    the optimizer got and what was left out, e.g. ``optimizer: 180
    parameter tensors (1,234,567 values) in 180 groups; frozen
    (requires_grad=False), excluded: teacher (36 tensors, 104,000
    values)``. Use it with ``optim_wrapper=dict(constructor=
    'FrozenAwareOptimWrapperConstructor', ...)``.

    Args:
        optim_wrapper_cfg (dict): see :class:`DefaultOptimWrapperConstructor`.
        paramwise_cfg (dict, optional): see
            :class:`DefaultOptimWrapperConstructor`.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        """Build the optimizer wrapper and log the summary line.

        Args:
            model (nn.Module): the model (unwrapped from ``.module``).

        Returns:
            OptimWrapper: the default constructor's optimizer wrapper.
        """
        if hasattr(model, 'module'):
            model = model.module
        with _per_parameter_messages_at_debug():
            optim_wrapper = super().__call__(model)
        print_log(self._summary(model, optim_wrapper), logger='current')
        return optim_wrapper

    def _summary(self, model: nn.Module, optim_wrapper: OptimWrapper) -> str:
        """The one-line description of the optimizer's parameters.

        Args:
            model (nn.Module): the model.
            optim_wrapper (OptimWrapper): what the constructor built.

        Returns:
            str: the summary.
        """
        groups = optim_wrapper.optimizer.param_groups
        params = [p for group in groups for p in group['params']]
        line = (f'optimizer: {len(params)} parameter tensors '
                f'({sum(p.numel() for p in params):,} values) in '
                f'{len(groups)} param groups')
        frozen = frozen_parameter_counts(model)
        if not frozen:
            return line
        in_optimizer = {id(p) for p in params}
        excluded = not any(
            id(p) in in_optimizer
            for p in model.parameters() if not p.requires_grad)
        parts = ', '.join(f'{name} ({tensors} tensors, {values:,} values)'
                          for name, (tensors, values) in frozen.items())
        what = ('excluded'
                if excluded else 'in the optimizer but never updated')
        return f'{line}; frozen (requires_grad=False), {what}: {parts}'

"""engine components of the I2P-MAE plugin."""
from .console_summary_runner import ConsoleSummaryRunner, LogFileOnly
from .frozen_aware_optim_constructor import (
    FrozenAwareOptimWrapperConstructor, frozen_parameter_counts)

__all__ = [
    'FrozenAwareOptimWrapperConstructor', 'frozen_parameter_counts',
    'ConsoleSummaryRunner', 'LogFileOnly'
]

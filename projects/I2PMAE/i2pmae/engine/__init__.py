"""engine components of the I2P-MAE plugin."""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .atomic_local_backend import AtomicLocalBackend, atomic_write
from .checkpoint_compatibility_hook import (CheckpointCompatibilityHook,
                                            CheckpointMismatchError)
from .console_summary_runner import ConsoleSummaryRunner, LogFileOnly
from .dataloader_cfg import sync_persistent_workers
from .device_aware_runner import DeviceAwareRunner, resolve_dist_backend
from .feature_extraction import extract_features
from .final_test_hook import FinalTestHook
from .frozen_aware_optim_constructor import (
    FrozenAwareOptimWrapperConstructor, frozen_parameter_counts)
from .iteration_seed_hook import IterationSeedHook, iteration_seed
from .linear_svm_loops import (LinearSVMTestLoop, LinearSVMValLoop,
                               dataloader_from_config)
from .mixed_precision_optim_wrapper import MixedPrecisionOptimWrapper
from .resumable_checkpoint import (CorruptCheckpointError,
                                   check_checkpoint_file,
                                   find_resumable_checkpoint)
from .state_dict_diff import StateDictDiff, checkpoint_state_dict

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'atomic_write',
    'CheckpointCompatibilityHook', 'CheckpointMismatchError',
    'sync_persistent_workers', 'IterationSeedHook', 'iteration_seed',
    'CorruptCheckpointError', 'check_checkpoint_file',
    'find_resumable_checkpoint', 'StateDictDiff', 'checkpoint_state_dict',
    'FrozenAwareOptimWrapperConstructor', 'frozen_parameter_counts',
    'ConsoleSummaryRunner', 'LogFileOnly', 'DeviceAwareRunner',
    'resolve_dist_backend', 'extract_features', 'LinearSVMValLoop',
    'LinearSVMTestLoop', 'dataloader_from_config', 'FinalTestHook',
    'MixedPrecisionOptimWrapper'
]

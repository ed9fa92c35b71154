"""A Runner whose console shows the run, with the start-up dumps in the log.
"""
import logging
import os.path as osp
from typing import Optional, Union

import torch
from mmdet3d.registry import RUNNERS
from mmengine.logging import MMLogger

from .device_aware_runner import DeviceAwareRunner

__all__ = ['ConsoleSummaryRunner', 'LogFileOnly']


class LogFileOnly(logging.Filter):
    """Keep the Runner's start-up dumps off the console handler.

    mmengine's :class:`~mmengine.runner.Runner` logs, while it is built,
    the system and runtime environment (about 35 lines), the whole config
    (about 170) and the hook order (about 90) at INFO level. This filter,
    added to the console handler only, drops exactly those three records
    (recognised by how mmengine starts them); the log file keeps them.
    """

    #: how mmengine 0.10 starts the three records
    PREFIXES = ('\n' + '-' * 60 + '\nSystem environment:', 'Config:\n',
                'Hooks will be executed in the following order:\n')

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether the console shows ``record``.

        Args:
            record (logging.LogRecord): the record being logged.

        Returns:
            bool: False for the three start-up dumps.
        """
        return not (isinstance(record.msg, str)
                    and record.msg.startswith(self.PREFIXES))


@RUNNERS.register_module()
class ConsoleSummaryRunner(DeviceAwareRunner):
    """:class:`~mmengine.runner.Runner` that keeps its dumps in the log file.

    Identical to :class:`DeviceAwareRunner` (mmengine's Runner, distributed
    on CPUs too) except for the console: the environment, config and
    hook-order dumps go to the log file only (see :class:`LogFileOnly`) and
    the console gets one line instead, e.g.
    ``PyTorch 2.6.0, CUDA available: True, world size 1, seed 0;
    environment, config and hook order in work_dirs/x/<time>/<time>.log;
    config saved as work_dirs/x/x.py``. Select it with
    ``runner_type = 'ConsoleSummaryRunner'`` (tools build the Runner with
    ``RUNNERS.build(cfg)``); ``log_level='DEBUG'`` shows the dumps on the
    console too.

    Args:
        *args: see :class:`~mmengine.runner.Runner`.
        **kwargs: see :class:`~mmengine.runner.Runner`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.logger.info(self._startup_summary())

    def build_logger(self,
                     log_level: Union[int, str] = 'INFO',
                     log_file: Optional[str] = None,
                     **kwargs) -> MMLogger:
        """Build the logger and filter its console handler.

        Args:
            log_level (int | str): level of the logger's handlers.
            log_file (str, optional): the log file; the Runner's default
                when None.
            **kwargs: passed to :class:`~mmengine.logging.MMLogger`.

        Returns:
            MMLogger: the Runner's logger.
        """
        logger = super().build_logger(log_level, log_file, **kwargs)
        level = (
            logging.getLevelName(log_level)
            if isinstance(log_level, str) else log_level)
        if level > logging.DEBUG:
            for handler in logger.handlers:
                console = (
                    isinstance(handler, logging.StreamHandler)
                    and not isinstance(handler, logging.FileHandler))
                if console and not any(
                        isinstance(f, LogFileOnly) for f in handler.filters):
                    handler.addFilter(LogFileOnly())
        return logger

    def _startup_summary(self) -> str:
        """The console line that stands for the start-up dumps.

        Returns:
            str: versions, device, seed and where the dumps went.
        """
        if self.cfg.filename is not None:
            config = osp.join(self.work_dir, osp.basename(self.cfg.filename))
        else:
            config = osp.join(self.work_dir, f'{self.timestamp}.py')
        return (f'PyTorch {torch.__version__}, CUDA available: '
                f'{torch.cuda.is_available()}, world size '
                f'{self.world_size}, seed {self.seed}; environment, config '
                f'and hook order in {self.logger.log_file}; config saved as '
                f'{config}')

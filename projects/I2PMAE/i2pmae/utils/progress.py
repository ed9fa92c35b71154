"""Progress reports that suit terminals and log files alike."""
import sys
import time
from typing import Optional, TextIO

from mmengine.utils import ProgressBar


class ProgressReporter:
    """Counts the steps of a long task: a live bar on a terminal, else lines.

    mmengine's :class:`~mmengine.utils.ProgressBar` redraws itself with a
    carriage return on every update, whatever its ``file`` is. Written to a
    pipe or a log file that is one ``'\\r'``-separated segment per update,
    which log viewers and CI consoles show as one line each. So the bar is
    drawn only when ``file`` is a terminal (``file.isatty()``); otherwise a
    plain line ``<task>: <done>/<total> (<percent>%), <elapsed> s elapsed``
    is written each time another ``1 / num_lines`` of the steps is done, at
    most ``num_lines`` lines in all.

    Args:
        total (int): number of steps (> 0).
        task (str): what is counted; starts the plain lines.
        file (TextIO, optional): where to write; ``sys.stdout`` as it is
            when the reporter is created if None.
        num_lines (int): most plain lines written when ``file`` is not a
            terminal. Defaults to 10.
    """

    def __init__(self,
                 total: int,
                 task: str = 'progress',
                 file: Optional[TextIO] = None,
                 num_lines: int = 10) -> None:
        if total <= 0 or num_lines <= 0:
            raise ValueError('total and num_lines must be positive, got '
                             f'total={total}, num_lines={num_lines}')
        self.total = total
        self.task = task
        self.file = sys.stdout if file is None else file
        self.num_lines = num_lines
        self.completed = 0
        self._lines = 0
        self._start = time.perf_counter()
        isatty = getattr(self.file, 'isatty', None)
        self.bar = (
            ProgressBar(total, file=self.file)
            if isatty is not None and isatty() else None)

    def update(self, count: int = 1) -> None:
        """Record ``count`` more finished steps.

        Args:
            count (int): steps finished since the last call.
        """
        self.completed += count
        if self.bar is not None:
            self.bar.update(count)
            return
        due = min(self.num_lines,
                  self.completed * self.num_lines // self.total)
        if due > self._lines:
            self._lines = due
            elapsed = time.perf_counter() - self._start
            percent = 100 * self.completed / self.total
            self.file.write(f'{self.task}: {self.completed}/{self.total} '
                            f'({percent:.0f}%), {elapsed:.1f} s elapsed\n')
            self.file.flush()

    def finish(self) -> None:
        """End the bar's line (a terminal only; plain lines end themselves).
        """
        if self.bar is not None:
            self.file.write('\n')
            self.file.flush()

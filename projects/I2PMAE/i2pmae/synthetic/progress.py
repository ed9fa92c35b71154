"""Progress of a synthetic-data run, counted in generated shapes."""
from ..utils.progress import ProgressReporter


class GenerationProgress:
    """Counts generated shapes on a :class:`ProgressReporter`, or silently.

    Args:
        total (int): shapes the run generates.
        show (bool): report on stdout (a live bar on a terminal, at most ten
            plain lines otherwise); when False nothing is printed.
    """

    def __init__(self, total: int, show: bool) -> None:
        self.reporter = ProgressReporter(
            total, task='synthetic shapes') if show else None

    def update(self, count: int = 1) -> None:
        """Count ``count`` more generated shapes.

        Args:
            count (int): shapes just generated.
        """
        if self.reporter is not None:
            self.reporter.update(count)

    def finish(self) -> None:
        """End the report (a final line on stdout when shown)."""
        if self.reporter is not None:
            self.reporter.finish()

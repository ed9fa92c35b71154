"""Initialise a model's weights without mmengine's per-parameter report."""
import logging

from mmengine.logging import MMLogger
from torch import nn


def init_weights_quietly(model: nn.Module) -> None:
    """Call ``model.init_weights()`` with the console report silenced.

    Outside a Runner (no log file), mmengine prints how every parameter was
    initialised to the console: hundreds of lines for a pretraining model.
    Warnings and errors still show.

    Args:
        model (nn.Module): an mmengine ``BaseModule``.
    """
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)

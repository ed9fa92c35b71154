"""Index helpers shared by the sampling transforms and the cache builder."""
import logging

import numpy as np
from mmengine.logging import print_log


def indices_with_replacement(num_available: int,
                             num_points: int) -> np.ndarray:
    """Indices that use every point once, then repeat random ones.

    Used when a cloud has fewer points than requested; draws from numpy's
    global RNG.

    Args:
        num_available (int): points in the cloud (> 0).
        num_points (int): points requested (>= num_available).

    Returns:
        np.ndarray: ``[num_points]`` int64 indices in random order.
    """
    if num_available <= 0:
        raise ValueError('cannot sample from an empty cloud '
                         f'(num_available={num_available})')
    extra = np.random.choice(num_available, num_points - num_available)
    idx = np.concatenate([np.arange(num_available), extra])
    return np.random.permutation(idx).astype(np.int64)


class WarnOnce:
    """Log a warning the first time only (one instance per dataset).

    Args:
        owner (str): who warns (prefixed to the message).
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.warned = False

    def __call__(self, message: str) -> None:
        """Log ``message`` unless this instance already warned.

        Args:
            message (str): the warning.
        """
        if not self.warned:
            self.warned = True
            print_log(
                f'{self.owner}: {message} (warned once)',
                logger='current',
                level=logging.WARNING)

"""Run code under a private seed without disturbing the global RNGs."""
import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch

__all__ = ['isolated_rng']


@contextmanager
def isolated_rng(seed: int) -> Iterator[None]:
    """Seed python's ``random``, numpy's and torch's global CPU RNGs.

    Inside the block the three global generators start from ``seed``; on
    exit their previous states are restored, so code around the block draws
    exactly what it would have drawn without it. Only torch's CPU generator
    is touched (CUDA generators keep their state), which is what data
    pipelines use.

    Args:
        seed (int): seed in ``[0, 2**32)``.

    Yields:
        None
    """
    py_state = random.getstate()
    np_state = np.random.get_state()
    torch_state = torch.random.get_rng_state()
    try:
        random.seed(seed)
        np.random.seed(seed)
        torch.random.default_generator.manual_seed(seed)
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.random.set_rng_state(torch_state)

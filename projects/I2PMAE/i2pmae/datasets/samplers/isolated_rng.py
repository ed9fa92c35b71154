"""Run code under a private seed without disturbing the global RNGs."""
import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch


@contextmanager
def isolated_rng(seed: int) -> Iterator[None]:
    """Seed python's ``random``, numpy's and torch's global CPU RNGs.

    On exit their previous states are restored, so code around the block
    draws what it would have drawn without it. CUDA generators (unused by
    data pipelines) are not touched.

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

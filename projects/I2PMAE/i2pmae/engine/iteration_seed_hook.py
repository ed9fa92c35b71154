"""Reseed the main process before every training iteration."""
import random
from typing import Optional

import numpy as np
import torch
from mmdet3d.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook

__all__ = ['IterationSeedHook', 'ITERATION_SEED_STREAM', 'iteration_seed']

#: spawn-key tag of the per-iteration seed stream (keeps it apart from the
#: per-sample stream of ``SeededSampler``)
ITERATION_SEED_STREAM = 2

DATA_BATCH = Optional[dict]


def iteration_seed(seed: int, rank: int, iteration: int) -> int:
    """The seed of one training iteration of one rank.

    Args:
        seed (int): the run's seed (``runner.seed``).
        rank (int): the process rank.
        iteration (int): the global iteration index (``runner.iter``).

    Returns:
        int: a seed in ``[0, 2**32)``.
    """
    sequence = np.random.SeedSequence(
        entropy=int(seed) % 2**64,
        spawn_key=(ITERATION_SEED_STREAM, int(rank), int(iteration)))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


@HOOKS.register_module()
class IterationSeedHook(Hook):
    """Make the main process's randomness a function of the iteration.

    Before every training iteration, python's ``random``, numpy's and
    torch's global generators (``torch.manual_seed`` also seeds every CUDA
    device) are seeded with :func:`iteration_seed` of (``runner.seed``,
    rank, ``runner.iter``). Whatever the model draws in an iteration (masks,
    drop path, dropout) then depends only on that triple, not on what ran
    before it in the process, so a run resumed from a checkpoint draws the
    same numbers as an uninterrupted one. Together with
    :class:`~..datasets.samplers.SeededSampler` (the data side) nothing
    random has to be stored in checkpoints.

    Runs before the other hooks of ``before_train_iter`` (priority
    ``VERY_HIGH``), after the batch of the iteration was loaded.
    """

    priority = 'VERY_HIGH'

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Seed the global generators for this iteration.

        Args:
            runner (Runner): the runner.
            batch_idx (int): index of the batch in the epoch.
            data_batch (dict, optional): the batch.
        """
        seed = iteration_seed(runner.seed, get_rank(), runner.iter)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)

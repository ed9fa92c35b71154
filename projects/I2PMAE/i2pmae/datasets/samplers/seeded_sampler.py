"""A sampler whose indices carry the seed of their sample's randomness."""
from typing import Iterator

import numpy as np
from mmdet3d.registry import DATA_SAMPLERS
from mmengine.dataset import DefaultSampler

#: spawn-key tag of the per-sample seed stream (keeps it apart from the
#: other streams derived from the same run seed)
SAMPLE_SEED_STREAM = 1


class SeededIndex(int):
    """A dataset index that carries the seed of its sample's randomness.

    Behaves as the plain ``int`` index (arithmetic drops the seed);
    :class:`~..base_point_cloud_dataset.BasePointCloudDataset` runs its
    pipeline under :attr:`seed`. It pickles with its seed, so it reaches
    DataLoader worker processes intact.

    Args:
        index (int): the dataset index.
        seed (int): seed of this sample's randomness, in ``[0, 2**32)``.
    """

    def __new__(cls, index: int, seed: int) -> 'SeededIndex':
        obj = super().__new__(cls, index)
        obj.seed = int(seed)
        return obj

    def __reduce__(self):
        return type(self), (int(self), self.seed)

    def __repr__(self) -> str:
        return f'SeededIndex({int(self)}, seed={self.seed})'


@DATA_SAMPLERS.register_module()
class SeededSampler(DefaultSampler):
    """:class:`mmengine.dataset.DefaultSampler` with per-sample seeds.

    Yields the same indices, in the same order, as ``DefaultSampler`` with
    the same arguments, each as a :class:`SeededIndex` whose seed is a pure
    function of (sampler seed, epoch, position in the epoch's global order).
    Augmentation run under that seed does not depend on the number of
    DataLoader workers or on where a run was resumed.

    Args:
        dataset (Sized): the dataset.
        shuffle (bool): shuffle the indices every epoch. Defaults to True.
        seed (int, optional): seed of the order and of the per-sample seeds;
            the Runner passes its own seed. None draws one (synchronised
            across ranks).
        round_up (bool): pad the indices to a multiple of the world size.
            Defaults to True.
    """

    def sample_seeds(self) -> np.ndarray:
        """Seeds of the current epoch's samples, in global order.

        Returns:
            np.ndarray: ``[total_size]`` uint32 seeds.
        """
        sequence = np.random.SeedSequence(
            entropy=int(self.seed) % 2**64,
            spawn_key=(SAMPLE_SEED_STREAM, int(self.epoch)))
        return sequence.generate_state(self.total_size, dtype=np.uint32)

    def __iter__(self) -> Iterator[SeededIndex]:
        """Iterate the indices of this rank, each tagged with its seed.

        Returns:
            Iterator[SeededIndex]: the indices of this rank.
        """
        indices = list(super().__iter__())
        seeds = self.sample_seeds()[self.rank:self.total_size:self.world_size]
        return iter(
            [SeededIndex(i, s) for i, s in zip(indices, seeds.tolist())])

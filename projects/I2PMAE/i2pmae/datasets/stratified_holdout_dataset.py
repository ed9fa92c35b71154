"""One side of a stratified, seeded split of a labelled dataset."""
import copy
from typing import List, Union

import numpy as np
from mmdet3d.registry import DATASETS
from mmengine.dataset import BaseDataset, force_full_init
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from ..evaluation.stratified_holdout import stratified_holdout
from .samplers import SeededIndex


@DATASETS.register_module()
class StratifiedHoldoutDataset:
    """The kept part or the held-out part of a labelled dataset.

    :func:`~..evaluation.stratified_holdout` holds out ``round(holdout * N)``
    samples of the wrapped dataset, shared among the classes of its labels
    (``get_cat_ids``) in proportion to their sizes and drawn with ``seed``;
    ``subset='train'`` keeps the rest, ``subset='val'`` the held-out
    samples. The split depends only on the labels, ``holdout`` and ``seed``,
    so a training and a validation wrapper of the same split given the same
    ``holdout`` and ``seed`` are disjoint and together cover it.

    A :class:`~.samplers.SeededIndex` keeps its seed when mapped into the
    wrapped dataset, so augmentation stays a function of (seed, epoch,
    position).

    Args:
        dataset (BaseDataset | dict): the dataset to split, or its config
            (built with mmdet3d's ``DATASETS``).
        holdout (float): share held out, in ``(0, 1)``.
        subset (str): ``'train'`` (the kept part) or ``'val'`` (the held-out
            part).
        seed (int): seed of the draw. Defaults to 0.
        lazy_init (bool): split at the first use instead of now. Defaults to
            False.

    Raises:
        ValueError: ``holdout`` outside ``(0, 1)``, an unknown ``subset``,
            or a sample without exactly one label.
        TypeError: ``dataset`` is neither a dataset nor a config dict.
    """

    SUBSETS = ('train', 'val')

    def __init__(self,
                 dataset: Union[BaseDataset, dict],
                 holdout: float,
                 subset: str = 'train',
                 seed: int = 0,
                 lazy_init: bool = False) -> None:
        if subset not in self.SUBSETS:
            raise ValueError(f'StratifiedHoldoutDataset: subset must be one '
                             f'of {self.SUBSETS}, got {subset!r}')
        if not isinstance(holdout, (int, float)) or not 0 < holdout < 1:
            raise ValueError('StratifiedHoldoutDataset: holdout must be a '
                             f'share in (0, 1), got {holdout!r}')
        if isinstance(dataset, dict):
            with DefaultScope.overwrite_default_scope('mmdet3d'):
                dataset = DATASETS.build(copy.deepcopy(dataset))
        elif not hasattr(dataset, 'get_cat_ids'):
            raise TypeError('StratifiedHoldoutDataset: dataset must be a '
                            'dataset with get_cat_ids or its config dict, '
                            f'got {type(dataset).__name__}')
        self.dataset = dataset
        self.holdout = float(holdout)
        self.subset = subset
        self.seed = int(seed)
        self._metainfo = self.dataset.metainfo
        self._indices: List[int] = []
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information (a copy)."""
        return copy.deepcopy(self._metainfo)

    def labels(self) -> np.ndarray:
        """The label of every sample of the wrapped dataset.

        Returns:
            np.ndarray: ``[N]`` int64 labels.

        Raises:
            ValueError: a sample has no label or several.
        """
        labels = []
        for i in range(len(self.dataset)):
            cat_ids = list(self.dataset.get_cat_ids(i))
            if len(cat_ids) != 1:
                raise ValueError(
                    'StratifiedHoldoutDataset: sample '
                    f'{i} of {type(self.dataset).__name__} has the labels '
                    f'{cat_ids}; a stratified split needs exactly one label '
                    'per sample')
            labels.append(int(cat_ids[0]))
        return np.asarray(labels, dtype=np.int64)

    def full_init(self) -> None:
        """Load the wrapped dataset and split it (once)."""
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        keep, held = stratified_holdout(self.labels(), self.holdout, self.seed)
        indices = keep if self.subset == 'train' else held
        self._indices = [int(i) for i in indices]
        self._fully_initialized = True
        print_log(
            f'StratifiedHoldoutDataset: {self.subset!r} part, '
            f'{len(self._indices)} of the {len(self.dataset)} samples of '
            f'{type(self.dataset).__name__} ({self.holdout:.0%} held out, '
            f'seed {self.seed})',
            logger='current')

    @property
    @force_full_init
    def indices(self) -> List[int]:
        """Sorted positions of this part's samples in the wrapped dataset."""
        return list(self._indices)

    @force_full_init
    def _wrapped_index(self, idx: int) -> int:
        index = self._indices[idx]
        seed = getattr(idx, 'seed', None)
        return index if seed is None else SeededIndex(index, seed)

    @force_full_init
    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, idx: int) -> dict:
        """Sample ``idx`` of this part through the wrapped pipeline.

        Args:
            idx (int): index in this part (a ``SeededIndex`` keeps its seed).

        Returns:
            dict: the wrapped dataset's output.
        """
        return self.dataset[self._wrapped_index(idx)]

    def get_data_info(self, idx: int) -> dict:
        """Data info of sample ``idx`` of this part.

        Args:
            idx (int): index in this part.

        Returns:
            dict: the wrapped dataset's data info (its ``sample_idx`` is the
            position in the wrapped dataset).
        """
        return self.dataset.get_data_info(int(self._wrapped_index(idx)))

    def get_cat_ids(self, idx: int) -> List[int]:
        """Labels of sample ``idx`` of this part.

        Args:
            idx (int): index in this part.

        Returns:
            list[int]: the wrapped dataset's labels of that sample.
        """
        return self.dataset.get_cat_ids(int(self._wrapped_index(idx)))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(subset={self.subset!r}, holdout='
                f'{self.holdout}, seed={self.seed}, dataset='
                f'{type(self.dataset).__name__}, num_samples='
                f'{len(self._indices) if self._fully_initialized else "?"})')

"""Augmented views of a test cloud for test-time voting, seeded per sample.
"""
from typing import Callable, List, Optional, Sequence, Union

import numpy as np

from ..datasets.base_point_cloud_dataset import build_pipeline
from ..datasets.samplers import isolated_rng

__all__ = ['VoteViews', 'official_vote_pipeline', 'VOTE_SEED_STREAM']

#: spawn-key tag of the per-sample vote seeds (the SeededSampler's sample
#: seeds use 1)
VOTE_SEED_STREAM = 2


def official_vote_pipeline(num_points: Optional[int]) -> List[dict]:
    """The official ModelNet40 vote: a random ``num_points`` of the cloud
    (without replacement), each axis scaled by ``U(2/3, 3/2)`` and shifted
    by ``U(-0.2, 0.2)``.

    Args:
        num_points (int, optional): points of a view; None keeps every point
            (shuffled).

    Returns:
        list[dict]: transform configs.
    """
    return [
        dict(type='PointCloudRandomSample', num_points=num_points),
        dict(type='PointCloudScaleAndTranslate')
    ]


class VoteViews:
    """Draws the augmented views of each test cloud from its sample index.

    The views are ``votes`` runs of ``pipeline`` under
    :func:`~..datasets.samplers.isolated_rng` seeded by :meth:`sample_seed`,
    so they depend only on ``seed``, the sample index and the cloud (not on
    the batch, rank or order), and the global RNGs are left as they were.

    Args:
        votes (int): views per cloud, >= 1.
        pipeline (Sequence[dict | Callable]): transforms (mmdet3d
            ``TRANSFORMS`` configs or callables) taking and returning a
            results dict with ``points`` ``[N, C]``.
        seed (int): seed of the draws, >= 0. Defaults to 0.

    Raises:
        ValueError: ``votes`` or ``seed`` out of range, or an empty
            pipeline.
    """

    def __init__(self,
                 votes: int,
                 pipeline: Sequence[Union[dict, Callable]],
                 seed: int = 0) -> None:
        if isinstance(votes, bool) or not isinstance(votes, int) or votes < 1:
            raise ValueError(f'votes must be an int >= 1, got {votes!r}')
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f'seed must be an int >= 0, got {seed!r}')
        if not pipeline:
            raise ValueError('the vote pipeline must hold at least one '
                             'transform')
        self.votes = votes
        self.seed = seed
        self.pipeline = build_pipeline(pipeline)

    def sample_seed(self, sample_idx: int) -> int:
        """Seed of the views of sample ``sample_idx``.

        Args:
            sample_idx (int): the sample's index in its dataset, >= 0.

        Returns:
            int: a seed in ``[0, 2**32)``.
        """
        sequence = np.random.SeedSequence(
            entropy=self.seed, spawn_key=(VOTE_SEED_STREAM, int(sample_idx)))
        return int(sequence.generate_state(1, dtype=np.uint32)[0])

    def views(self, points: np.ndarray, sample_idx: int) -> np.ndarray:
        """The ``votes`` augmented views of one cloud.

        Args:
            points (np.ndarray): ``[N, C]`` cloud (not modified).
            sample_idx (int): the sample's index in its dataset.

        Returns:
            np.ndarray: ``[votes, n, C]`` float32 views.

        Raises:
            ValueError: a transform dropped the sample or the views differ
                in shape.
        """
        views = []
        with isolated_rng(self.sample_seed(sample_idx)):
            for _ in range(self.votes):
                results = dict(points=np.array(points, np.float32, copy=True))
                for transform in self.pipeline:
                    results = transform(results)
                    if results is None:
                        raise ValueError(
                            f'test_cfg.vote_pipeline: {transform!r} dropped '
                            f'sample {sample_idx}')
                views.append(np.asarray(results['points'], np.float32))
        shapes = {v.shape for v in views}
        if len(shapes) != 1:
            raise ValueError('test_cfg.vote_pipeline must give views of one '
                             f'shape, got {sorted(shapes)}')
        return np.stack(views)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(votes={self.votes}, seed={self.seed}, '
                f'pipeline={self.pipeline})')

"""A deterministic, stratified held-out share of a labelled split."""
from typing import Tuple

import numpy as np

__all__ = ['stratified_holdout']


def stratified_holdout(labels: np.ndarray,
                       fraction: float,
                       seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Split sample positions into a fitted part and a held-out part.

    ``round(fraction * N)`` samples are held out, shared among the classes in
    proportion to their sizes (largest remainders first, ties to the
    smaller label), but every class keeps at least one sample in the fitted
    part: a class with a single sample is never held out, so the total can
    fall short when classes are that small. Which samples of a class are
    held out is drawn with ``numpy.random.default_rng(seed)``: the same
    labels and seed give the same split, whatever the global random state.

    Args:
        labels (np.ndarray): ``[N]`` class labels.
        fraction (float): the share to hold out, in ``(0, 1)``.
        seed (int): seed of the draw. Defaults to 0.

    Returns:
        tuple[np.ndarray, np.ndarray]: sorted positions of the fitted part
        and of the held-out part (disjoint, together ``range(N)``).

    Raises:
        ValueError: ``fraction`` outside ``(0, 1)`` or labels that are not
            one-dimensional.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f'labels must be [N], got shape {labels.shape}')
    if not 0 < fraction < 1:
        raise ValueError(f'holdout fraction must be in (0, 1), got {fraction}')
    classes, inverse, counts = np.unique(
        labels, return_inverse=True, return_counts=True)
    exact = counts * float(fraction)
    caps = counts - 1
    quota = np.minimum(np.floor(exact).astype(np.int64), caps)
    target = min(int(round(fraction * len(labels))), int(caps.sum()))
    order = np.argsort(-(exact - np.floor(exact)), kind='stable')
    while quota.sum() < target:
        room = [c for c in order if quota[c] < caps[c]]
        for c in room[:target - int(quota.sum())]:
            quota[c] += 1
    rng = np.random.default_rng(seed)
    held = [
        rng.permutation(np.flatnonzero(inverse == c))[:quota[c]]
        for c in range(len(classes))
    ]
    held = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    keep = np.setdiff1d(np.arange(len(labels)), held)
    return keep, held

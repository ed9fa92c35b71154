"""ModelNet40 txt clouds -> the farthest-point-sampled cache.

The cache ``modelnet<num_category>_<split>_<num_points>pts_fps.dat`` is the
processed file Point-BERT users already have: a pickle of
``[points_list, labels_list]`` with float32 ``[num_points, 6]`` clouds and
int32 ``[1]`` labels, in the order of the split file, written atomically.
:class:`~..modelnet40_dataset.ModelNet40Dataset` builds it when missing.
"""
import logging
import os
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import print_log

from ...utils.progress import ProgressReporter
from ..file_io import atomic_pickle_dump, check_finite, read_point_txt
from ..point_sampling import indices_with_replacement


def modelnet40_fps_cache_name(num_category: int, split: str,
                              num_points: int) -> str:
    """File name of the cache of a split.

    Args:
        num_category (int): 40 (or 10 for the ``modelnet10_*`` files).
        split (str): ``'train'`` or ``'test'``.
        num_points (int): points per cached cloud.

    Returns:
        str: e.g. ``'modelnet40_train_8192pts_fps.dat'``.
    """
    return f'modelnet{num_category}_{split}_{num_points}pts_fps.dat'


def furthest_point_subsample(clouds: Sequence[np.ndarray],
                             num_points: int) -> List[np.ndarray]:
    """FPS-subsample clouds to ``num_points`` each, batched by size.

    Clouds with fewer points are resampled with replacement.

    Args:
        clouds (Sequence[np.ndarray]): ``[N_i, C]`` clouds (xyz first).
        num_points (int): points kept per cloud.

    Returns:
        list[np.ndarray]: ``[num_points, C]`` float32 clouds.
    """
    from ...ops import furthest_point_sample
    out: List[np.ndarray] = [None] * len(clouds)
    by_size = {}
    for i, cloud in enumerate(clouds):
        by_size.setdefault(len(cloud), []).append(i)
    for size, members in by_size.items():
        if size < num_points:
            for i in members:
                out[i] = clouds[i][indices_with_replacement(size, num_points)]
            continue
        xyz = torch.from_numpy(np.stack([clouds[i][:, :3] for i in members]))
        # the loop of small ops runs fastest on one thread
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            idx = furthest_point_sample(xyz, num_points).numpy()
        finally:
            torch.set_num_threads(threads)
        for row, i in enumerate(members):
            out[i] = np.ascontiguousarray(clouds[i][idx[row]])
    return out


def describe_short_files(sizes: Sequence[Tuple[str, int]],
                         num_points: int,
                         max_named: int = 5) -> Optional[str]:
    """Name the point files with fewer points than expected.

    A txt file cut at a line boundary still parses, so its row count is the
    only sign of the damage: a file is short when it has fewer points than
    ``num_points`` or than most files of the split (ModelNet40's hold 10000).

    Args:
        sizes (Sequence[tuple[str, int]]): ``(path, number of points)`` of
            every file read.
        num_points (int): points kept per cloud (``cache_points``).
        max_named (int): most files named in the message.

    Returns:
        str or None: a message naming the short files with the number of
        points expected and found; None when no file is short.
    """
    counts = Counter(n for _, n in sizes)
    typical = max(counts, key=lambda n: (counts[n], n)) if counts else 0
    short = [(path, n) for path, n in sizes if n < max(typical, num_points)]
    if not short:
        return None

    def expected(n):
        if n < typical:
            return f'expected {typical} like most files'
        return f'expected at least cache_points={num_points}'

    named = '; '.join(f'{path!r} has {n} points, {expected(n)}'
                      for path, n in short[:max_named])
    if len(short) > max_named:
        named += f'; and {len(short) - max_named} more'
    notes = []
    if any(n < typical for _, n in short):
        notes.append('a file with fewer rows than most is likely truncated '
                     '(fix it, then delete the cache)')
    if any(n < num_points for _, n in short):
        notes.append(f'clouds with fewer than {num_points} points are '
                     'resampled with replacement')
    return (f'{len(short)} of {len(sizes)} point files have fewer points '
            f'than expected: {named}. ' + '; '.join(notes))


def build_modelnet40_fps_cache(
        txt_files: Sequence[str],
        labels: Sequence[int],
        cache_file: str,
        num_points: int,
        batch_size: int = 32,
        task: str = 'ModelNet40 cache',
        log_name: str = 'ModelNet40Dataset') -> List[np.ndarray]:
    """Read the txt clouds, FPS them and write the cache atomically.

    Short files (:func:`describe_short_files`) are named in one warning.

    Args:
        txt_files (Sequence[str]): the split's ``'x,y,z,nx,ny,nz'`` files,
            in split-file order.
        labels (Sequence[int]): their class labels.
        cache_file (str): path of the cache to write (its folder is created
            when missing).
        num_points (int): points per cached cloud.
        batch_size (int): clouds read and sampled per FPS call.
        task (str): label of the progress report.
        log_name (str): who the short-file warning comes from.

    Returns:
        list[np.ndarray]: the cached float32 ``[num_points, 6]`` clouds.
    """
    print_log(
        f'building {cache_file} from {len(txt_files)} txt files '
        '(first run only)',
        logger='current')
    points: List[np.ndarray] = []
    sizes: List[Tuple[str, int]] = []
    progress = ProgressReporter(len(txt_files), task=task)
    for start in range(0, len(txt_files), batch_size):
        chunk = []
        for path in txt_files[start:start + batch_size]:
            cloud = read_point_txt(path, num_columns=6, delimiter=',')
            check_finite(cloud, f'ModelNet sample {path!r}')
            chunk.append(cloud)
            sizes.append((path, len(cloud)))
        points.extend(furthest_point_subsample(chunk, num_points))
        progress.update(len(chunk))
    progress.finish()
    message = describe_short_files(sizes, num_points)
    if message is not None:
        print_log(
            f'{log_name}: {message}', logger='current', level=logging.WARNING)
    cache_labels = [np.array([label], dtype=np.int32) for label in labels]
    os.makedirs(osp.dirname(osp.abspath(cache_file)), exist_ok=True)
    atomic_pickle_dump([points, cache_labels], cache_file)
    return points

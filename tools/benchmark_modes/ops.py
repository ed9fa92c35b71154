"""Point operators: furthest point sampling and kNN vs naive references.

Times the plugin's ``furthest_point_sample`` (N -> S points) and ``knn``
(k neighbours of the S sampled centres among the N points) against naive
implementations (FPS looping over the batch, kNN by a full sort of the
whole distance matrix) and prints the times and the speed-up as a table.
"""
import argparse
import statistics
import time
from typing import Callable, List, Tuple

import torch
from torch import Tensor

from projects.I2PMAE.i2pmae.ops import furthest_point_sample, knn
from ._shared import synchronize

#: the options: name, type, default, help
OPTIONS = (
    ('--batch-size', int, 32, 'clouds per batch (B)'),
    ('--num-points', int, 2048, 'points per cloud (N)'),
    ('--num-samples', int, 512, 'FPS samples, also the kNN queries (S)'),
    ('--k', int, 16, 'neighbours per query (k)'),
    ('--repeats', int, 3, 'timed runs per measurement (after one warm-up '
     'run); the median is reported'),
    ('--device', str, 'cpu', 'torch device, e.g. cpu or cuda'),
    ('--seed', int, 0, 'seed of the random clouds'),
    ('--threads', int, None, 'torch CPU threads (default: leave torch\'s '
     'setting)'),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the ``ops`` mode to its sub-parser ``parser``."""
    for name, kind, default, text in OPTIONS:
        parser.add_argument(name, type=kind, default=default, help=text)


def naive_furthest_point_sample(points: Tensor, num_samples: int) -> Tensor:
    """FPS one cloud at a time (a Python loop over the batch).

    Args:
        points (Tensor): ``[B, N, 3]`` coordinates.
        num_samples (int): samples per cloud.

    Returns:
        Tensor: ``[B, S]`` int64 indices.
    """
    out = []
    for cloud in points:
        chosen = torch.zeros(
            num_samples, dtype=torch.long, device=points.device)
        min_dist = torch.full_like(cloud[:, 0], float('inf'))
        for i in range(1, num_samples):
            dist = ((cloud - cloud[chosen[i - 1]])**2).sum(-1)
            min_dist = torch.minimum(min_dist, dist)
            chosen[i] = min_dist.argmax()
        out.append(chosen)
    return torch.stack(out)


def naive_knn(k: int, ref: Tensor, query: Tensor) -> Tuple[Tensor, Tensor]:
    """kNN by materialising all differences and fully sorting every row.

    Args:
        k (int): neighbours per query.
        ref (Tensor): ``[B, N, 3]`` reference points.
        query (Tensor): ``[B, M, 3]`` query points.

    Returns:
        tuple[Tensor, Tensor]: ``[B, M, k]`` squared distances and indices.
    """
    dist = ((query[:, :, None] - ref[:, None])**2).sum(-1)
    dist, idx = dist.sort(dim=-1, stable=True)
    return dist[..., :k], idx[..., :k]


def time_call(fn: Callable[[], object], repeats: int,
              device: torch.device) -> float:
    """Median wall time of ``fn`` in milliseconds, after one warm-up call.

    Args:
        fn (Callable): the work to time.
        repeats (int): number of timed calls.
        device (torch.device): synchronised around each call when CUDA.

    Returns:
        float: the median time in milliseconds.
    """
    fn()
    times: List[float] = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def run(args: argparse.Namespace) -> None:
    """Time the operators and print the table."""
    for name in ('batch_size', 'num_points', 'num_samples', 'k', 'repeats',
                 'threads'):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(
                f'--{name.replace("_", "-")} must be >= 1, got {value}')
    if args.num_samples > args.num_points or args.k > args.num_points:
        raise ValueError(f'--num-samples ({args.num_samples}) and --k '
                         f'({args.k}) must not exceed --num-points '
                         f'({args.num_points})')
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise ValueError(f'--device {args.device} requested but CUDA is not '
                         f'available')
    gen = torch.Generator().manual_seed(args.seed)
    points = torch.randn(
        args.batch_size, args.num_points, 3, generator=gen).to(device)
    centres_idx = furthest_point_sample(points, args.num_samples)
    centres = torch.gather(points, 1,
                           centres_idx.unsqueeze(-1).expand(-1, -1, 3))

    print(f'ops benchmark: device={device}, B={args.batch_size}, '
          f'N={args.num_points}, S={args.num_samples}, k={args.k}, '
          f'repeats={args.repeats} (median ms, 1 warm-up), '
          f'torch threads={torch.get_num_threads()}')
    header = (f'{"operator":<28}{"ours ms":>12}{"naive ms":>12}'
              f'{"speed-up":>10}  same result')
    print(header)
    print('-' * len(header))

    cases = [
        (f'FPS {args.num_points}->{args.num_samples}',
         lambda: furthest_point_sample(points, args.num_samples),
         lambda: naive_furthest_point_sample(points, args.num_samples)),
        (f'kNN k={args.k} ({args.num_samples} queries)',
         lambda: knn(args.k, points, centres),
         lambda: naive_knn(args.k, points, centres)),
    ]
    for name, ours, naive in cases:
        ours_ms = time_call(ours, args.repeats, device)
        naive_ms = time_call(naive, args.repeats, device)
        ours_out, naive_out = ours(), naive()
        if isinstance(ours_out, tuple):
            same = (
                torch.equal(ours_out[1], naive_out[1])
                and torch.allclose(ours_out[0], naive_out[0]))
        else:
            same = torch.equal(ours_out, naive_out)
        print(
            f'{name:<28}{ours_ms:>12.1f}{naive_ms:>12.1f}'
            f'{naive_ms / ours_ms:>9.1f}x  {"yes" if same else "NO"}',
            flush=True)

"""Back-projection: 16-tap bicubic gather vs grid_sample, against official.

The official code back-projects a teacher map onto 3D points by upsampling
it to the ``S x S`` image with ``F.interpolate(mode='bicubic')`` and
reading each point's pixel. This mode compares two ways of getting those
values without the full-resolution tensor:

- ``ours``: ``MultiViewDepthProjector.back_project``, which evaluates the
  4x4 bicubic taps of each pixel (``gather_bicubic_upsampled``);
- ``grid_sample``: ``F.grid_sample(mode='bicubic', padding_mode='border',
  align_corners=False)`` at each pixel's centre, the same function reached
  through normalised grid coordinates.

It prints the median time of both on random maps and their max absolute /
relative difference (and the share of values that differ at all) from the
official upsample-then-read values, computed a few channels at a time. With
``--fixture`` it also compares them on a parity fixture's recorded teacher
maps (``img_feats`` at every point, the CLS saliency at the top-scale
centres, and the averaged saliency against the recorded ``spatial_sals``).

Example::

    OMP_NUM_THREADS=1 python tools/benchmark.py back_projection \
        --batch-size 8 --channels 512 --num-points 2048 --repeats 5 \
        --threads 1 --fixture PATH/TO/i2pmae_official_parity_small.pt
"""
import argparse
import os.path as osp
import statistics
import time
from typing import Callable, List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from projects.I2PMAE.i2pmae.models.multiview_depth_projector import (
    MultiViewDepthProjector, ProjectionMeta)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command line options of the ``back_projection`` mode.

    Args:
        parser (argparse.ArgumentParser): the mode's sub-parser.
    """
    parser.add_argument(
        '--batch-size', type=int, default=8, help='clouds per batch (B)')
    parser.add_argument(
        '--channels', type=int, default=512, help='map channels (C)')
    parser.add_argument(
        '--num-points',
        type=int,
        default=2048,
        help='points per cloud, also the sampled points (M)')
    parser.add_argument(
        '--map-size', type=int, default=14, help='map side length (h = w)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=5,
        help='timed runs per measurement (after one warm-up run); the '
        'median is reported')
    parser.add_argument(
        '--chunk',
        type=int,
        default=16,
        help='channels upsampled at a time for the official reference')
    parser.add_argument(
        '--fixture',
        default=None,
        help='official-parity fixture (.pt) to compare on as well')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random inputs')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch CPU threads (default: leave torch\'s setting)')


def _pixels(projector: MultiViewDepthProjector, xyz: Tensor,
            meta: ProjectionMeta) -> Tensor:
    """``[V * B, M, 2]`` pixels of the points, clamped like back_project."""
    pixel = projector._pixel_of(projector._to_views(xyz), meta)
    return pixel.clamp(0, meta.image_size - 1)


def grid_sample_back_project(projector: MultiViewDepthProjector, maps: Tensor,
                             xyz: Tensor, meta: ProjectionMeta) -> Tensor:
    """Back-projection with ``F.grid_sample`` at each pixel's centre.

    Pixel ``d`` of an ``S``-pixel axis is upsampled from the source
    coordinate ``(d + 0.5) * h / S - 0.5``, which is the normalised grid
    coordinate ``(2 * d + 1) / S - 1`` for ``align_corners=False``; border
    padding clamps the taps like ``F.interpolate`` does.

    Args:
        projector (MultiViewDepthProjector): the projector of ``meta``.
        maps (Tensor): ``[V * B, C, h, w]`` maps.
        xyz (Tensor): ``[B, M, 3]`` points.
        meta (ProjectionMeta): the projector's pixel mapping.

    Returns:
        Tensor: ``[V, B, M, C]`` sampled values.
    """
    pixel = _pixels(projector, xyz, meta)
    coord = (2 * pixel.to(maps.dtype) + 1) / meta.image_size - 1
    grid = coord.flip(-1).unsqueeze(2)  # (x = column, y = row)
    out = F.grid_sample(
        maps, grid, mode='bicubic', padding_mode='border',
        align_corners=False)  # [V * B, C, M, 1]
    return out[..., 0].transpose(1, 2).reshape(meta.num_views, meta.batch_size,
                                               -1, maps.shape[1])


def official_back_project(projector: MultiViewDepthProjector,
                          maps: Tensor,
                          xyz: Tensor,
                          meta: ProjectionMeta,
                          chunk: int = 16) -> Tensor:
    """The official upsample-then-read, ``chunk`` channels at a time.

    Args:
        projector (MultiViewDepthProjector): the projector of ``meta``.
        maps (Tensor): ``[V * B, C, h, w]`` maps.
        xyz (Tensor): ``[B, M, 3]`` points.
        meta (ProjectionMeta): the projector's pixel mapping.
        chunk (int): channels upsampled at once. Defaults to 16.

    Returns:
        Tensor: ``[V, B, M, C]`` sampled values.
    """
    size = meta.image_size
    pixel = _pixels(projector, xyz, meta)
    flat = (pixel[..., 0] * size + pixel[..., 1]).unsqueeze(1)
    parts = []
    for part in maps.split(chunk, dim=1):
        full = F.interpolate(
            part, size=(size, size), mode='bicubic', align_corners=False)
        index = flat.expand(part.shape[0], part.shape[1], -1)
        parts.append(torch.gather(full.flatten(2), 2, index))
    values = torch.cat(parts, dim=1).transpose(1, 2)
    return values.reshape(meta.num_views, meta.batch_size, -1, maps.shape[1])


def difference(actual: Tensor, expected: Tensor) -> Tuple[float, float, float]:
    """Max absolute / relative difference and the share of unequal values.

    Args:
        actual (Tensor): values to check.
        expected (Tensor): reference values of the same shape.

    Returns:
        tuple[float, float, float]: max absolute difference, that divided
        by the largest reference magnitude, and the fraction of elements
        that differ at all.
    """
    diff = (actual.double() - expected.double()).abs()
    max_abs = diff.max().item()
    scale = max(expected.abs().max().item(), 1e-30)
    return max_abs, max_abs / scale, (diff > 0).double().mean().item()


def time_call(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` in milliseconds, after one warm-up call.

    Args:
        fn (Callable): the work to time.
        repeats (int): number of timed calls.

    Returns:
        float: the median time in milliseconds.
    """
    fn()
    times: List[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def _accuracy_row(name: str, projector: MultiViewDepthProjector, maps: Tensor,
                  xyz: Tensor, meta: ProjectionMeta, chunk: int) -> str:
    """One accuracy line: ours and grid_sample against official."""
    with torch.no_grad():
        official = official_back_project(projector, maps, xyz, meta, chunk)
        cells = [
            difference(projector.back_project(maps, xyz, meta), official),
            difference(
                grid_sample_back_project(projector, maps, xyz, meta), official)
        ]
    text = ''.join(f'{a:>11.3e}{r:>11.3e}{100 * s:>9.1f}%'
                   for a, r, s in cells)
    return f'{name:<34}{text}'


def run(args: argparse.Namespace) -> None:
    """Time and compare the back-projections and print the tables.

    Args:
        args (argparse.Namespace): parsed options of :func:`add_arguments`.
    """
    for name in ('batch_size', 'channels', 'num_points', 'map_size', 'repeats',
                 'chunk'):
        if getattr(args, name) < 1:
            raise ValueError(f'--{name.replace("_", "-")} must be >= 1, got '
                             f'{getattr(args, name)}')
    if args.fixture is not None and not osp.isfile(args.fixture):
        raise ValueError(f'--fixture: file not found: {args.fixture}')
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f'--threads must be >= 1, got {args.threads}')
        torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    projector = MultiViewDepthProjector()
    clouds = torch.randn(args.batch_size, args.num_points, 3, generator=gen)
    _, meta = projector(clouds)
    maps = torch.randn(
        projector.num_views * args.batch_size,
        args.channels,
        args.map_size,
        args.map_size,
        generator=gen)
    shape = 'x'.join(str(s) for s in maps.shape)

    print(f'back_projection benchmark: maps [{shape}], '
          f'{args.num_points} points per cloud, image '
          f'{projector.image_size}, repeats={args.repeats} (median ms, '
          f'1 warm-up), torch threads={torch.get_num_threads()}')
    header = f'{"case":<34}{"ours ms":>12}{"grid_sample ms":>16}'
    print(header)
    print('-' * len(header))
    with torch.no_grad():
        ours_ms = time_call(lambda: projector.back_project(maps, clouds, meta),
                            args.repeats)
        grid_ms = time_call(
            lambda: grid_sample_back_project(projector, maps, clouds, meta),
            args.repeats)
    print(
        f'{"random maps, no_grad":<34}{ours_ms:>12.1f}{grid_ms:>16.1f}',
        flush=True)

    print('\ndifference from the official upsample-then-read '
          '(max abs, max rel, share of values that differ)')
    header = (f'{"input":<34}{"ours abs":>11}{"rel":>11}{"differ":>10}'
              f'{"grid abs":>11}{"rel":>11}{"differ":>10}')
    print(header)
    print('-' * len(header))
    print(
        _accuracy_row('random maps, float32', projector, maps, clouds, meta,
                      args.chunk),
        flush=True)
    print(
        _accuracy_row('random maps, float64', projector, maps.double(),
                      clouds.double(), meta, args.chunk),
        flush=True)
    if args.fixture is not None:
        _fixture_rows(args.fixture, projector, args.chunk)


def _fixture_rows(path: str, projector: MultiViewDepthProjector,
                  chunk: int) -> None:
    """Accuracy lines on a parity fixture's recorded teacher maps."""
    # a trusted, project-owned file holding plain python containers
    fixture = torch.load(path, weights_only=False)
    records = fixture['records']
    points = fixture['points']
    _, meta = projector(points)
    side = records['img_feats'].shape[-1]
    saliency = records['img_attn_cls'][:, 0, 1:].reshape(-1, 1, side, side)
    centres = records['centers'][-1]
    name = osp.basename(path)
    print(f'fixture {name}:')
    print(
        _accuracy_row('  img_feats at every point', projector,
                      records['img_feats'], points, meta, chunk))
    print(
        _accuracy_row('  saliency at top centres', projector, saliency,
                      centres, meta, chunk))
    with torch.no_grad():
        ours = projector.back_project(saliency, centres, meta)
        grid = grid_sample_back_project(projector, saliency, centres, meta)
        official = official_back_project(projector, saliency, centres, meta)
    recorded = records['spatial_sals']
    cells = [
        difference(values.mean(0)[..., 0], recorded)
        for values in (ours, grid, official)
    ]
    text = ', '.join(f'{label} {a:.3e} / {r:.3e}'
                     for label, (a, r, _) in zip(('ours', 'grid_sample',
                                                  'official re-run'), cells))
    print(f'  spatial_sals vs recorded (abs / rel): {text}')

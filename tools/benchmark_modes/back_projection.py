"""Back-projection: 16-tap bicubic gather vs grid_sample, against official.

The official code upsamples a teacher map to the ``S x S`` image with
``F.interpolate(mode='bicubic')`` and reads each point's pixel. ``ours``
(``MultiViewDepthProjector.back_project``: the 4x4 taps of each pixel) and
``grid_sample`` (bicubic, border padding, ``align_corners=False``, at each
pixel's centre) get those values without the full-resolution tensor. This
mode prints their median times and their difference from the official
values on random maps and, with ``--fixture``, on a parity fixture's
recorded teacher maps and ``spatial_sals``.

Example::

    OMP_NUM_THREADS=1 python tools/benchmark.py back_projection \
        --batch-size 8 --channels 512 --num-points 2048 --repeats 5 \
        --threads 1 --fixture PATH/TO/i2pmae_official_parity_small.pt
"""
import argparse
import os.path as osp
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from projects.I2PMAE.i2pmae.models.multiview_depth_projector import (
    MultiViewDepthProjector, ProjectionMeta)
from .ops import time_call

#: the integer options, each at least 1: (name, default, help)
SIZE_OPTIONS = (
    ('batch-size', 8, 'clouds per batch (B)'),
    ('channels', 512, 'map channels (C)'),
    ('num-points', 2048, 'points per cloud, also the sampled points (M)'),
    ('map-size', 14, 'map side length (h = w)'),
    ('repeats', 5, 'timed runs per measurement (after one warm-up run); '
     'the median is reported'),
    ('chunk', 16, 'channels upsampled at a time for the official reference'),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command line options of the ``back_projection`` mode.

    Args:
        parser (argparse.ArgumentParser): the mode's sub-parser.
    """
    for name, default, text in SIZE_OPTIONS:
        parser.add_argument(f'--{name}', type=int, default=default, help=text)
    parser.add_argument(
        '--fixture',
        help='official-parity fixture (.pt) to compare on as well')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random inputs')
    parser.add_argument(
        '--threads',
        type=int,
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


def _print_accuracy(name: str, projector: MultiViewDepthProjector,
                    maps: Tensor, xyz: Tensor, meta: ProjectionMeta,
                    chunk: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Print one accuracy line: ours and grid_sample against official.

    Args:
        name (str): the line's label.
        projector, maps, xyz, meta: as for :func:`official_back_project`.
        chunk (int): channels upsampled at once by the official way.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ours, grid_sample's and the official
        ``[V, B, M, C]`` values.
    """
    with torch.no_grad():
        values = (projector.back_project(maps, xyz, meta),
                  grid_sample_back_project(projector, maps, xyz, meta),
                  official_back_project(projector, maps, xyz, meta, chunk))
    ours, grid, official = values
    text = ''.join(f'{a:>11.3e}{r:>11.3e}{100 * s:>9.1f}%'
                   for a, r, s in (difference(ours, official),
                                   difference(grid, official)))
    print(f'{name:<34}{text}', flush=True)
    return values


def _print_header(header: str) -> None:
    print(header)
    print('-' * len(header))


def run(args: argparse.Namespace) -> None:
    """Time and compare the back-projections and print the tables.

    Args:
        args (argparse.Namespace): parsed options of :func:`add_arguments`.
    """
    for name, _, _ in SIZE_OPTIONS:
        value = getattr(args, name.replace('-', '_'))
        if value < 1:
            raise ValueError(f'--{name} must be >= 1, got {value}')
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
    shape = (projector.num_views * args.batch_size, args.channels,
             args.map_size, args.map_size)
    maps = torch.randn(shape, generator=gen)

    print(f'back_projection benchmark: maps [{"x".join(map(str, shape))}], '
          f'{args.num_points} points per cloud, image '
          f'{projector.image_size}, repeats={args.repeats} (median ms, '
          f'1 warm-up), torch threads={torch.get_num_threads()}')
    _print_header(f'{"case":<34}{"ours ms":>12}{"grid_sample ms":>16}')
    with torch.no_grad():
        ours_ms = time_call(lambda: projector.back_project(maps, clouds, meta),
                            args.repeats, torch.device('cpu'))
        grid_ms = time_call(
            lambda: grid_sample_back_project(projector, maps, clouds, meta),
            args.repeats, torch.device('cpu'))
    print(
        f'{"random maps, no_grad":<34}{ours_ms:>12.1f}{grid_ms:>16.1f}',
        flush=True)

    print('\ndifference from the official upsample-then-read '
          '(max abs, max rel, share of values that differ)')
    _print_header(f'{"input":<34}{"ours abs":>11}{"rel":>11}{"differ":>10}'
                  f'{"grid abs":>11}{"rel":>11}{"differ":>10}')
    for dtype in ('float32', 'float64'):
        _print_accuracy(f'random maps, {dtype}', projector,
                        maps.to(getattr(torch, dtype)),
                        clouds.to(getattr(torch, dtype)), meta, args.chunk)
    if args.fixture is not None:
        _fixture_rows(args.fixture, projector, args.chunk)


def _fixture_rows(path: str, projector: MultiViewDepthProjector,
                  chunk: int) -> None:
    """Accuracy lines on a parity fixture's recorded teacher maps."""
    # a trusted, project-owned file holding plain python containers
    fixture = torch.load(path, weights_only=False)
    records, points = fixture['records'], fixture['points']
    _, meta = projector(points)
    side = records['img_feats'].shape[-1]
    saliency = records['img_attn_cls'][:, 0, 1:].reshape(-1, 1, side, side)
    centres = records['centers'][-1]
    print(f'fixture {osp.basename(path)}:')
    _print_accuracy('  img_feats at every point', projector,
                    records['img_feats'], points, meta, chunk)
    values = _print_accuracy('  saliency at top centres', projector, saliency,
                             centres, meta, chunk)
    cells = [
        difference(v.mean(0)[..., 0], records['spatial_sals']) for v in values
    ]
    text = ', '.join(f'{label} {a:.3e} / {r:.3e}'
                     for label, (a, r, _) in zip(('ours', 'grid_sample',
                                                  'official re-run'), cells))
    print(f'  spatial_sals vs recorded (abs / rel): {text}')

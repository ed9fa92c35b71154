"""teacher_precision: speed and error of a half-precision 2D teacher.

Builds the model of a pretraining config (the teacher randomly initialised
unless ``--pretrained-teacher``), projects random unit-sphere clouds into
the config's depth images and, for float32 and every half precision asked
for, times the teacher's forward and compares with float32:

* the teacher's patch features and its class-token attention (relative
  error: max absolute error over max absolute float32 value);
* the 2D saliency of the top-scale tokens and the guided mask sampled from
  it with the same random state (share of tokens whose mask differs);
* ``loss_2d`` and ``loss_3d`` of the whole pretraining forward with the
  float32 run's mask injected, so that only the teacher's precision
  differs, and with each precision sampling its own mask.

Example::

    python tools/benchmark.py teacher_precision \
        --config configs/i2pmae_pretrain.py --batch-size 8
"""
import argparse
from typing import Dict, Optional

import torch

from ._shared import random_unit_clouds
from .ops import time_call
from .pretrain import add_model_arguments, build_model

#: every precision the teacher takes besides float32
HALF_PRECISIONS = ('bf16', 'fp16')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``teacher_precision`` mode."""
    add_model_arguments(parser, 'teacher is measured')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-points', type=int, default=2048)
    parser.add_argument(
        '--repeats', type=int, default=3, help='timed teacher forwards')
    parser.add_argument(
        '--precisions',
        nargs='+',
        choices=HALF_PRECISIONS,
        default=None,
        help='half precisions to compare with float32 (default: bf16 on '
        'CPU, fp16 and bf16 on CUDA)')


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """Max absolute error of ``actual`` over max ``|expected|``.

    Args:
        actual (Tensor): the half-precision result.
        expected (Tensor): the float32 result, same shape.

    Returns:
        float: the relative error.
    """
    err = (actual.double() - expected.double()).abs().max().item()
    return err / max(expected.abs().max().item(), 1e-12)


@torch.no_grad()
def measure_precision(model,
                      points: torch.Tensor,
                      precision: str,
                      repeats: int,
                      top_mask: Optional[torch.Tensor] = None) -> Dict:
    """Time the teacher at ``precision`` and run the pretraining forward.

    Args:
        model (I2PMAE): a model with a teacher, in train mode.
        points (Tensor): ``[B, N, 3]`` clouds on the model's device.
        precision (str): the teacher's ``precision`` for this measurement.
        repeats (int): timed teacher forwards (one untimed before them).
        top_mask (Tensor, optional): bool ``[B, G_top]`` mask to inject into
            a second forward (the float32 run's mask); the run's own
            sampled mask when None.

    Returns:
        dict: ``ms`` (median teacher forward), ``feats``, ``attn``,
        ``saliency``, ``mask`` (top scale, sampled), ``losses`` (own mask)
        and ``losses_fixed_mask`` (``top_mask`` injected).
    """
    model.teacher.precision = precision
    images, _ = model.projector(points, check_values=False)
    ms = time_call(lambda: model.teacher(images), repeats, points.device)
    torch.manual_seed(1)
    out = model.forward_pretrain(points, check_values=False)
    # the same random state as the sampling forward for everything else
    # (drop path), with the mask injected
    torch.manual_seed(1)
    fixed = model.forward_pretrain(
        points,
        top_mask=out['masks'][-1] if top_mask is None else top_mask,
        check_values=False)['losses']
    return dict(
        ms=ms,
        feats=out['img_feats'],
        attn=out['img_attn'],
        saliency=out['saliency'],
        mask=out['masks'][-1],
        losses=out['losses'],
        losses_fixed_mask=fixed)


def run(args: argparse.Namespace) -> None:
    """Measure and print the table."""
    device = torch.device(args.device)
    precisions = args.precisions or (('fp16',
                                      'bf16') if device.type == 'cuda' else
                                     ('bf16', ))
    torch.manual_seed(0)
    model = build_model(args.config, args.pretrained_teacher,
                        args.cfg_options).to(device)
    if not model.with_teacher:
        raise SystemExit(f'error: {args.config} builds no 2D teacher '
                         '(model.teacher is not set)')
    model.train()
    pts = random_unit_clouds(args.batch_size, args.num_points, device)
    ref = measure_precision(model, pts, 'fp32', args.repeats)
    rows = [('fp32', ref, None)]
    for precision in precisions:
        half = measure_precision(model, pts, precision, args.repeats,
                                 ref['mask'])
        rows.append((precision, half, ref))
    n_images = args.batch_size * model.projector.num_views
    print(f'config: {args.config}  batch: {args.batch_size}  device: '
          f'{device}  teacher forward on {n_images} images (median of '
          f'{args.repeats})')
    print(f'{"precision":<9} {"ms":>9} {"speed-up":>8} {"feats err":>10} '
          f'{"attn err":>9} {"saliency":>9} {"mask diff":>9} '
          f'{"loss_2d":>9} {"err":>9} {"loss_3d err":>11}')
    for precision, res, base in rows:
        loss_2d = res['losses']['loss_2d'].item()
        if base is None:
            print(f'{precision:<9} {res["ms"]:9.1f} {1:8.2f}x '
                  f'{"-":>10} {"-":>9} {"-":>9} {"-":>9} '
                  f'{loss_2d:9.5f} {"-":>9} {"-":>11}')
            continue
        err_2d, err_3d = (
            relative_error(res['losses_fixed_mask'][key],
                           base['losses_fixed_mask'][key])
            for key in ('loss_2d', 'loss_3d'))
        mask_diff = (res['mask'] != base['mask']).float().mean().item()
        print(f'{precision:<9} {res["ms"]:9.1f} '
              f'{base["ms"] / res["ms"]:8.2f}x '
              f'{relative_error(res["feats"], base["feats"]):10.2e} '
              f'{relative_error(res["attn"], base["attn"]):9.2e} '
              f'{relative_error(res["saliency"], base["saliency"]):9.2e} '
              f'{mask_diff:9.2%} {loss_2d:9.5f} {err_2d:9.2e} '
              f'{err_3d:11.2e}')
    print('errors against fp32: features, attention and saliency relative '
          'to their max |value|; mask diff: share of top-scale tokens '
          'sampled differently with the same random state; loss_2d '
          "(own mask) and the losses' relative errors with the fp32 run's "
          'mask injected')

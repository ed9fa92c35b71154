"""Class-token attention of a trained 2D teacher beside a random one.

Renders clouds of a ModelNet40-h5 folder into the multi-view depth images
the I2P-MAE teacher sees (clouds normalised) and draws,
per cloud, the first view's depth image, the last-block CLS-to-patch
attention of the teacher checkpoint written by
``tools/train_depth_teacher.py`` (its sizes are read from ``CKPT.json``)
and that of the same tower randomly initialised. It prints how much of the
attention sits on patches that the shape covers, over every view of the
drawn clouds, beside the share of such patches (what uniform attention
would give).

Example::

    python tools/visualize_teacher_attention.py \
        --data-root data/synthetic/modelnet40_ply_hdf5_2048 \
        --teacher work_dirs/depth_teacher/depth_teacher.pt \
        --out work_dirs/depth_teacher/attention.png
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor

import projects.I2PMAE.i2pmae  # noqa: F401
from projects.I2PMAE.i2pmae.models import CLIPTeacher, MultiViewDepthProjector
from tools.train_depth_teacher import PIPELINE, batch_of, load_split
from tools.visualize_masking import save_figure


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line ``argv`` (``sys.argv`` when None)."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--data-root', required=True, help='a modelnet40_ply_hdf5_2048 folder')
    parser.add_argument(
        '--teacher',
        required=True,
        help='checkpoint of tools/train_depth_teacher.py (with its .json)')
    parser.add_argument('--out', required=True, help='the PNG to write')
    parser.add_argument(
        '--split', default='test', choices=['train', 'test'], help='split')
    parser.add_argument(
        '--samples', type=int, default=4, help='clouds to draw (4)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random tower (0)')
    args = parser.parse_args(argv)
    if args.samples < 1:
        parser.error(f'--samples must be positive, got {args.samples}')
    return args


def teacher_config(checkpoint: str) -> Dict:
    """``model_name``, ``vision_cfg`` and ``embed_dim`` of a teacher.

    Raises:
        FileNotFoundError: ``CHECKPOINT.json`` (the training log) is
            missing.
    """
    log_file = checkpoint + '.json'
    if not osp.isfile(log_file):
        raise FileNotFoundError(
            f'{log_file} not found: the sizes of the teacher {checkpoint} '
            'are read from the log tools/train_depth_teacher.py writes '
            'beside it')
    with open(log_file) as f:
        log = json.load(f)
    vision_cfg = dict(log['vision_cfg'])
    embed_dim = vision_cfg.pop('embed_dim')
    return dict(
        model_name=log['model_name'],
        vision_cfg=vision_cfg,
        embed_dim=embed_dim)


def shape_patches(images: Tensor, patch_size: int) -> Tensor:
    """Which patches the shape covers: ``[N, h * w]`` booleans.

    A pixel belongs to the shape when it differs from the empty
    background, the top-left pixel of its image (the projector centres the
    shape with a margin).
    """
    background = images[:, :1, :1, :1]
    covered = (images[:, :1] != background).float()
    return F.max_pool2d(covered, patch_size).flatten(1) > 0


def attention_on_shape(attn: Tensor, on_shape: Tensor) -> float:
    """Share of the attention mass on shape patches (all images)."""
    return (attn * on_shape).sum().item() / attn.sum().item()


def draw(images: Tensor, maps: Dict[str, Tensor], grid: tuple, path: str,
         num_clouds: int) -> None:
    """Depth image and each teacher's attention, one row per cloud."""
    fig, axes = plt.subplots(
        num_clouds,
        1 + len(maps),
        figsize=(2.4 * (1 + len(maps)), 2.4 * num_clouds),
        squeeze=False)
    for row in range(num_clouds):
        axes[row, 0].imshow(images[row, 0].numpy(), cmap='gray')
        axes[row, 0].set_title('depth image (view 1)', fontsize=8)
        for col, (name, attn) in enumerate(maps.items(), start=1):
            axes[row, col].imshow(attn[row].view(grid).numpy(), cmap='viridis')
            axes[row, col].set_title(name, fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    save_figure(fig, path)


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    """Draw the figure and print the attention on the shape.

    Returns:
        dict: attention share on shape patches per teacher, and the share
        of shape patches (``uniform``).
    """
    args = parse_args(argv)
    try:
        cfg = teacher_config(args.teacher)
        dataset = load_split(args.data_root, args.split, PIPELINE)
        teachers = {
            'trained teacher': CLIPTeacher(pretrained=args.teacher, **cfg)
        }
        torch.manual_seed(args.seed)
        teachers['random teacher'] = CLIPTeacher(pretrained=None, **cfg)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f'error: {err}')
    num = min(args.samples, len(dataset))
    points, _ = batch_of(dataset, range(num))
    image_size = cfg['vision_cfg']['image_size']
    images, _ = MultiViewDepthProjector(image_size=image_size)(points)
    on_shape = shape_patches(images, cfg['vision_cfg']['patch_size'])
    maps = {name: teacher(images)[1] for name, teacher in teachers.items()}
    shares = {
        name: attention_on_shape(attn, on_shape)
        for name, attn in maps.items()
    }
    shares['uniform'] = on_shape.float().mean().item()
    draw(images, maps, teachers['random teacher'].patch_grid, args.out, num)
    print_log(
        f'attention on the shape\'s patches ({num} clouds x 3 views): ' +
        ', '.join(f'{name} {100 * v:.1f}%'
                  for name, v in shares.items()) + f'; figure: {args.out}',
        logger='current')
    return shares


if __name__ == '__main__':
    main()

"""Picture of I2P-MAE's inputs and 2D-guided mask for one point cloud.

Usage::

    python tools/visualize_masking.py CONFIG [--checkpoint CKPT]
        [--index 0] [--split train] [--seed 0] [--out masking.png]
        [--cfg-options key=value ...]

Rows: the three projected depth images; the teacher's CLS attention of
each view; the cloud coloured by the back-projected saliency of the
top-scale tokens, and the tokens the guided mask keeps visible (finest
scale, coloured) versus masked (grey).
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import matplotlib  # noqa: E402

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from mmdet3d.registry import DATASETS, MODELS  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402

import projects.I2PMAE.i2pmae  # noqa: E402,F401


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='pretraining config')
    parser.add_argument('--checkpoint', help='trained weights (optional)')
    parser.add_argument('--index', type=int, default=0, help='sample index')
    parser.add_argument(
        '--split',
        choices=['train', 'val'],
        default='train',
        help="which of the config's dataloaders to read")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='masking.png', help='PNG to write')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries')
    return parser.parse_args(argv)


def load_points(cfg: Config, split: str, index: int) -> torch.Tensor:
    """One cloud ``[1, N, 3]`` through the config's dataset pipeline."""
    loader = cfg.get(f'{split}_dataloader')
    if not loader:
        raise SystemExit(f'error: the config has no {split}_dataloader')
    dataset = DATASETS.build(loader['dataset'])
    if not 0 <= index < len(dataset):
        raise SystemExit(f'error: --index {index} is outside the dataset '
                         f'(0..{len(dataset) - 1})')
    return dataset[index]['inputs']['points'][None, :, :3].float()


def draw(out: dict, points: torch.Tensor, model, path: str) -> None:
    """Render the figure and write it atomically to ``path``."""
    proj = model.projector
    mean = torch.as_tensor(proj.mean).view(1, -1, 1, 1)
    std = torch.as_tensor(proj.std).view(1, -1, 1, 1)
    depth = (out['images'] * std + mean)[:, 0].numpy()
    h, w = out['img_feats'].shape[-2:]
    attn = out['img_attn'].reshape(-1, h, w).numpy()
    pts = points[0].numpy()
    top = out['scales'][-1].centers[0].numpy()
    fine = out['scales'][0].centers[0].numpy()
    sal = out['saliency'][0].numpy()
    visible = ~out['masks'][0][0].numpy()

    fig = plt.figure(figsize=(12, 12))
    views = ['view 1 (x, y | z)', 'view 2 (z, x | y)', 'view 3 (y, z | x)']
    for v in range(3):
        ax = fig.add_subplot(3, 3, v + 1)
        ax.imshow(depth[v], cmap='viridis')
        ax.set_title(f'depth image, {views[v]}')
        ax.axis('off')
        ax = fig.add_subplot(3, 3, v + 4)
        ax.imshow(attn[v], cmap='magma')
        ax.set_title('teacher CLS attention')
        ax.axis('off')
    ax = fig.add_subplot(3, 3, 7, projection='3d')
    ax.scatter(*pts.T, s=1, c='lightgrey', alpha=0.3)
    sc = ax.scatter(*top.T, s=40, c=sal, cmap='magma')
    fig.colorbar(sc, ax=ax, shrink=0.6, label='2D saliency')
    ax.set_title(f'{len(top)} top-scale tokens')
    ax = fig.add_subplot(3, 3, 8, projection='3d')
    ax.scatter(*fine[~visible].T, s=6, c='lightgrey')
    ax.scatter(*fine[visible].T, s=10, c='tab:red')
    ax.set_title(f'guided mask: {visible.sum()} of {len(fine)} fine tokens '
                 'visible')
    ax = fig.add_subplot(3, 3, 9)
    bins = np.histogram_bin_edges(sal, bins=20)
    ax.hist(sal, bins=bins, color='tab:purple')
    top_visible = ~out['masks'][-1][0].numpy()
    ax.hist(sal[top_visible], bins=bins, color='tab:red', alpha=0.7)
    ax.set_title('saliency: all (purple) / kept visible (red)')
    fig.tight_layout()
    out_dir = osp.dirname(osp.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix='.png')
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=80)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if osp.exists(tmp):
            os.remove(tmp)


def main(argv=None) -> None:
    """Build the model, run one pretraining forward, draw."""
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise SystemExit(f'error: config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg.model)
        points = load_points(cfg, args.split, args.index)
    if not getattr(model, 'with_teacher', False):
        raise SystemExit('error: the config has no 2D teacher to visualise')
    if args.checkpoint:
        if not osp.isfile(args.checkpoint):
            raise SystemExit(f'error: checkpoint not found: {args.checkpoint}')
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    else:
        model.init_weights()
    model.eval()
    with torch.no_grad():
        out = model.forward_pretrain(points)
    draw(out, points, model, args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()

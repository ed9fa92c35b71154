"""Pictures of I2P-MAE's pretraining forward: the 2D-guided mask and the
reconstruction of the masked tokens.

``--out`` (the cloud ``--index``): rows are the three projected depth
images; the teacher's CLS attention of each view; the cloud coloured by the
back-projected saliency of the top-scale tokens, and the tokens the guided
mask keeps visible (finest scale, coloured) versus masked (grey).

``--reconstruction`` (``--samples`` clouds, one row each, from the same
forward pass: ``--index`` and more spread evenly over the dataset): the
points of the visible finest-scale tokens (what the encoder reads); the
ground-truth neighbourhoods of the masked tokens at the decoded scale (the
3D target); the head's predicted neighbourhoods of those tokens (what the
Chamfer-L2 loss scores), each placed at its token's centre.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Sequence, Tuple

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
from projects.I2PMAE.i2pmae.datasets.file_io import atomic_path  # noqa: E402
from projects.I2PMAE.i2pmae.engine.config_checks import (  # noqa: E402
    CFG_OPTIONS_HELP, ConfigCheckError, apply_cfg_options)

#: colours of the reconstruction figure and their legend entries
VISIBLE_COLOUR = 'tab:blue'
TARGET_COLOUR = 'tab:green'
PREDICTED_COLOUR = 'tab:red'
LEGEND = ((VISIBLE_COLOUR, 'visible input points'),
          (TARGET_COLOUR, 'masked neighbourhoods (ground truth)'),
          (PREDICTED_COLOUR, 'masked neighbourhoods (predicted)'))


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments (usage: ``--help``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='pretraining config')
    parser.add_argument('--checkpoint', help='trained weights (optional)')
    parser.add_argument(
        '--index', type=int, default=0, help='(first) sample index')
    parser.add_argument(
        '--split',
        choices=['train', 'val'],
        default='train',
        help="which of the config's dataloaders to read")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='masking.png', help='PNG to write')
    parser.add_argument(
        '--reconstruction',
        metavar='PNG',
        help='also draw the reconstructed masked neighbourhoods to this PNG')
    parser.add_argument(
        '--samples',
        type=int,
        default=3,
        help='clouds in the --reconstruction figure (default: 3)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help=CFG_OPTIONS_HELP)
    args = parser.parse_args(argv)
    if args.samples < 1:
        parser.error(f'--samples must be at least 1, got {args.samples}')
    return args


def load_points(cfg: Config, split: str, first: int,
                count: int) -> Tuple[torch.Tensor, List[int]]:
    """Clouds through the config's dataset pipeline.

    Args:
        cfg (Config): the config.
        split (str): ``'train'`` or ``'val'``: whose dataloader to read.
        first (int): index of the first cloud.
        count (int): how many clouds: ``first`` and ``count - 1`` more
            spread evenly over the dataset (wrapping around its end), so
            that ordered datasets show different classes.

    Returns:
        tuple[Tensor, list[int]]: the clouds' xyz ``[count, N, 3]`` and
        their dataset indices.
    """
    loader = cfg.get(f'{split}_dataloader')
    if not loader:
        raise SystemExit(f'error: the config has no {split}_dataloader')
    dataset = DATASETS.build(loader['dataset'])
    size = len(dataset)
    if not 0 <= first < size:
        raise SystemExit(
            f'error: --index {first} is outside the dataset (0..{size - 1})')
    if count > size:
        raise SystemExit(f'error: --samples {count} is more than the '
                         f'{size} clouds of the dataset')
    indices = [(first + k * size // count) % size for k in range(count)]
    points = torch.stack(
        [dataset[i]['inputs']['points'][:, :3].float() for i in indices])
    return points, indices


def _views(maps: torch.Tensor, num_views: int, sample: int) -> torch.Tensor:
    """The views of one cloud from view-major ``[V * B, ...]`` maps."""
    return maps.reshape(num_views, -1, *maps.shape[1:])[:, sample]


def _scatter(ax, xyz: np.ndarray, **kwargs):
    """3D scatter with y (the shapes' up axis) drawn vertically."""
    return ax.scatter(xyz[:, 0], xyz[:, 2], xyz[:, 1], **kwargs)


def _frame(ax, extent: np.ndarray, title: str) -> None:
    """Same cube, labels and view for every 3D panel of a figure."""
    centre = extent.mean(0)
    half = (extent[1] - extent[0]).max() / 2
    x, y, z = [(centre[axis] - half, centre[axis] + half)
               for axis in (0, 2, 1)]
    ax.set(xlim=x, ylim=y, zlim=z, xlabel='x', ylabel='z', zlabel='y')
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=20, azim=-60)
    ax.set_title(title, fontsize=9)


def save_figure(fig, path: str) -> None:
    """Write ``fig`` to ``path`` atomically (a temporary file renamed).

    Args:
        fig (matplotlib.figure.Figure): the figure (closed afterwards).
        path (str): the PNG file.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=80, format='png')
    finally:
        plt.close(fig)


def draw(out: dict, points: torch.Tensor, model, path: str) -> None:
    """Draw the depth views, saliency and guided mask of the first cloud.

    Args:
        out (dict): :meth:`I2PMAE.forward_pretrain` of ``points``.
        points (Tensor): ``[B, N, 3]`` clouds (the first is drawn).
        model (I2PMAE): the model (its projector's normalisation).
        path (str): the PNG to write.
    """
    proj = model.projector
    mean = torch.as_tensor(proj.mean).view(1, -1, 1, 1)
    std = torch.as_tensor(proj.std).view(1, -1, 1, 1)
    num_views = proj.num_views
    depth = _views(out['images'] * std + mean, num_views, 0)[:, 0].numpy()
    h, w = out['img_feats'].shape[-2:]
    attn = _views(out['img_attn'].reshape(-1, h, w), num_views, 0).numpy()
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
    save_figure(fig, path)


def reconstruction_sets(out: dict, model) -> List[Dict[str, torch.Tensor]]:
    """Visible input, target and predicted points of every cloud.

    The head maps each masked token's decoded feature to the coordinates of
    its neighbourhood relative to the token's centre (``head.rec_3d``, as
    in :meth:`I2PMAEPretrainHead.loss`); here both the target and the
    prediction are moved to the token's centre.

    Args:
        out (dict): :meth:`I2PMAE.forward_pretrain` output.
        model (I2PMAE): the model that produced it.

    Returns:
        list[dict]: per cloud, ``visible`` ``[P, 3]`` (the distinct points
        of the visible finest-scale tokens), ``visible_tokens`` of
        ``fine_tokens``, ``centers`` ``[M, 3]`` (the masked tokens at the
        decoded scale), ``target`` and ``predicted`` ``[M, K, 3]`` (their
        neighbourhoods, absolute coordinates) and ``chamfer`` (the head's
        3D loss of the cloud's masked tokens).
    """
    s = model.decoded_scale
    scale, masks, head = out['scales'][s], out['masks'], model.head
    sets = []
    for b in range(len(scale.centers)):
        masked = masks[s][b]
        feats = out['decoded'][b][masked]
        pred = head.rec_3d(feats).reshape(len(feats), -1, 3)
        centers = scale.centers[b][masked]
        target = scale.neighborhoods[b][masked]
        fine_visible = ~masks[0][b]
        visible = out['scales'][0].neighborhoods_abs[b][fine_visible]
        sets.append(
            dict(
                visible=torch.unique(visible.reshape(-1, 3), dim=0),
                visible_tokens=fine_visible.sum(),
                fine_tokens=torch.tensor(len(fine_visible)),
                centers=centers,
                target=target + centers[:, None],
                predicted=pred + centers[:, None],
                chamfer=head.point_set_loss(pred, target)))
    return sets


def draw_reconstruction(sets: Sequence[Dict[str, torch.Tensor]],
                        indices: Sequence[int], path: str) -> None:
    """One row per cloud: visible input, ground truth, prediction.

    Args:
        sets (Sequence[dict]): :func:`reconstruction_sets` output.
        indices (Sequence[int]): the clouds' dataset indices (titles).
        path (str): the PNG to write.
    """
    fig = plt.figure(figsize=(13, 4.2 * len(sets)))
    for row, (item, index) in enumerate(zip(sets, indices)):
        item = {k: v.detach().cpu().numpy() for k, v in item.items()}
        visible = item['visible']
        target = item['target'].reshape(-1, 3)
        predicted = item['predicted'].reshape(-1, 3)
        both = np.concatenate([visible, target])
        extent = np.stack([both.min(0), both.max(0)])
        masked, group = item['target'].shape[:2]
        panels = [
            (None, f'cloud {index}: input, {item["visible_tokens"]} of '
             f'{item["fine_tokens"]} fine tokens visible ({len(visible)} '
             'points)'),
            ((target, TARGET_COLOUR), f'ground truth: {masked} masked '
             f'neighbourhoods x {group} points'),
            ((predicted, PREDICTED_COLOUR),
             f'predicted (Chamfer-L2 {float(item["chamfer"]):.4f})'),
        ]
        for col, (masked_points, title) in enumerate(panels):
            ax = fig.add_subplot(
                len(sets), 3, 3 * row + col + 1, projection='3d')
            if masked_points is None:
                _scatter(ax, visible, s=2, c=VISIBLE_COLOUR)
            else:
                _scatter(ax, visible, s=1, c=VISIBLE_COLOUR, alpha=0.15)
                _scatter(ax, masked_points[0], s=4, c=masked_points[1])
            _frame(ax, extent, title)
    handles = [
        plt.Line2D([], [], ls='', marker='o', color=c, label=label)
        for c, label in LEGEND
    ]
    fig.legend(handles=handles, loc='upper center', ncol=3)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (4.2 * len(sets))))
    save_figure(fig, path)


def main(argv=None) -> None:
    """Build the model, run one pretraining forward, draw."""
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise SystemExit(f'error: config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    try:
        apply_cfg_options(cfg, args.cfg_options)
    except ConfigCheckError as e:
        raise SystemExit(f'error: {e}')
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    count = args.samples if args.reconstruction else 1
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg.model)
        points, indices = load_points(cfg, args.split, args.index, count)
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
        if args.reconstruction:
            draw_reconstruction(
                reconstruction_sets(out, model), indices, args.reconstruction)
            print(f'wrote {args.reconstruction}')


if __name__ == '__main__':
    main()

"""Train a small open_clip ViT to classify multi-view depth images.

The images are those the I2P-MAE teacher sees during pretraining: clouds
of a ModelNet40-h5 folder (e.g. synthetic shapes generated with a seed
other than the pretraining and evaluation data) are normalised as in the
pretraining pipeline and rendered by the :class:`MultiViewDepthProjector`.
The objective is a linear classifier of the tower's class-token embedding
(every view on its own, cross-entropy); the test split of the same folder
measures the held-out accuracy.

The result is an open_clip-style training checkpoint (``epoch``, ``name``,
``state_dict`` with the image tower under ``visual.``; the classifier is
stored apart under ``classifier``) that
``CLIPTeacher(model_name, pretrained=OUT, vision_cfg=..., embed_dim=...)``
loads through its local-file path; ``OUT.json`` holds the per-epoch loss
and held-out accuracy.

Example::

    python tools/train_depth_teacher.py \
        --data-root data/synthetic_teacher_seed1/modelnet40_ply_hdf5_2048 \
        --out work_dirs/depth_teacher/depth_teacher.pt
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
import open_clip
import torch
import torch.nn.functional as F
from mmdet3d.registry import DATASETS
from mmengine.logging import print_log
from mmengine.runner import set_random_seed
from mmengine.utils import ProgressBar
from torch import Tensor

import projects.I2PMAE.i2pmae  # noqa: F401
from projects.I2PMAE.i2pmae.datasets.file_io import atomic_open, atomic_path
from projects.I2PMAE.i2pmae.models import MultiViewDepthProjector
from projects.I2PMAE.i2pmae.models.clip_checkpoint_loader import \
    UNUSED_TEXT_TOWER

#: the pretraining pipeline of the ShapeNet-55 configs without its random
#: scale and shift (they slowed the tower's learning down too much for a
#: CPU budget of minutes)
PIPELINE = [
    dict(type='PointCloudRandomSample', num_points=2048),
    dict(type='PointCloudNormalize'),
    dict(type='PackPointCloudInputs'),
]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line ``argv`` (``sys.argv`` when None)."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--data-root',
        required=True,
        help='a modelnet40_ply_hdf5_2048 folder (train split to train, '
        'test split held out)')
    parser.add_argument('--out', required=True, help='checkpoint to write')
    parser.add_argument(
        '--model-name',
        default='ViT-B-16',
        help='open_clip config whose other fields the tower keeps '
        '(default: ViT-B-16, as the teacher configs)')
    sizes = (
        ('--image-size', 224, 'image side (the projector\'s)'),
        ('--patch-size', 16, 'patch side'),
        ('--width', 128, 'tower width'),
        ('--layers', 4, 'transformer blocks'),
        ('--heads', 4, 'attention heads'),
        ('--embed-dim', 64, 'output dim of the tower'),
        ('--epochs', 12, 'passes over the training clouds'),
        ('--batch-size', 16, 'clouds per step (3 images each)'),
        ('--seed', 0, 'random seed'),
    )
    for flag, default, text in sizes:
        parser.add_argument(
            flag, type=int, default=default, help=f'{text} ({default})')
    parser.add_argument(
        '--lr', type=float, default=5e-4, help='AdamW peak learning rate')
    parser.add_argument(
        '--weight-decay', type=float, default=0.05, help='AdamW decay')
    args = parser.parse_args(argv)
    for flag, _, _ in sizes:
        name = flag[2:].replace('-', '_')
        if getattr(args, name) < (0 if name == 'seed' else 1):
            parser.error(f'{flag} must be positive, got {getattr(args, name)}')
    if args.width % args.heads:
        parser.error(f'--heads {args.heads} must divide --width {args.width}')
    if args.image_size % args.patch_size:
        parser.error(f'--patch-size {args.patch_size} must divide '
                     f'--image-size {args.image_size}')
    if open_clip.get_model_config(args.model_name) is None:
        parser.error(f'unknown open_clip --model-name {args.model_name!r}')
    if not osp.isdir(args.data_root):
        parser.error(f'--data-root {args.data_root} is not a folder')
    return args


def build_tower(args: argparse.Namespace) -> Tuple[torch.nn.Module, dict]:
    """The image tower to train: ``--model-name``'s config, given sizes.

    Returns:
        tuple[nn.Module, dict]: the open_clip ``VisionTransformer`` and its
        ``vision_cfg`` as a teacher config writes it (sizes, ``heads``,
        ``embed_dim``).
    """
    cfg = open_clip.get_model_config(args.model_name)
    teacher_cfg = dict(
        image_size=args.image_size,
        patch_size=args.patch_size,
        width=args.width,
        layers=args.layers,
        heads=args.heads,
        embed_dim=args.embed_dim)
    vision = dict(
        cfg['vision_cfg'],
        image_size=args.image_size,
        patch_size=args.patch_size,
        width=args.width,
        layers=args.layers,
        head_width=args.width // args.heads)
    clip = open_clip.CLIP(
        args.embed_dim,
        vision,
        UNUSED_TEXT_TOWER,
        quick_gelu=bool(cfg.get('quick_gelu', False)))
    return clip.visual, teacher_cfg


def load_split(data_root: str, split: str, pipeline: list):
    """The ModelNet40-h5 dataset of ``split`` with ``pipeline``."""
    return DATASETS.build(
        dict(
            type='ModelNet40H5Dataset',
            data_root=data_root,
            split=split,
            pipeline=pipeline,
            test_mode=split == 'test'))


def batch_of(dataset, indices: Sequence[int]) -> Tuple[Tensor, Tensor]:
    """Clouds ``[B, N, 3]`` and labels ``[B]`` of some dataset items."""
    items = [dataset[i] for i in indices]
    points = torch.stack([item['inputs']['points'][:, :3] for item in items])
    labels = torch.cat([item['data_samples'].gt_label for item in items])
    return points, labels


@torch.no_grad()
def evaluate(tower: torch.nn.Module, classifier: torch.nn.Linear,
             projector: MultiViewDepthProjector, dataset,
             batch_size: int) -> Dict[str, float]:
    """Accuracy of the classifier on ``dataset``.

    Returns:
        dict: ``image_accuracy`` (every view on its own) and
        ``cloud_accuracy`` (the views' logits averaged), in percent.
    """
    tower.eval()
    image_hits = cloud_hits = 0
    for start in range(0, len(dataset), batch_size):
        indices = range(start, min(start + batch_size, len(dataset)))
        points, labels = batch_of(dataset, indices)
        images, _ = projector(points)
        logits = classifier(tower(images))
        views = logits.view(projector.num_views, len(labels), -1)
        image_hits += (views.argmax(-1) == labels).sum().item()
        cloud_hits += (views.mean(0).argmax(-1) == labels).sum().item()
    return dict(
        image_accuracy=100.0 * image_hits /
        (projector.num_views * len(dataset)),
        cloud_accuracy=100.0 * cloud_hits / len(dataset))


def train(args: argparse.Namespace) -> dict:
    """Train the tower and write its checkpoint and log.

    Returns:
        dict: the log (arguments, ``vision_cfg``, per-epoch loss and
        held-out accuracy, seconds).
    """
    set_random_seed(args.seed)
    train_set = load_split(args.data_root, 'train', PIPELINE)
    test_set = load_split(args.data_root, 'test', PIPELINE)
    classes = list(train_set.metainfo['classes'])
    tower, teacher_cfg = build_tower(args)
    classifier = torch.nn.Linear(args.embed_dim, len(classes))
    params = list(tower.parameters()) + list(classifier.parameters())
    projector = MultiViewDepthProjector(image_size=args.image_size)
    steps_per_epoch = -(-len(train_set) // args.batch_size)
    total = args.epochs * steps_per_epoch
    optimizer = torch.optim.AdamW(
        params, lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=total, pct_start=0.1)
    log = dict(
        args=vars(args),
        model_name=args.model_name,
        vision_cfg=teacher_cfg,
        classes=classes,
        epochs=[])
    start = time.time()
    print_log(
        f'depth teacher: {len(train_set)} training / {len(test_set)} '
        f'held-out clouds, {len(classes)} classes, {projector.num_views} '
        f'views, {total} steps',
        logger='current')
    for epoch in range(args.epochs):
        tower.train()
        order = torch.randperm(len(train_set)).tolist()
        losses = []
        bar = ProgressBar(steps_per_epoch)
        for step in range(steps_per_epoch):
            points, labels = batch_of(
                train_set,
                order[step * args.batch_size:(step + 1) * args.batch_size])
            images, _ = projector(points)
            logits = classifier(tower(images))
            loss = F.cross_entropy(logits, labels.repeat(projector.num_views))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            bar.update()
        held_out = evaluate(tower, classifier, projector, test_set,
                            args.batch_size)
        log['epochs'].append(
            dict(
                epoch=epoch + 1,
                loss=sum(losses) / len(losses),
                first_loss=losses[0],
                **held_out))
        print_log(
            f'\nepoch {epoch + 1}/{args.epochs}: loss '
            f'{log["epochs"][-1]["loss"]:.4f}, held-out accuracy '
            f'{held_out["image_accuracy"]:.1f}% per image, '
            f'{held_out["cloud_accuracy"]:.1f}% per cloud',
            logger='current')
    log['seconds'] = time.time() - start
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    checkpoint = dict(
        epoch=args.epochs,
        name=f'depth-{args.model_name}',
        state_dict=tower.state_dict(prefix='visual.'),
        classifier=classifier.state_dict(),
        classes=classes)
    with atomic_path(args.out) as tmp:
        torch.save(checkpoint, tmp)
    with atomic_open(args.out + '.json') as f:
        json.dump(log, f, indent=1)
    print_log(
        f'written {args.out} (log {args.out}.json); the teacher config: '
        f'model_name={args.model_name!r}, vision_cfg={teacher_cfg}',
        logger='current')
    return log


def main(argv: Optional[List[str]] = None) -> dict:
    """Train from the command line ``argv``; see :func:`train`."""
    args = parse_args(argv)
    try:
        return train(args)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f'error: {err}')


if __name__ == '__main__':
    main()

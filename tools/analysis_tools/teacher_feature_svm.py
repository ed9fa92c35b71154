"""Linear-SVM accuracy of a 2D teacher's own features of the depth images.

How much do the 2D targets of I2P-MAE know about the evaluation classes?
Every cloud of a ModelNet40-h5 folder (normalised as in pretraining) is
rendered into the three depth images the teacher sees; the teacher's patch
features (after its projection, as the 2D targets) are max-pooled over the
patches and averaged over the views. A linear SVM is fitted on the train
split (C by cross-validation on it, features standardised, as the encoder
evaluation) and scored on the test split, for the trained teacher of
``tools/train_depth_teacher.py`` and for the same tower randomly
initialised. Nothing is selected on the test split.

Example::

    python tools/analysis_tools/teacher_feature_svm.py \
        --data-root data/synthetic/modelnet40_ply_hdf5_2048 \
        --teacher work_dirs/teacher/depth_teacher/depth_teacher.pt
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
import numpy as np
import torch
from mmengine.logging import print_log

import projects.I2PMAE.i2pmae  # noqa: F401
from projects.I2PMAE.i2pmae.evaluation.linear_svm import fit_linear_svm
from projects.I2PMAE.i2pmae.models import CLIPTeacher, MultiViewDepthProjector
from tools.train_depth_teacher import PIPELINE, batch_of, load_split
from tools.visualize_teacher_attention import teacher_config


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line ``argv`` (``sys.argv`` when None)."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--data-root',
        required=True,
        help='a modelnet40_ply_hdf5_2048 folder (train split fits, test '
        'split scores)')
    parser.add_argument(
        '--teacher',
        required=True,
        help='checkpoint of tools/train_depth_teacher.py (with its .json)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random tower (0)')
    parser.add_argument(
        '--batch-size', type=int, default=32, help='clouds per forward')
    return parser.parse_args(argv)


@torch.no_grad()
def teacher_features(teacher: CLIPTeacher, projector: MultiViewDepthProjector,
                     dataset,
                     batch_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Pooled teacher features ``[N, C]`` and labels ``[N]`` of a split."""
    features, labels = [], []
    for start in range(0, len(dataset), batch_size):
        points, label = batch_of(
            dataset, range(start, min(start + batch_size, len(dataset))))
        images, _ = projector(points)
        patch_feats = teacher(images)[0]  # [views * B, C, h, w]
        pooled = patch_feats.flatten(2).amax(-1)
        pooled = pooled.view(projector.num_views, len(label), -1).mean(0)
        features.append(pooled.float().numpy())
        labels.append(label.numpy())
    return np.concatenate(features), np.concatenate(labels)


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict[str, float]]:
    """Score the trained and the random teacher's features.

    Returns:
        dict: per teacher, ``cv_accuracy`` (train split) and ``accuracy``
        (test split) in percent and the chosen ``C``.
    """
    args = parse_args(argv)
    try:
        cfg = teacher_config(args.teacher)
        splits = {
            split: load_split(args.data_root, split, PIPELINE)
            for split in ('train', 'test')
        }
        teachers = {'trained': CLIPTeacher(pretrained=args.teacher, **cfg)}
        torch.manual_seed(args.seed)
        teachers['random'] = CLIPTeacher(pretrained=None, **cfg)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f'error: {err}')
    projector = MultiViewDepthProjector(
        image_size=cfg['vision_cfg']['image_size'])
    results = {}
    for name, teacher in teachers.items():
        fit_x, fit_y = teacher_features(teacher, projector, splits['train'],
                                        args.batch_size)
        test_x, test_y = teacher_features(teacher, projector, splits['test'],
                                          args.batch_size)
        fit = fit_linear_svm(fit_x, fit_y, seed=args.seed)
        accuracy = 100.0 * float(
            (fit.classifier.predict(test_x) == test_y).mean())
        results[name] = dict(
            cv_accuracy=fit.cv_accuracy, accuracy=accuracy, C=fit.C)
        print_log(
            f'{name} teacher: linear SVM on its pooled features, C={fit.C:g}'
            f' (cross-validated accuracy {fit.cv_accuracy:.1f}% on '
            f'{len(fit_y)} train clouds), {accuracy:.1f}% on {len(test_y)} '
            'test clouds',
            logger='current')
    return results


if __name__ == '__main__':
    main()

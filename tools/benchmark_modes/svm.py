"""svm: linear-SVM evaluation speed: feature extraction and SVM fit.

Generates ModelNet40-h5-sized data in memory (9843 train / 2468 test
clouds of 1024 points, 40 classes: each class a sphere with its own random
axis scales, labels drawn at random), times the encoder feature of a
config's model (``extract_feat``, evaluation mode, no gradients) batch by
batch, then times the linear SVM of ``LinearSVMMetric`` on features of the
full split sizes: standardised, C chosen by 5-fold cross-validation over
the default grid, and with a fixed C. On CPU only ``--extract-limit``
clouds go through the encoder; the features of the others copy an
extracted feature of the same class with a little noise (the accuracy is
then not printed: only the times count).
"""
import argparse
import time

import numpy as np
import torch

from ._shared import synchronize

#: the options: name, type, default, help
OPTIONS = (
    ('--config', str, 'configs/i2pmae_pretrain.py',
     'config whose model extracts the features'),
    ('--num-train', int, 9843, None),
    ('--num-test', int, 2468, None),
    ('--num-classes', int, 40, None),
    ('--num-points', int, 1024, None),
    ('--batch-size', int, 128, None),
    ('--extract-limit', int, None,
     'clouds run through the encoder (default: all on CUDA, 256 on CPU)'),
    ('--cv-folds', int, 5, None),
    ('--fixed-c', float, 0.01, 'C of the fixed-C fit'),
    ('--n-jobs', int, None, 'parallel cross-validation fits (joblib)'),
    ('--seed', int, 0, None),
    ('--device', str, 'cuda' if torch.cuda.is_available() else 'cpu', None),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the ``svm`` mode to its sub-parser ``parser``."""
    for name, kind, default, text in OPTIONS:
        parser.add_argument(name, type=kind, default=default, help=text)


def build_encoder(config: str):
    """The config's model with a random (untrained) teacher, weights as
    constructed (no ``init_weights``: the timing does not depend on them).

    Args:
        config (str): config path.

    Returns:
        nn.Module: the model, with ``extract_feat``.
    """
    from mmdet3d.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import projects.I2PMAE.i2pmae  # noqa: F401  (registers the models)
    cfg = Config.fromfile(config)
    if cfg.model.get('teacher'):
        cfg.model.teacher.pretrained = None
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        return MODELS.build(cfg.model)


def make_clouds(labels: np.ndarray, num_points: int, num_classes: int,
                rng: np.random.Generator) -> np.ndarray:
    """Unit-sphere clouds scaled along x/y/z by per-class factors.

    Args:
        labels (np.ndarray): ``[N]`` classes.
        num_points (int): points per cloud.
        num_classes (int): classes.
        rng (np.random.Generator): the random source.

    Returns:
        np.ndarray: ``[N, num_points, 3]`` float32 clouds.
    """
    axes = rng.uniform(0.3, 1.0, (num_classes, 3)).astype(np.float32)
    points = rng.standard_normal((len(labels), num_points, 3),
                                 dtype=np.float32)
    points /= np.linalg.norm(points, axis=-1, keepdims=True)
    return points * axes[labels][:, None, :]


def extract(model, clouds: np.ndarray, batch_size: int,
            device: torch.device) -> tuple:
    """Encoder features of ``clouds`` and the seconds spent.

    The first batch is run once untimed (warm-up).

    Args:
        model (nn.Module): a model with ``extract_feat(points)``.
        clouds (np.ndarray): ``[N, P, 3]``.
        batch_size (int): clouds per forward.
        device (torch.device): where the model runs.

    Returns:
        tuple[np.ndarray, float]: ``[N, C]`` features and seconds.
    """
    feats = []
    with torch.no_grad():
        model.extract_feat(torch.from_numpy(clouds[:batch_size]).to(device))
        synchronize(device)
        start = time.perf_counter()
        for i in range(0, len(clouds), batch_size):
            batch = torch.from_numpy(clouds[i:i + batch_size]).to(device)
            feats.append(model.extract_feat(batch).float().cpu().numpy())
        synchronize(device)
    return np.concatenate(feats), time.perf_counter() - start


def fill_features(feats: np.ndarray, labels: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Features for all ``labels`` from those of the first ``len(feats)``.

    Each missing feature copies an extracted one of the same class (any
    class when none was extracted) plus Gaussian noise of 5% of the
    features' spread.

    Args:
        feats (np.ndarray): ``[M, C]`` features of the first M samples.
        labels (np.ndarray): ``[N]`` classes of all samples (N >= M).
        rng (np.random.Generator): the random source.

    Returns:
        np.ndarray: ``[N, C]`` features.
    """
    known = len(feats)
    source = np.empty(len(labels) - known, dtype=np.int64)
    for i, label in enumerate(labels[known:]):
        same = np.flatnonzero(labels[:known] == label)
        source[i] = rng.choice(same) if len(same) else rng.integers(known)
    spread = feats.std(axis=0, keepdims=True) * 0.05
    noise = rng.standard_normal((len(source), feats.shape[1])) * spread
    return np.concatenate([feats, feats[source] + noise.astype(np.float32)])


def run(args: argparse.Namespace) -> None:
    """Measure and print the numbers."""
    from projects.I2PMAE.i2pmae.evaluation import (DEFAULT_C_GRID,
                                                   fit_linear_svm)

    device = torch.device(args.device)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    total = args.num_train + args.num_test
    limit = args.extract_limit
    if limit is None:
        limit = total if device.type == 'cuda' else 256
    limit = max(1, min(limit, total))
    labels = rng.integers(0, args.num_classes, total)
    clouds = make_clouds(labels[:limit], args.num_points, args.num_classes,
                         rng)
    model = build_encoder(args.config).to(device).eval()
    feats, seconds = extract(model, clouds, args.batch_size, device)
    print(f'config: {args.config}  device: {device}  batch: '
          f'{args.batch_size}  points: {args.num_points}')
    print(f'feature extraction: {limit} clouds in {seconds:.2f} s = '
          f'{limit / seconds:.1f} samples/s ({feats.shape[1]}-d features); '
          f'{args.num_train} + {args.num_test} clouds: '
          f'{total / limit * seconds:.1f} s')
    if limit < total:
        feats = fill_features(feats, labels, rng)
        print(f'SVM features: the {limit} extracted, copied with noise to '
              f'{total}')
    train_x, test_x = feats[:args.num_train], feats[args.num_train:]
    train_y, test_y = labels[:args.num_train], labels[args.num_train:]
    print(f'linear SVM: {args.num_train} train / {args.num_test} test, '
          f'{args.num_classes} classes, {feats.shape[1]}-d, standardised')
    for name, C in ((f'C by {args.cv_folds}-fold CV over '
                     f'{len(DEFAULT_C_GRID)} values', None),
                    (f'fixed C={args.fixed_c:g}', args.fixed_c)):
        start = time.perf_counter()
        fit = fit_linear_svm(
            train_x, train_y, C=C, cv_folds=args.cv_folds, n_jobs=args.n_jobs)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        predicted = fit.classifier.predict(test_x)
        score_s = time.perf_counter() - start
        line = (f'  {name:<30} fit {fit_s:7.2f} s  score {score_s:5.2f} s  '
                f'C={fit.C:g}')
        if limit == total:
            line += f'  accuracy {100 * np.mean(predicted == test_y):.2f}%'
        print(line)

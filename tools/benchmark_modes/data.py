"""Data pipelines: samples/s of every dataset config through a DataLoader.

Builds the train and test datasets of each ``configs/_base_/datasets/
synthetic_*.py`` config (their pipelines are those of the real-data
configs), on synthetic data generated into a temporary folder or read from
``--root``, and times a torch ``DataLoader`` with ``--num-workers`` workers
and mmengine's ``default_collate``. Dataset construction (e.g. building the
ModelNet40 FPS cache) is timed separately.
"""
import argparse
import glob
import os.path as osp
import shutil
import tempfile
import time
from typing import List

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets')
#: data root the synthetic configs point at (relative to the repository)
SYNTHETIC_ROOT = osp.join('data', 'synthetic')
#: dataloader keys benchmarked in each config, in this order
LOADER_KEYS = ('train_dataloader', 'svm_train_dataloader', 'val_dataloader',
               'svm_test_dataloader')
#: the integer options after ``--configs``: name, default, help
INT_OPTIONS = (
    ('--num-workers', 2, None),
    ('--batch-size', 16, None),
    ('--num-batches', 8, 'timed batches per loader, after one warm-up batch'),
    ('--seed', 0, None),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the ``data`` mode to its sub-parser ``parser``."""
    parser.add_argument(
        '--root',
        help='synthetic data folder written by make_synthetic_shapes.py '
        '(default: generate into a temporary folder)')
    parser.add_argument(
        '--per-class',
        type=int,
        default=4,
        help='shapes per class when generating (default: 4)')
    parser.add_argument(
        '--configs',
        nargs='+',
        help='config names (e.g. synthetic_modelnet40); default: all '
        'synthetic_*.py dataset configs')
    for name, default, text in INT_OPTIONS:
        parser.add_argument(name, type=int, default=default, help=text)


def _rebase(path: str, root: str) -> str:
    """Move a ``data/synthetic/...`` path under ``root``."""
    rel = osp.relpath(path, SYNTHETIC_ROOT)
    if rel.startswith('..'):
        raise ValueError(f'{path!r} is not under {SYNTHETIC_ROOT!r}')
    return osp.join(root, rel)


def _config_paths(names: List[str] = None) -> List[str]:
    if names is None:
        return sorted(glob.glob(osp.join(CONFIG_DIR, 'synthetic_*.py')))
    paths = []
    for name in names:
        path = osp.join(CONFIG_DIR,
                        name if name.endswith('.py') else name + '.py')
        if not osp.isfile(path):
            raise FileNotFoundError(f'dataset config not found: {path}')
        paths.append(path)
    return paths


def time_loader(dataset, batch_size: int, num_workers: int, num_batches: int,
                seed: int) -> float:
    """Samples per second of a DataLoader over ``dataset``.

    Indices are drawn with replacement so that small datasets still give
    ``num_batches`` full batches; the first batch (worker start-up) is not
    timed.

    Args:
        dataset: the dataset.
        batch_size (int): batch size.
        num_workers (int): DataLoader workers.
        num_batches (int): timed batches.
        seed (int): sampler seed.

    Returns:
        float: samples per second.
    """
    import torch
    from mmengine.dataset import default_collate
    from torch.utils.data import DataLoader, RandomSampler

    sampler = RandomSampler(
        dataset,
        replacement=True,
        num_samples=(num_batches + 1) * batch_size,
        generator=torch.Generator().manual_seed(seed))
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=default_collate)
    iterator = iter(loader)
    next(iterator)
    start = time.perf_counter()
    count = sum(len(batch['data_samples']) for batch in iterator)
    return count / (time.perf_counter() - start)


def run(args: argparse.Namespace) -> None:
    """Benchmark every selected dataset config and print a table."""
    from mmdet3d.registry import DATASETS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import set_random_seed

    import projects.I2PMAE.i2pmae  # noqa: F401  (registers the datasets)
    from projects.I2PMAE.i2pmae.synthetic import generate_synthetic_datasets

    root = args.root
    if root is None:
        root = tempfile.mkdtemp(prefix='i2pmae_data_bench_')
        start = time.perf_counter()
        generate_synthetic_datasets(
            root, seed=args.seed, per_class=args.per_class)
        print(f'generated synthetic data (--per-class {args.per_class}) in '
              f'{time.perf_counter() - start:.1f} s')
    rows = []
    try:
        for path in _config_paths(args.configs):
            cfg = Config.fromfile(path)
            name = osp.splitext(osp.basename(path))[0]
            for key in [k for k in LOADER_KEYS if k in cfg]:
                dataset_cfg = cfg[key]['dataset'].to_dict()
                dataset_cfg['data_root'] = _rebase(dataset_cfg['data_root'],
                                                   root)
                set_random_seed(args.seed)
                start = time.perf_counter()
                with DefaultScope.overwrite_default_scope('mmdet3d'):
                    dataset = DATASETS.build(dataset_cfg)
                init_s = time.perf_counter() - start
                rate = time_loader(dataset, args.batch_size, args.num_workers,
                                   args.num_batches, args.seed)
                shape = tuple(dataset[0]['inputs']['points'].shape)
                rows.append(
                    (name, key.replace('_dataloader', ''), dataset_cfg['type'],
                     len(dataset), str(shape), f'{init_s:.2f}', f'{rate:.1f}'))
    finally:
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)
    header = ('config', 'loader', 'dataset', 'size', 'points', 'init s',
              'samples/s')
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(7)]
    print(f'DataLoader: {args.num_workers} workers, batch '
          f'{args.batch_size}, {args.num_batches} timed batches')
    for row in [header, tuple('-' * w for w in widths)] + rows:
        print('  '.join(str(v).ljust(w) for v, w in zip(row, widths)))

"""Data pipelines: samples/s of every dataset config through a DataLoader.

Builds the train and test datasets of each ``configs/_base_/datasets/
synthetic_*.py`` config (their pipelines are those of the real-data
configs), on synthetic data generated into a temporary folder or read from
``--root``, and times a torch ``DataLoader`` with ``--num-workers`` workers
and mmengine's ``default_collate``. Dataset construction (e.g. building the
ModelNet40 FPS cache) is timed separately.

A config whose ``data_preprocessor`` samples the batch (``point_sampler``,
the ModelNet40 configs) is timed on both paths: ``batched``, the loader
followed by the preprocessor on ``--device`` in the main process (with
``--threads`` torch threads, 1 by default), and ``per-sample``, the same
sampling and augmentation as transforms in the workers
(:func:`per_sample_pipeline`). On the CPU, FPS runs as a loop compiled by
numba; ``per-sample, torch FPS`` times the per-sample path with the torch
loop instead (``set_cpu_backend('torch')``), the pipeline as it ran before
the compiled loop and the batched path existed, and the ratios compare
``batched`` with both.
"""
import argparse
import glob
import os.path as osp
import shutil
import tempfile
import time
from typing import Callable, List, Optional

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
    ('--threads', 1, 'torch threads of the main process (default: 1, as '
     'each worker; more contend with the workers on a small CPU)'),
)
#: the per-sample transform of each batched one of the data preprocessors
PER_SAMPLE_TRANSFORMS = {
    'PointCloudBatchFPSSample': 'PointCloudFPSSample',
    'PointCloudBatchScaleAndTranslate': 'PointCloudScaleAndTranslate',
}


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
    parser.add_argument(
        '--device',
        default='cpu',
        help='device of the batched data preprocessor, e.g. cpu or cuda '
        '(default: cpu)')


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


def per_sample_pipeline(pipeline: List[dict], preprocessor: dict,
                        training: bool) -> List[dict]:
    """``pipeline`` with the batch sampling (and, in training, the batch
    augments) of the data preprocessor ``preprocessor`` as per-sample
    transforms before its last (packing) transform.

    Args:
        pipeline (list[dict]): a dataset pipeline ending with the packing.
        preprocessor (dict): a data preprocessor config with a
            ``point_sampler`` (``PointCloudBatchFPSSample``).
        training (bool): the training sampling and augments, or the test
            sampling.

    Returns:
        list[dict]: the per-sample pipeline.
    """
    batched = [preprocessor['point_sampler']]
    if training:
        batched += list(preprocessor.get('batch_augments', []))
    transforms = []
    for cfg in batched:
        cfg = dict(cfg)
        if cfg['type'] not in PER_SAMPLE_TRANSFORMS:
            raise ValueError(f'no per-sample transform known for {cfg["type"]}'
                             f'; known: {sorted(PER_SAMPLE_TRANSFORMS)}')
        cfg['type'] = PER_SAMPLE_TRANSFORMS[cfg['type']]
        test_num_points = cfg.pop('test_num_points', None)
        if cfg['type'] == 'PointCloudFPSSample' and not training:
            cfg = dict(
                type=cfg['type'],
                num_points=test_num_points or cfg['num_points'])
        transforms.append(cfg)
    return list(pipeline[:-1]) + transforms + list(pipeline[-1:])


def time_loader(dataset,
                batch_size: int,
                num_workers: int,
                num_batches: int,
                seed: int,
                preprocess: Optional[Callable[[dict], tuple]] = None) -> float:
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
        preprocess (Callable, optional): called on every batch in the main
            process (and timed with the loader).

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
    preprocess = preprocess or (lambda batch: None)
    iterator = iter(loader)
    preprocess(next(iterator))
    start = time.perf_counter()
    count = 0
    for batch in iterator:
        preprocess(batch)
        count += len(batch['data_samples'])
    return count / (time.perf_counter() - start)


def _batched_preprocess(cfg: dict, device: str,
                        training: bool) -> Callable[[dict], tuple]:
    """A function running the data preprocessor ``cfg`` on ``device`` on a
    batch and returning the shape of one output cloud."""
    import torch
    from mmdet3d.registry import MODELS
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmdet3d'):
        preprocessor = MODELS.build(cfg).to(device)

    def preprocess(batch: dict) -> tuple:
        points = preprocessor(batch, training)['inputs']['points']
        if points.is_cuda:
            torch.cuda.synchronize(points.device)
        return tuple(points.shape[1:])

    return preprocess


def _paths(dataset_cfg: dict, preprocessor: Optional[dict], training: bool,
           device: str) -> List[tuple]:
    """The (label, dataset config, preprocess, CPU FPS backend) of each path
    to time: the workers alone, or, when ``preprocessor`` samples, the
    per-sample path with the torch FPS loop and with the compiled one, then
    the batched path."""
    if preprocessor is None:
        return [('workers', dataset_cfg, None, 'numba')]
    per_sample = dict(
        dataset_cfg,
        pipeline=per_sample_pipeline(dataset_cfg['pipeline'], preprocessor,
                                     training))
    batched = _batched_preprocess(preprocessor, device, training)
    return [('per-sample, torch FPS', per_sample, None, 'torch'),
            ('per-sample', per_sample, None, 'numba'),
            (f'batched ({device})', dataset_cfg, batched, 'numba')]


def run(args: argparse.Namespace) -> None:
    """Benchmark every selected dataset config and print a table."""
    import torch
    from mmdet3d.registry import DATASETS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import set_random_seed

    import projects.I2PMAE.i2pmae  # noqa: F401  (registers the datasets)
    from projects.I2PMAE.i2pmae.ops.furthest_point_sample_cpu import \
        set_cpu_backend
    from projects.I2PMAE.i2pmae.synthetic import generate_synthetic_datasets

    if args.threads < 1:
        raise ValueError(f'--threads must be >= 1, got {args.threads}')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise ValueError(f'--device {args.device} requested but CUDA is not '
                         'available')
    root = args.root
    if root is None:
        root = tempfile.mkdtemp(prefix='i2pmae_data_bench_')
        start = time.perf_counter()
        generate_synthetic_datasets(
            root, seed=args.seed, per_class=args.per_class)
        print(f'generated synthetic data (--per-class {args.per_class}) in '
              f'{time.perf_counter() - start:.1f} s')
    rows, ratios = [], []
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        for path in _config_paths(args.configs):
            cfg = Config.fromfile(path)
            name = osp.splitext(osp.basename(path))[0]
            preprocessor = cfg.to_dict().get('data_preprocessor')
            if not (preprocessor or {}).get('point_sampler'):
                preprocessor = None
            for key in [k for k in LOADER_KEYS if k in cfg]:
                loader = key.replace('_dataloader', '')
                dataset_cfg = cfg[key]['dataset'].to_dict()
                dataset_cfg['data_root'] = _rebase(dataset_cfg['data_root'],
                                                   root)
                rates = []
                for label, path_cfg, preprocess, backend in _paths(
                        dataset_cfg, preprocessor, loader == 'train',
                        args.device):
                    # workers are forked when the loader starts and keep
                    # the backend chosen here
                    set_cpu_backend(backend)
                    set_random_seed(args.seed)
                    start = time.perf_counter()
                    with DefaultScope.overwrite_default_scope('mmdet3d'):
                        dataset = DATASETS.build(path_cfg)
                    init_s = time.perf_counter() - start
                    rate = time_loader(dataset, args.batch_size,
                                       args.num_workers, args.num_batches,
                                       args.seed, preprocess)
                    rates.append(rate)
                    shape = tuple(dataset[0]['inputs']['points'].shape)
                    if preprocess is not None:
                        batch = dict(
                            inputs=dict(
                                points=torch.stack([
                                    dataset[i]['inputs']['points']
                                    for i in range(min(2, len(dataset)))
                                ])))
                        shape = preprocess(batch)
                    rows.append(
                        (name, loader, path_cfg['type'], len(dataset),
                         str(shape), label, f'{init_s:.2f}', f'{rate:.1f}'))
                if len(rates) == 3:
                    ratios.append(f'{name} {loader}: batched '
                                  f'{rates[2] / rates[0]:.1f}x the samples/s '
                                  'of per-sample with torch FPS, '
                                  f'{rates[2] / rates[1]:.1f}x per-sample')
    finally:
        set_cpu_backend('numba')
        torch.set_num_threads(threads)
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)
    header = ('config', 'loader', 'dataset', 'size', 'points', 'path',
              'init s', 'samples/s')
    widths = [
        max(len(str(r[i])) for r in rows + [header])
        for i in range(len(header))
    ]
    print(f'DataLoader: {args.num_workers} workers, batch '
          f'{args.batch_size}, {args.num_batches} timed batches; main '
          f'process: {args.threads} torch thread(s)')
    for row in [header, tuple('-' * w for w in widths)] + rows:
        print('  '.join(str(v).ljust(w) for v, w in zip(row, widths)))
    for line in ratios:
        print(line)

"""Few-shot classification: fine-tune and test one model per fold.

For every fold, builds the config with the datasets' ``way``, ``shot`` and
``fold`` set (every dataloader's dataset must have them, e.g.
``ModelNet40FewShotDataset``), trains it with an mmengine Runner in
``WORK_DIR/<way>way_<shot>shot/fold_<k>`` starting from ``--load-from``,
and reads the fold's validation metrics (the episode's test split) from the
run's ``vis_data/scalars.json``. Prints per-fold accuracy and mean ± std
over the folds as a Markdown table and writes them as JSON after every
fold (atomically), by default to ``WORK_DIR/<way>way_<shot>shot/
fewshot.json``; ``--help`` lists the options.

**Which accuracy is reported.** A fold's result is its **last** epoch's
test-split accuracy (``last``); nothing is selected on the test split. The
official runner's number, each fold's best epoch, is printed too when the
config validates more than once, as ``best (selected on the same split:
optimistic)``: chosen on the split it is measured on, it overestimates the
accuracy. ± is the sample standard deviation (ddof=1) over folds.
"""
import argparse
import gc
import os.path as osp
import sys
import time
from typing import List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
from mmdet3d.registry import RUNNERS
from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from projects.I2PMAE.i2pmae.datasets.modelnet40_fewshot_dataset import \
    MODELNET40_FEWSHOT_LAYOUT
from projects.I2PMAE.i2pmae.engine import (CheckpointMismatchError,
                                           CorruptCheckpointError,
                                           check_checkpoint_file)
from projects.I2PMAE.i2pmae.engine.config_checks import apply_cfg_options
from tools.analysis_tools.index_ranges import parse_index_ranges
from tools.analysis_tools.multi_run_summary import (BEST, COLUMN_LABELS, LAST,
                                                    STD_NOTE, TEST,
                                                    aggregate_runs,
                                                    format_mean_std,
                                                    markdown_table, save_json)
from tools.analysis_tools.run_metrics import (check_metric_pattern,
                                              read_run_metrics)
from tools.train import build_config

EPISODE_KEYS = ('way', 'shot', 'fold')
REPORTED = ('last: the test-split accuracy after the last epoch of each fold '
            '(nothing selected on the test split); best_selected_on_same_'
            'split: the highest over the epochs validated, selected on the '
            'test split it is measured on (optimistic, as the official '
            'runner reports)')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line ``argv`` (``sys.argv`` when None); the
    ``folds`` are expanded to a list of ints."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='few-shot config file')
    parser.add_argument(
        '--way', type=int, required=True, help='classes per episode')
    parser.add_argument(
        '--shot', type=int, required=True, help='training shapes per class')
    parser.add_argument(
        '--folds',
        nargs='+',
        default=['0-9'],
        help='episodes to run: 0-9 (default), 0 3 5, 0-2,7')
    parser.add_argument(
        '--load-from',
        help='pretrained checkpoint to start every fold from (the '
        'config\'s load_from when omitted; from scratch when that is None)')
    parser.add_argument(
        '--work-dir',
        help='folds go to WORK_DIR/<way>way_<shot>shot/fold_<k> (default: '
        'work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='continue every fold from the newest checkpoint of its work '
        'dir (finished folds are not trained again)')
    parser.add_argument(
        '--metric',
        default='accuracy/top1',
        help='regular expression searched in the logged metric keys '
        '(default: accuracy/top1)')
    parser.add_argument(
        '--out',
        help='JSON file (default: WORK_DIR/<way>way_<shot>shot/fewshot.json)')
    parser.add_argument(
        '--digits', type=int, default=2, help='decimals in the table')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='override config entries of every fold')
    args = parser.parse_args(argv)
    for name in ('way', 'shot'):
        value = getattr(args, name)
        if value <= 0:
            parser.error(f'--{name} must be positive, got {value}')
    try:
        args.folds = parse_index_ranges(args.folds, 'fold')
        check_metric_pattern(args.metric)
    except argparse.ArgumentTypeError as err:
        parser.error(str(err))
    clash = [
        k for k in args.cfg_options if k.split('.')[-1] in EPISODE_KEYS +
        ('load_from', ) or k in ('work_dir', 'resume')
    ]
    if clash:
        parser.error(f'--cfg-options must not set {clash}: use --way, '
                     '--shot, --folds, --load-from, --work-dir and --resume')
    return args


def episode_datasets(cfg: Config, source: str) -> List[str]:
    """The dataloaders of ``cfg`` whose dataset takes way / shot / fold.

    Args:
        cfg (Config): the loaded config.
        source (str): the config file, for error messages.

    Returns:
        list[str]: e.g. ``['train_dataloader', 'val_dataloader',
        'test_dataloader']``.

    Raises:
        ValueError: a dataloader's dataset lacks ``way``, ``shot`` or
            ``fold`` (not a few-shot dataset), or there is no train one.
    """
    loaders = [
        k for k in cfg.keys()
        if k.endswith('_dataloader') and isinstance(cfg.get(k), dict)
    ]
    if 'train_dataloader' not in loaders:
        raise ValueError(f'{source}: no train_dataloader')
    for key in loaders:
        dataset = cfg[key].get('dataset', {})
        missing = [k for k in EPISODE_KEYS if k not in dataset]
        if missing:
            raise ValueError(
                f'{source}: {key}.dataset (type {dataset.get("type")!r}) has '
                f'no {missing}: not a few-shot config (use one with '
                'ModelNet40FewShotDataset, e.g. '
                'configs/i2pmae_fewshot_modelnet40.py)')
    return loaders


def check_episodes(cfg: Config, loaders: List[str], way: int, shot: int,
                   folds: List[int], source: str) -> None:
    """Fail before any training when the setting cannot run.

    Args:
        cfg (Config): the loaded config (with the command-line overrides).
        loaders (list[str]): :func:`episode_datasets` of ``cfg``.
        way, shot (int): classes per episode, training shapes per class.
        folds (list[int]): the folds to run.
        source (str): the config file, for error messages.

    Raises:
        ValueError: ``way`` exceeds the head's ``num_classes``.
        FileNotFoundError: an episode file is missing (lists them all).
    """
    num_classes = cfg.get('model', {}).get('head', {}).get('num_classes')
    if num_classes is not None and way > num_classes:
        raise ValueError(f'{source}: --way {way} is more than the '
                         f'{num_classes} outputs of model.head.num_classes')
    paths = dict.fromkeys(  # in order, without repeats
        osp.join(cfg[key]['dataset'].get('data_root', ''),
                 f'{way}way_{shot}shot', f'{fold}.pkl') for key in loaders
        for fold in folds)
    missing = [path for path in paths if not osp.isfile(path)]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} few-shot episode file(s) not found: '
            f'{", ".join(missing)}\nexpected layout:\n'
            f'{MODELNET40_FEWSHOT_LAYOUT}')


def fold_config(args: argparse.Namespace, fold: int, work_dir: str,
                loaders: List[str]) -> Config:
    """The config of one fold, built as ``tools/train.py`` builds it.

    Args:
        args (argparse.Namespace): the parsed command line.
        fold (int): the episode.
        work_dir (str): the fold's work dir.
        loaders (list[str]): :func:`episode_datasets` of the config.

    Returns:
        Config: the fold's config, with a per-fold ``experiment_name`` and
        no fixed visualizer name.
    """
    options = dict(args.cfg_options)
    episode = dict(way=args.way, shot=args.shot, fold=fold)
    for key in loaders:
        options.update({f'{key}.dataset.{k}': v for k, v in episode.items()})
    if args.load_from is not None:
        options['load_from'] = args.load_from
    train_args = argparse.Namespace(
        config=args.config,
        cfg_options=options,
        work_dir=work_dir,
        amp=False,
        launcher='none',
        resume='auto' if args.resume else None)
    cfg = build_config(train_args)
    stem = osp.splitext(osp.basename(args.config))[0]
    cfg.experiment_name = f'{stem}_{args.way}way_{args.shot}shot_fold{fold}'
    if isinstance(cfg.get('visualizer'), dict):
        # a fixed name would return the first fold's visualizer (and its
        # scalars.json) to every later fold; without one the Runner names
        # it after the experiment
        cfg.visualizer.pop('name', None)
    return cfg


def fold_line(fold: int, run: dict, digits: int) -> str:
    """One fold's result, e.g. ``fold 3: accuracy/top1 last 92.00 @ 150``.

    Args:
        fold (int): the episode.
        run (dict): its :func:`read_run_metrics` result.
        digits (int): decimals.

    Returns:
        str: the line (with the best epoch, labelled, when the fold was
        validated more than once).
    """
    parts = []
    for key, metric in run['metrics'].items():
        text = (f'{key} last {metric["last"]:.{digits}f} @ '
                f'{metric["last_step"]}')
        if metric['num_evaluations'] > 1:
            text += (f' ({COLUMN_LABELS[BEST]}: {metric["best"]:.{digits}f} '
                     f'@ {metric["best_step"]})')
        parts.append(text)
    parts += [
        f'{key} {COLUMN_LABELS[TEST]} {value:.{digits}f}'
        for key, value in run['test'].items()
    ]
    return f'fold {fold}: ' + '; '.join(parts)


def run_folds(args: argparse.Namespace) -> dict:
    """Train and test every fold, writing the JSON after each.

    Args:
        args (argparse.Namespace): the parsed command line.

    Returns:
        dict: the JSON content.
    """
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    if args.load_from is not None:
        check_checkpoint_file(args.load_from)
    cfg = Config.fromfile(args.config)
    apply_cfg_options(cfg, args.cfg_options)
    loaders = episode_datasets(cfg, args.config)
    check_episodes(cfg, loaders, args.way, args.shot, args.folds, args.config)
    stem = osp.splitext(osp.basename(args.config))[0]
    work_root = args.work_dir or osp.join('work_dirs', stem)
    setting = f'{args.way}way_{args.shot}shot'
    out = args.out or osp.join(work_root, setting, 'fewshot.json')
    result = dict(
        config=args.config,
        load_from=args.load_from or cfg.get('load_from'),
        way=args.way,
        shot=args.shot,
        folds_requested=args.folds,
        metric_pattern=args.metric,
        reported=REPORTED,
        std=STD_NOTE,
        columns=COLUMN_LABELS,
        complete=False,
        folds=[],
        summary={})
    runs, names = [], []
    start = time.perf_counter()
    for i, fold in enumerate(args.folds):
        work_dir = osp.join(work_root, setting, f'fold_{fold}')
        print_log(
            f'few-shot {args.way}-way {args.shot}-shot: fold {fold} '
            f'({i + 1}/{len(args.folds)}) in {work_dir}',
            logger='current')
        runner = RUNNERS.build(fold_config(args, fold, work_dir, loaders))
        runner.train()
        del runner
        gc.collect()
        run = read_run_metrics(work_dir, args.metric)
        runs.append(run)
        names.append(f'fold_{fold}')
        result['folds'].append(dict(fold=fold, **run))
        result['summary'] = aggregate_runs(runs, names)
        result['complete'] = i + 1 == len(args.folds)
        save_json(result, out)
        elapsed = time.perf_counter() - start
        left = elapsed / (i + 1) * (len(args.folds) - i - 1)
        means = '; '.join(f'{key} {COLUMN_LABELS[part]} '
                          f'{format_mean_std(parts[part], args.digits)}'
                          for key, parts in result['summary'].items()
                          for part in (LAST, TEST) if part in parts)
        print_log(
            f'{fold_line(fold, run, args.digits)} | {i + 1}/'
            f'{len(args.folds)} folds done ({means}), '
            f'{elapsed / 60:.1f} min elapsed, about {left / 60:.1f} min '
            'left',
            logger='current')
    print(f'\nfew-shot {args.way}-way {args.shot}-shot, {args.config}, '
          f'{len(runs)} folds; reported: {COLUMN_LABELS[LAST]} (the test '
          'split after the last epoch)\n')
    print(markdown_table(runs, names, result['summary'], 'fold', args.digits))
    print(f'\nwritten to {out}')
    return result


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the folds and summarise them.

    Returns:
        dict: the JSON content (see :func:`run_folds`).
    """
    args = parse_args(argv)
    try:
        return run_folds(args)
    except (FileNotFoundError, ValueError, CorruptCheckpointError,
            CheckpointMismatchError) as err:
        raise SystemExit(f'error: {err}')


if __name__ == '__main__':
    main()

"""Train an I2P-MAE model with an mmengine Runner.

Usage::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--cfg-options [+]key=value ...] [--launcher pytorch]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet3d.registry import RUNNERS  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402

from projects.I2PMAE.i2pmae.engine import (  # noqa: E402
    CheckpointMismatchError, CorruptCheckpointError, check_checkpoint_file,
    find_resumable_checkpoint, sync_persistent_workers)
from projects.I2PMAE.i2pmae.engine.config_checks import (  # noqa: E402
    CFG_OPTIONS_HELP, ConfigCheckError, apply_cfg_options, check_data_paths)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Train an I2P-MAE model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the newest readable '
        'one in the work dir when no path is given (a fresh run when there '
        'is none)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed-precision training: float16 with dynamic loss scaling '
        'on CUDA, bfloat16 on CPU (MixedPrecisionOptimWrapper)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help=CFG_OPTIONS_HELP)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args: argparse.Namespace) -> Config:
    """Load the config and apply the command-line overrides.

    Checks the ``--cfg-options`` keys (:func:`apply_cfg_options`), the
    dataset folders of the run (:func:`check_data_paths`) and the
    checkpoint to resume from before anything is built: a missing
    or truncated ``--resume`` file raises here; ``--resume`` without a path
    takes the newest readable checkpoint of the work dir (skipping corrupt
    ones with a warning) or, when there is none, starts a new run.

    Args:
        args (argparse.Namespace): the parsed command line.

    Returns:
        Config: the config to build the Runner from.

    Raises:
        FileNotFoundError: the config, the ``--resume`` file or a dataset
            folder is missing.
        ConfigCheckError: a ``--cfg-options`` key is not in the config.
        CorruptCheckpointError: the ``--resume`` file is unreadable, or every
            checkpoint of the work dir is.
    """
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    apply_cfg_options(cfg, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'MixedPrecisionOptimWrapper'
        cfg.optim_wrapper.setdefault('dtype', 'auto')
    if args.resume == 'auto':
        found = find_resumable_checkpoint(cfg.work_dir)
        if found is None:
            print_log(
                f'no checkpoint in {cfg.work_dir} to resume from: starting a '
                'new run',
                logger='current')
            cfg.resume = False
        else:
            cfg.resume = True
            cfg.load_from = found
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = check_checkpoint_file(args.resume)
    sync_persistent_workers(cfg)
    check_data_paths(cfg, 'train')
    return cfg


def main(argv=None) -> None:
    """Build the Runner from the config and train."""
    args = parse_args(argv)
    try:
        cfg = build_config(args)
    except (FileNotFoundError, CorruptCheckpointError, ConfigCheckError) as e:
        raise SystemExit(f'error: {e}')
    # the config's runner_type (ConsoleSummaryRunner), else mmengine's Runner
    runner = RUNNERS.build(cfg)
    try:
        runner.train()
    except CheckpointMismatchError as e:
        raise SystemExit(f'error: {e}')


if __name__ == '__main__':
    main()

"""Evaluate a trained I2P-MAE model with an mmengine Runner.

Usage::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--cfg-options [+]key=value ...] [--launcher pytorch]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet3d.registry import RUNNERS  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402

from projects.I2PMAE.i2pmae.engine import (  # noqa: E402
    CheckpointMismatchError, CorruptCheckpointError, check_checkpoint_file,
    sync_persistent_workers)
from projects.I2PMAE.i2pmae.engine.config_checks import (  # noqa: E402
    CFG_OPTIONS_HELP, ConfigCheckError, apply_cfg_options, check_data_paths)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Test an I2P-MAE model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where to save logs')
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


def main(argv=None) -> None:
    """Load the checkpoint and run the test loop."""
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise SystemExit(f'error: config file not found: {args.config}')
    try:
        check_checkpoint_file(args.checkpoint)
    except (FileNotFoundError, CorruptCheckpointError) as e:
        raise SystemExit(f'error: {e}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    try:
        apply_cfg_options(cfg, args.cfg_options)
        check_data_paths(cfg, 'test')
    except (FileNotFoundError, ConfigCheckError) as e:
        raise SystemExit(f'error: {e}')
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    sync_persistent_workers(cfg)
    # the config's runner_type (ConsoleSummaryRunner), else mmengine's Runner
    runner = RUNNERS.build(cfg)
    try:
        runner.test()
    except CheckpointMismatchError as e:
        raise SystemExit(f'error: {e}')


if __name__ == '__main__':
    main()

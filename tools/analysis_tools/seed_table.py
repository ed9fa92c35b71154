"""Mean ± std over seeds of a config's validation metrics, as a table.

``run CONFIG --seeds 0-2 --work-root DIR`` trains a config once per seed,
one after the other, each with ``tools/train.py --work-dir DIR/seed_S
--cfg-options randomness.seed=S``; ``read WORK_DIR ...`` takes finished work
dirs. Both print a Markdown table (one row per run, then mean ± std, the
sample standard deviation) and write it as JSON (default
``WORK_ROOT/seed_table.json``, or ``seed_table.json`` in the work dirs'
common folder).

The metrics matching ``--metric`` (a regular expression, default
``accuracy/top1``) are read from the latest run of each work dir
(``<timestamp>/vis_data/scalars.json``). Per key: **last**, the run's last
validation, the number to report; **best (selected on the same split:
optimistic)**, the highest validation, chosen on the split it is measured
on, so it overestimates it. Runs that score the test split once after
training (``FinalTestHook``) add a **test** column.
"""
import argparse
import os.path as osp
import subprocess
import sys
from typing import List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
from tools.analysis_tools.index_ranges import parse_index_ranges
from tools.analysis_tools.multi_run_summary import (COLUMN_LABELS, STD_NOTE,
                                                    aggregate_runs,
                                                    markdown_table, save_json)
from tools.analysis_tools.run_metrics import (check_metric_pattern,
                                              read_run_metrics)

TRAIN_TOOL = osp.join(REPO_ROOT, 'tools', 'train.py')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line ``argv`` (``sys.argv`` when None)."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='mode', required=True)
    run = sub.add_parser(
        'run', help='train CONFIG once per seed, then summarise')
    run.add_argument('config', help='config file')
    run.add_argument(
        '--seeds', nargs='+', required=True, help='seeds: 0 1 2, 0-4 or 0-2,7')
    run.add_argument(
        '--work-root',
        required=True,
        help='runs go to WORK_ROOT/seed_S (one folder per seed)')
    run.add_argument(
        '--resume',
        action='store_true',
        help='pass --resume to tools/train.py: a seed whose run was '
        'interrupted continues from its last checkpoint')
    run.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='key=value overrides passed to every tools/train.py run '
        '(randomness.seed is set per seed)')
    read = sub.add_parser('read', help='summarise finished work dirs')
    read.add_argument('work_dirs', nargs='+', help='finished work dirs')
    for mode in (run, read):
        mode.add_argument(
            '--metric',
            default='accuracy/top1',
            help='regular expression searched in the logged keys (default: '
            'accuracy/top1)')
        mode.add_argument(
            '--out',
            help='JSON file (default: WORK_ROOT/seed_table.json, or '
            'seed_table.json in the work dirs\' common folder)')
        mode.add_argument(
            '--digits', type=int, default=2, help='decimals in the table')
    args = parser.parse_args(argv)
    try:
        check_metric_pattern(args.metric)
        if args.mode == 'run':
            args.seeds = parse_index_ranges(args.seeds, 'seed')
    except argparse.ArgumentTypeError as err:
        parser.error(str(err))
    if args.mode == 'run' and any(
            opt.startswith('randomness.seed=') for opt in args.cfg_options):
        parser.error('--cfg-options must not set randomness.seed: the '
                     'tool sets it for every seed')
    return args


def train_seed(config: str, seed: int, work_dir: str, cfg_options: List[str],
               resume: bool) -> None:
    """Train ``config`` with one seed through ``tools/train.py``.

    The run's output goes to this process's stdout/stderr.

    Args:
        config (str): config file.
        seed (int): ``randomness.seed``.
        work_dir (str): the run's work dir.
        cfg_options (list[str]): extra ``key=value`` overrides.
        resume (bool): pass ``--resume`` (continue from the work dir's last
            checkpoint, if any).

    Raises:
        SystemExit: the training exited with an error (names the seed, its
            work dir and the exit status).
    """
    cmd = [sys.executable, TRAIN_TOOL, config, '--work-dir', work_dir]
    if resume:
        cmd.append('--resume')
    cmd += ['--cfg-options', *cfg_options, f'randomness.seed={seed}']
    status = subprocess.run(cmd).returncode
    if status != 0:
        raise SystemExit(f'error: training seed {seed} in {work_dir} failed '
                         f'(exit status {status}); fix it and rerun (add '
                         '--resume to keep the finished seeds\' checkpoints)')


def summarise(work_dirs: List[str], names: List[str], pattern: str, out: str,
              digits: int, extra: dict) -> dict:
    """Read the runs, print the Markdown table and write the JSON.

    Args:
        work_dirs (list[str]): finished work dirs.
        names (list[str]): a name per run (first column).
        pattern (str): metric keys to take (regular expression).
        out (str): the JSON file.
        digits (int): decimals in the table.
        extra (dict): more top-level JSON entries (the config, the seeds).

    Returns:
        dict: the JSON content.
    """
    runs = [read_run_metrics(d, pattern) for d in work_dirs]
    summary = aggregate_runs(runs, names)
    print(markdown_table(runs, names, summary, 'run', digits))
    result = dict(
        extra,
        metric_pattern=pattern,
        std=STD_NOTE,
        columns=COLUMN_LABELS,
        runs=[dict(name=name, **run) for name, run in zip(names, runs)],
        summary=summary)
    save_json(result, out)
    print(f'\nwritten to {out}')
    return result


def main(argv: Optional[List[str]] = None) -> dict:
    """Run or read the seeds and summarise them.

    Returns:
        dict: the JSON content (see :func:`summarise`).
    """
    args = parse_args(argv)
    if args.mode == 'run':
        if not osp.isfile(args.config):
            raise SystemExit(f'error: config file not found: {args.config}')
        names = [f'seed_{seed}' for seed in args.seeds]
        work_dirs = [osp.join(args.work_root, name) for name in names]
        for i, (seed, work_dir) in enumerate(zip(args.seeds, work_dirs)):
            print(
                f'seed_table: seed {seed} ({i + 1}/{len(args.seeds)}) in '
                f'{work_dir}',
                flush=True)
            train_seed(args.config, seed, work_dir, args.cfg_options,
                       args.resume)
        out = args.out or osp.join(args.work_root, 'seed_table.json')
        extra = dict(config=args.config, seeds=args.seeds)
    else:
        work_dirs = args.work_dirs
        names = [osp.basename(osp.normpath(d)) for d in work_dirs]
        if len(set(names)) < len(names):
            names = [osp.normpath(d) for d in work_dirs]
        common = osp.commonpath([osp.abspath(d) for d in work_dirs])
        out = args.out or osp.join(common, 'seed_table.json')
        extra = {}
    try:
        return summarise(work_dirs, names, args.metric, out, args.digits,
                         extra)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f'error: {err}')


if __name__ == '__main__':
    main()

"""Linear-SVM accuracy of a pretrained encoder beside the same one untrained.

Builds the config's Runner once and runs its test loop twice: with
CHECKPOINT loaded (exactly ``tools/test.py CONFIG CHECKPOINT``: the
``LinearSVMTestLoop`` fits the SVM on ``svm_train_dataloader``, C chosen by
cross-validation on those features, and scores ``svm_test_dataloader``),
then with the initial weights a training run of the config starts from
(built for ``randomness.seed``, then ``init_weights()``). Prints a two-row
Markdown table of ``svm/accuracy`` and ``svm/C`` and writes the rows to
``WORK_DIR/svm_vs_random.json``.

Pass the config of the pretraining run (the copy in its work dir holds
every override the run was given). ``--work-dir`` defaults to a
``svm_vs_random`` folder beside the checkpoint.
"""
import argparse
import copy
import json
import os.path as osp
import sys
from typing import Dict, List, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
from mmdet3d.registry import LOOPS, RUNNERS  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.model import is_model_wrapper  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from projects.I2PMAE.i2pmae.datasets.file_io import atomic_open  # noqa: E402
from projects.I2PMAE.i2pmae.engine import (  # noqa: E402
    CheckpointMismatchError, CorruptCheckpointError, LinearSVMTestLoop,
    check_checkpoint_file, sync_persistent_workers)
from projects.I2PMAE.i2pmae.engine.config_checks import (  # noqa: E402
    CFG_OPTIONS_HELP, ConfigCheckError, apply_cfg_options, check_data_paths)

#: the metrics of the linear-SVM test loop, in table order
METRIC_KEYS = ('svm/accuracy', 'svm/C')


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line ``argv`` (``sys.argv`` when None)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='pretraining config file')
    parser.add_argument('checkpoint', help='pretrained checkpoint')
    parser.add_argument(
        '--work-dir',
        help='where to write the log (default: CHECKPOINT\'s folder/'
        'svm_vs_random)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help=CFG_OPTIONS_HELP)
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> Config:
    """Load the config and check it before anything is built.

    Args:
        args (argparse.Namespace): the parsed command line.

    Returns:
        Config: the config, with the overrides, the work dir and the
        checkpoint as ``load_from``.

    Raises:
        FileNotFoundError: the config, the checkpoint or a dataset folder
            of the test run is missing.
        CorruptCheckpointError: the checkpoint is unreadable.
        ConfigCheckError: a ``--cfg-options`` key does not fit the config,
            or its test loop is not a ``LinearSVMTestLoop``.
    """
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    check_checkpoint_file(args.checkpoint)
    cfg = Config.fromfile(args.config)
    apply_cfg_options(cfg, args.cfg_options)
    loop_type = (cfg.get('test_cfg') or {}).get('type')
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmdet3d')):
        loop_cls = LOOPS.get(loop_type) if isinstance(loop_type,
                                                      str) else loop_type
    if not (isinstance(loop_cls, type)
            and issubclass(loop_cls, LinearSVMTestLoop)):
        raise ConfigCheckError(
            f'test_cfg.type of {args.config} is {loop_type!r}: the '
            'comparison runs the linear-SVM test loop of a pretraining '
            'config (LinearSVMTestLoop)')
    check_data_paths(cfg, 'test')
    cfg.work_dir = args.work_dir or osp.join(
        osp.dirname(osp.abspath(args.checkpoint)), 'svm_vs_random')
    cfg.launcher = 'none'
    cfg.load_from = args.checkpoint
    cfg.resume = False
    sync_persistent_workers(cfg)
    return cfg


def compare(cfg: Config) -> List[Dict]:
    """Score the checkpoint's encoder and the untrained one.

    Args:
        cfg (Config): the config from :func:`build_config` (``load_from``
            is the checkpoint).

    Returns:
        list[dict]: two rows, the checkpoint's then the untrained model's,
        each with ``encoder`` (a description) and the test loop's metrics.
    """
    runner = RUNNERS.build(cfg)
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    # the Runner seeded everything before building the model; training
    # would now call init_weights() (Runner._init_model_weights)
    model.init_weights()
    initial = copy.deepcopy(model.state_dict())
    names = [
        f'pretrained ({cfg.load_from})',
        f'random init (seed {runner.seed}, no training)'
    ]
    print_log(f'linear SVM of the encoder: {names[0]}', logger='current')
    pretrained = runner.test()
    model.load_state_dict(initial)
    print_log(f'linear SVM of the encoder: {names[1]}', logger='current')
    untrained = runner.test_loop.run()
    return [
        dict(encoder=names[0], **pretrained),
        dict(encoder=names[1], **untrained)
    ]


def markdown_table(rows: Sequence[Dict]) -> str:
    """Rows of :func:`compare` as a Markdown table.

    Args:
        rows (Sequence[dict]): ``encoder`` and the metric values.

    Returns:
        str: the table (accuracy in percent with two decimals, C as
        written by the metric).
    """
    accuracy, c = METRIC_KEYS
    lines = [f'| encoder | {accuracy} | {c} |', '|---|---|---|']
    for row in rows:
        lines.append(f'| {row["encoder"]} | {row[accuracy]:.2f} | '
                     f'{row[c]:g} |')
    return '\n'.join(lines)


def main(argv=None) -> List[Dict]:
    """Run both evaluations and print the table.

    Returns:
        list[dict]: the rows of :func:`compare`.
    """
    args = parse_args(argv)
    try:
        cfg = build_config(args)
    except (FileNotFoundError, CorruptCheckpointError, ConfigCheckError) as e:
        raise SystemExit(f'error: {e}')
    try:
        rows = compare(cfg)
    except CheckpointMismatchError as e:
        raise SystemExit(f'error: {e}')
    path = osp.join(cfg.work_dir, 'svm_vs_random.json')
    with atomic_open(path) as f:
        json.dump(rows, f, indent=1)
    # on the console and in the log file
    print_log(
        'linear SVM on the test split (fitted on the train split; rows '
        f'also in {path}):\n{markdown_table(rows)}',
        logger='current')
    return rows


if __name__ == '__main__':
    main()

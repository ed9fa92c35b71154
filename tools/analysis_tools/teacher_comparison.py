"""Linear-SVM accuracy of I2P-MAE with a trained 2D teacher and baselines.

For every seed, pretrains three configs on the same data with the same
encoder and schedule (``tools/train.py``, one run at a time, as
``seed_table.py run``): the 3D-only Point-M2AE baseline (random masking, no
teacher), I2P-MAE with a randomly initialised teacher and I2P-MAE with the
depth-trained teacher of ``tools/train_depth_teacher.py`` (the same tower,
trained); the runs skip their own validation. Each pretrained encoder is
then scored exactly as ``svm_vs_random.py`` does (SVM fitted on the train
split, C chosen by cross-validation on it, accuracy on the test split);
that tool's untrained encoder of the baseline run is the random-init row.

Prints a Markdown table (mean ± sample std over the seeds, then every seed)
and writes it as JSON (default ``WORK_ROOT/teacher_comparison.json``). A
run whose ``svm_vs_random.json`` exists is read, not repeated; an
interrupted one resumes from its last checkpoint.

Example::

    python tools/analysis_tools/teacher_comparison.py --seeds 0-2
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
from mmengine.config import Config

from tools.analysis_tools.index_ranges import parse_index_ranges
from tools.analysis_tools.multi_run_summary import (STD_NOTE, format_mean_std,
                                                    mean_std, save_json)
from tools.analysis_tools.seed_table import train_seed

SVM_TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'svm_vs_random.py')
DEPTH_TEACHER_CONFIG = 'configs/i2pmae_pretrain_synthetic_depth_teacher.py'
#: the metric of every row
METRIC = 'svm/accuracy'
#: a ``train_cfg.val_begin`` after any run's end
NO_VALIDATION = 10**9


class Row(NamedTuple):
    """A pretraining of the comparison.

    Attributes:
        key (str): its folder under the work root.
        name (str): its row name.
        config (str): the config, relative to the repository.
        options (tuple[str]): its own ``--cfg-options``.
        trained_teacher (bool): its teacher is ``--teacher``.
    """

    key: str
    name: str
    config: str
    options: Tuple[str, ...] = ()
    trained_teacher: bool = False


PRETRAININGS = (
    Row('point_m2ae', 'Point-M2AE (3D only, random masking)',
        'configs/point_m2ae_pretrain_synthetic.py'),
    Row('i2pmae_random_teacher', 'I2P-MAE, random 2D teacher',
        DEPTH_TEACHER_CONFIG, ('model.teacher.pretrained=None', )),
    Row('i2pmae_depth_teacher',
        'I2P-MAE, depth-trained 2D teacher',
        DEPTH_TEACHER_CONFIG,
        trained_teacher=True),
)
#: what separates the 2D teacher's two roles (its saliency guides the mask,
#: its features are the 2D target), run with ``--rows``
ABLATIONS = (
    Row('i2pmae_depth_teacher_no_2d_loss',
        'I2P-MAE, depth-trained teacher, loss_2d weight 0 (guided mask only)',
        DEPTH_TEACHER_CONFIG, ('model.head.loss_2d.loss_weight=0.0', ),
        trained_teacher=True),
    Row('i2pmae_random_teacher_no_2d_loss',
        'I2P-MAE, random 2D teacher, loss_2d weight 0 (guided mask only)',
        DEPTH_TEACHER_CONFIG, ('model.teacher.pretrained=None',
                               'model.head.loss_2d.loss_weight=0.0')),
    Row('i2pmae_depth_teacher_2d_loss_0.03',
        'I2P-MAE, depth-trained teacher, loss_2d weight 0.03',
        DEPTH_TEACHER_CONFIG, ('model.head.loss_2d.loss_weight=0.03', ),
        trained_teacher=True),
    Row('i2pmae_depth_teacher_random_mask_no_2d_loss',
        'I2P-MAE, depth-trained teacher, random mask, loss_2d weight 0 '
        '(neither role)',
        DEPTH_TEACHER_CONFIG, ('model.mask_generator.type=RandomMaskGenerator',
                               'model.head.loss_2d.loss_weight=0.0'),
        trained_teacher=True),
    Row('i2pmae_depth_teacher_random_mask',
        'I2P-MAE, depth-trained teacher, random mask (2D loss only)',
        DEPTH_TEACHER_CONFIG,
        ('model.mask_generator.type=RandomMaskGenerator', ),
        trained_teacher=True),
    Row('i2pmae_depth_teacher_mask_0.6',
        'I2P-MAE, depth-trained teacher, mask ratio 0.6',
        DEPTH_TEACHER_CONFIG, ('model.mask_generator.mask_ratio=0.6', ),
        trained_teacher=True),
)
ROWS = {row.key: row for row in PRETRAININGS + ABLATIONS}
#: the untrained encoder of this pretraining's config is the random row
RANDOM_INIT = 'random init (no pretraining)'
RANDOM_INIT_FROM = 'point_m2ae'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line ``argv`` (``sys.argv`` when None)."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--seeds', nargs='+', default=['0-2'], help='seeds (default: 0-2)')
    parser.add_argument(
        '--work-root',
        default='work_dirs/teacher_comparison',
        help='runs go to WORK_ROOT/<row>/seed_S')
    parser.add_argument(
        '--data-root',
        default='data/synthetic',
        help='synthetic data: ShapeNet55-34 to pretrain, '
        'modelnet40_ply_hdf5_2048 for the SVM (default: data/synthetic)')
    parser.add_argument(
        '--teacher',
        default='work_dirs/depth_teacher/depth_teacher.pt',
        help='the depth-trained teacher checkpoint (tools/'
        'train_depth_teacher.py)')
    parser.add_argument(
        '--rows',
        nargs='+',
        choices=list(ROWS),
        default=[row.key for row in PRETRAININGS],
        metavar='ROW',
        help='the pretrainings to run, in table order (default: '
        f'{" ".join(row.key for row in PRETRAININGS)}; the random-init row '
        f'comes with {RANDOM_INIT_FROM}); also: '
        f'{" ".join(row.key for row in ABLATIONS)}')
    parser.add_argument(
        '--svm-data-root',
        help='the linear SVM\'s ModelNet40-h5 data: fitted on its train '
        'split, scored on its test split (default: DATA_ROOT/'
        'modelnet40_ply_hdf5_2048). Investigations that must not see the '
        'evaluation split score a development set generated with another '
        'seed here')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='key=value overrides for every pretraining (e.g. '
        'train_cfg.max_epochs=2); randomness.seed is set per seed')
    parser.add_argument(
        '--out',
        help='JSON file (default: WORK_ROOT/'
        'teacher_comparison.json)')
    parser.add_argument(
        '--digits', type=int, default=2, help='decimals in the table')
    args = parser.parse_args(argv)
    try:
        args.seeds = parse_index_ranges(args.seeds, 'seed')
    except argparse.ArgumentTypeError as err:
        parser.error(str(err))
    if any(opt.startswith('randomness.seed=') for opt in args.cfg_options):
        parser.error('--cfg-options must not set randomness.seed: the '
                     'tool sets it for every seed')
    if args.svm_data_root is None:
        args.svm_data_root = osp.join(args.data_root,
                                      'modelnet40_ply_hdf5_2048')
    return args


def check_inputs(args: argparse.Namespace) -> None:
    """Fail before any training when an input is missing.

    Raises:
        FileNotFoundError: the teacher checkpoint or a data folder is
            missing (names the path and how to make it).
    """
    if not osp.isfile(args.teacher):
        raise FileNotFoundError(
            f'the depth-trained teacher {args.teacher} does not exist: make '
            'it with tools/train_depth_teacher.py (see the commands in '
            f'{DEPTH_TEACHER_CONFIG}) or pass --teacher PATH')
    generated = f'--out {args.data_root}'
    for path, how in ((osp.join(args.data_root, 'ShapeNet55-34'), generated),
                      (osp.join(args.data_root,
                                'modelnet40_ply_hdf5_2048'), generated),
                      (args.svm_data_root, '--layouts modelnet_h5 --seed S '
                       '--out FOLDER (a development set: another seed; its '
                       'modelnet40_ply_hdf5_2048 folder)')):
        if not osp.isdir(path):
            raise FileNotFoundError(
                f'{path} does not exist: generate the synthetic data with '
                f'tools/dataset_converters/make_synthetic_shapes.py {how}')


def run_options(row: Row, args: argparse.Namespace) -> List[str]:
    """``--cfg-options`` of one pretraining: data, teacher, row, user."""
    svm = osp.join(args.data_root, 'modelnet40_ply_hdf5_2048')
    options = [
        'train_dataloader.dataset.data_root=' +
        osp.join(args.data_root, 'ShapeNet55-34'),
        f'svm_train_dataloader.dataset.data_root={svm}',
        f'svm_test_dataloader.dataset.data_root={svm}',
    ]
    if row.trained_teacher:
        options.append(f'model.teacher.pretrained={args.teacher}')
    # no linear SVM inside the runs: the test split is scored afterwards
    options.append(f'train_cfg.val_begin={NO_VALIDATION}')
    return options + list(row.options) + list(args.cfg_options)


def score_folder(args: argparse.Namespace) -> str:
    """The folder of a run's SVM scores: one per SVM data root.

    Args:
        args (argparse.Namespace): the parsed command line.

    Returns:
        str: ``svm_vs_random`` for the default data (the data root's
        ``modelnet40_ply_hdf5_2048``, given or not), else
        ``svm_vs_random_<the SVM data root, relative to the working
        directory when inside it, '/' as '_'>``.
    """
    root = osp.abspath(args.svm_data_root)
    if root == osp.abspath(
            osp.join(args.data_root, 'modelnet40_ply_hdf5_2048')):
        return 'svm_vs_random'
    inside = osp.relpath(root)
    if not inside.startswith(osp.pardir):
        root = inside
    return 'svm_vs_random_' + root.strip(osp.sep).replace(osp.sep, '_')


def finished_checkpoint(work_dir: str, config: str) -> Optional[str]:
    """The last checkpoint of a pretraining that ran all its epochs.

    Args:
        work_dir (str): the run's work dir.
        config (str): the config copy the run wrote there.

    Returns:
        str | None: the checkpoint path, or None when the run has not
        finished (no checkpoint, or one before ``train_cfg.max_epochs``).
    """
    last = osp.join(work_dir, 'last_checkpoint')
    if not (osp.isfile(last) and osp.isfile(config)):
        return None
    with open(last) as f:
        checkpoint = f.read().strip()
    max_epochs = Config.fromfile(config).train_cfg.max_epochs
    if osp.basename(checkpoint) != f'epoch_{max_epochs}.pth':
        return None
    return checkpoint


def pretrain_and_score(row: Row, seed: int, args: argparse.Namespace) -> List:
    """Pretrain one row with one seed and score it with the linear SVM.

    A finished pretraining is not repeated: scoring it on other SVM data
    (``--svm-data-root``) only runs the SVM.

    Returns:
        list[dict]: the two rows of ``svm_vs_random.json`` (the pretrained
        encoder, then the untrained one).

    Raises:
        SystemExit: the training or the scoring failed.
    """
    work_dir = osp.join(args.work_root, row.key, f'seed_{seed}')
    result = osp.join(work_dir, score_folder(args), 'svm_vs_random.json')
    if not osp.isfile(result):
        print(
            f'teacher_comparison: {row.name}, seed {seed} in {work_dir}',
            flush=True)
        config = osp.join(work_dir, osp.basename(row.config))
        checkpoint = finished_checkpoint(work_dir, config)
        if checkpoint is None:
            train_seed(
                osp.join(REPO_ROOT, row.config),
                seed,
                work_dir,
                run_options(row, args),
                resume=True)
            with open(osp.join(work_dir, 'last_checkpoint')) as f:
                checkpoint = f.read().strip()
        status = subprocess.run([
            sys.executable, SVM_TOOL, config, checkpoint, '--work-dir',
            osp.dirname(result), '--cfg-options',
            f'svm_train_dataloader.dataset.data_root={args.svm_data_root}',
            f'svm_test_dataloader.dataset.data_root={args.svm_data_root}'
        ]).returncode
        if status != 0:
            raise SystemExit(f'error: scoring {checkpoint} failed (exit '
                             f'status {status})')
    with open(result) as f:
        return json.load(f)


def summarise(scores: Dict[str, List[float]], seeds: Sequence[int],
              digits: int) -> Tuple[str, List[dict]]:
    """The Markdown table and the JSON rows of the accuracies.

    Args:
        scores (dict): row name -> accuracy per seed (in ``seeds`` order).
        seeds (Sequence[int]): the seeds.
        digits (int): decimals in the table.

    Returns:
        tuple[str, list[dict]]: the table and, per row, ``name``,
        ``per_seed`` and the :func:`mean_std` statistics.
    """
    head = ['encoder', f'{METRIC} (mean ± std)'] + [f'seed {s}' for s in seeds]
    lines = ['| ' + ' | '.join(head) + ' |', '|---' * len(head) + '|']
    rows = []
    for name, values in scores.items():
        stats = mean_std(values)
        cells = [name, format_mean_std(stats, digits)]
        cells += [f'{v:.{digits}f}' for v in values]
        lines.append('| ' + ' | '.join(cells) + ' |')
        rows.append(
            dict(
                name=name,
                per_seed=dict(zip(map(str, seeds), values)),
                **stats))
    return '\n'.join(lines), rows


def main(argv: Optional[List[str]] = None) -> dict:
    """Run (or read) every row and seed, print and write the table.

    Returns:
        dict: the JSON content.
    """
    args = parse_args(argv)
    try:
        check_inputs(args)
    except FileNotFoundError as err:
        raise SystemExit(f'error: {err}')
    pretrainings = [ROWS[key] for key in args.rows]
    scores = {RANDOM_INIT: []} if RANDOM_INIT_FROM in args.rows else {}
    scores.update((row.name, []) for row in pretrainings)
    for seed in args.seeds:
        for row in pretrainings:
            pretrained, untrained = pretrain_and_score(row, seed, args)
            scores[row.name].append(pretrained[METRIC])
            if row.key == RANDOM_INIT_FROM:
                scores[RANDOM_INIT].append(untrained[METRIC])
    table, rows = summarise(scores, args.seeds, args.digits)
    out = args.out or osp.join(args.work_root, 'teacher_comparison.json')
    result = dict(
        metric=f'{METRIC}: test split of {args.svm_data_root}, SVM fitted '
        'on its train split',
        std=STD_NOTE,
        seeds=args.seeds,
        data_root=args.data_root,
        teacher=args.teacher,
        cfg_options=args.cfg_options,
        svm_data_root=args.svm_data_root,
        pretrainings=[row._asdict() for row in pretrainings],
        random_init=f'the untrained encoder of the {RANDOM_INIT_FROM} runs',
        rows=rows)
    save_json(result, out)
    print(f'linear SVM on the test split of {args.svm_data_root} (seeds '
          f'{args.seeds}):\n{table}\n'
          f'\nwritten to {out}')
    return result


if __name__ == '__main__':
    main()

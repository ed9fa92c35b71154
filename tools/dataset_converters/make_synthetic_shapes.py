"""Write small synthetic point-cloud datasets in the public layouts.

Writes, under ``--out``, the folders the dataset configs expect
(ShapeNet-55, ModelNet40 resampled and h5, ScanObjectNN OBJ-BG / OBJ-ONLY /
PB-T50-RS, ModelNet40 few-shot, ShapeNetPart), filled with 16 parametric
shape classes (16 part-annotated categories for ShapeNetPart). The output
depends only on the arguments. Progress is a live bar on a terminal and a
few plain lines otherwise; every file is written under a temporary name and
renamed into place when complete, so an interrupted run (Ctrl-C, SIGTERM)
leaves no truncated file.

Example::

    python tools/dataset_converters/make_synthetic_shapes.py \
        --out data/synthetic --seed 0 --per-class 8
"""
import argparse
import os.path as osp
import signal
import sys
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from projects.I2PMAE.i2pmae.synthetic import (SYNTHETIC_LAYOUT,
                                              generate_synthetic_datasets)


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): arguments; None reads ``sys.argv``.

    Returns:
        argparse.Namespace: the parsed arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--seed', type=int, default=0, help='base seed')
    for flag, default, text in (
        ('--per-class', 8, 'training shapes per class (default: 8)'),
        ('--test-per-class', None, 'test shapes per class (default: '
         'max(10, per_class // 2))'),
        ('--points', 2048, 'points per cloud of the ModelNet40 (txt, h5), '
         'ScanObjectNN and ShapeNetPart layouts (default: 2048)'),
        ('--shapenet-points', 8192,
         'points per ShapeNet-55 .npy cloud (default: 8192)'),
        ('--fewshot-points', 1024,
         'points per few-shot cloud (default: 1024)'),
        ('--fewshot-folds', 2,
         'episodes per few-shot setting (default: 2; 10 officially)'),
        ('--fewshot-queries', 10,
         'query shapes per class of an episode (default: 10)'),
    ):
        parser.add_argument(flag, type=int, default=default, help=text)
    parser.add_argument(
        '--layouts',
        nargs='+',
        choices=list(SYNTHETIC_LAYOUT),
        default=None,
        help='write only these layouts (default: all)')
    return parser.parse_args(argv)


def exit_on_sigterm(signum, frame) -> None:
    """Turn SIGTERM into ``SystemExit`` so the file being written is removed.

    Args:
        signum (int): the signal number.
        frame: the interrupted stack frame (unused).
    """
    raise SystemExit(128 + signum)


def main(argv=None) -> None:
    """Generate the datasets and print where they went."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    start = time.perf_counter()
    folders = generate_synthetic_datasets(
        args.out,
        seed=args.seed,
        per_class=args.per_class,
        test_per_class=args.test_per_class,
        num_points=args.points,
        shapenet_points=args.shapenet_points,
        fewshot_points=args.fewshot_points,
        fewshot_folds=args.fewshot_folds,
        fewshot_queries=args.fewshot_queries,
        layouts=args.layouts)
    for key, folder in folders.items():
        print(f'{key:<20} {folder}')
    print(f'done in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()

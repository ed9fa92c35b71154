"""Speed and memory figures of the I2P-MAE plugin, printed as numbers.

Each mode lives in ``tools/benchmark_modes/<mode>.py`` and defines
``add_arguments(parser)`` and ``run(args)``.

Examples::

    python tools/benchmark.py ops
    python tools/benchmark.py pretrain --config configs/i2pmae_pretrain.py \
        --batch-size 8
    python tools/benchmark.py data --root data/synthetic
    python tools/benchmark.py svm --config configs/i2pmae_pretrain.py
"""
import argparse
import importlib
import os.path as osp
import pkgutil
import sys

TOOLS_DIR = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(TOOLS_DIR)
for path in (REPO_ROOT, TOOLS_DIR):
    if path not in sys.path:
        sys.path.insert(0, path)


def available_modes() -> list:
    """Names of the benchmark modes found in ``tools/benchmark_modes``.

    Returns:
        list[str]: sorted mode names.
    """
    modes_dir = osp.join(TOOLS_DIR, 'benchmark_modes')
    return sorted(
        m.name for m in pkgutil.iter_modules([modes_dir])
        if not m.name.startswith('_'))


def main(argv=None) -> None:
    """Parse the command line and run the requested benchmark mode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='mode', required=True)
    for name in available_modes():
        module = importlib.import_module(f'benchmark_modes.{name}')
        mode_parser = sub.add_parser(
            name, help=(module.__doc__ or name).strip().splitlines()[0])
        module.add_arguments(mode_parser)
        mode_parser.set_defaults(_run=module.run)
    args = parser.parse_args(argv)
    args._run(args)


if __name__ == '__main__':
    main()

"""Convert an official I2P-MAE checkpoint into an mmengine checkpoint.

Usage::

    python tools/model_converters/i2pmae_official_to_mm.py IN.pth OUT.pth

The official ``base_model`` state dict (with or without ``module.``
prefixes and the frozen ``clip_model.*``) of the pretraining model or of a
fine-tuning classifier is renamed to this plugin's keys; the result loads
into ``I2PMAE`` / ``PointClassifier`` with no missing or unexpected keys
(an encoder-only dict loads into ``I2PMAEEncoder``), except that a
pretraining checkpoint's ``backbone.norms.0.*`` (the official finest-scale
encoder norm, which nothing reads and ``I2PMAE`` does not build) is
reported unused.
"""
import argparse
import os
import os.path as osp
import pickle
import sys
import tempfile

import torch

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from projects.I2PMAE.i2pmae.utils import safe_checkpoint  # noqa: E402,F401
from projects.I2PMAE.i2pmae.utils.official_checkpoint import \
    convert_official_state_dict  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='where to write the mmengine checkpoint')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load with weights_only=False (only for files you trust; '
        'needed when the checkpoint pickles arbitrary objects)')
    return parser.parse_args(argv)


def load_error_message(src: str, err: Exception, trusted: bool) -> str:
    """The one-line error for a checkpoint that ``torch.load`` refused.

    ``--trust-checkpoint`` is suggested only when it was not given and
    the refusal came from ``weights_only`` loading (a
    :class:`pickle.UnpicklingError`); a corrupt file, or one that fails
    even with the flag, gets no such advice.

    Args:
        src (str): the checkpoint path.
        err (Exception): what ``torch.load`` raised.
        trusted (bool): whether ``--trust-checkpoint`` was given.

    Returns:
        str: the message, starting with ``error:``.
    """
    text = str(err)
    # torch's weights_only refusal is a long text; its gist is one sentence
    prefix = 'WeightsUnpickler error:'
    gist = [
        line.strip()[len(prefix):].split(' Please use')[0]
        for line in text.splitlines() if line.strip().startswith(prefix)
    ]
    reason = ' '.join((gist[0] if gist else text).split()).rstrip('.')
    reason = reason or type(err).__name__
    if trusted:
        return (f'error: cannot load {src} even with --trust-checkpoint: '
                f'{type(err).__name__}: {reason}')
    if isinstance(err, pickle.UnpicklingError):
        return (f'error: cannot load {src} safely ({reason}); if you '
                'trust the file, re-run with --trust-checkpoint')
    return f'error: cannot load {src}: {type(err).__name__}: {reason}'


def main(argv=None) -> None:
    """Convert ``src`` to ``dst`` (written atomically)."""
    args = parse_args(argv)
    if not osp.isfile(args.src):
        raise SystemExit(f'error: checkpoint not found: {args.src}')
    try:
        ckpt = torch.load(
            args.src,
            map_location='cpu',
            weights_only=not args.trust_checkpoint)
    except Exception as err:  # noqa: BLE001
        raise SystemExit(
            load_error_message(args.src, err, args.trust_checkpoint)) from err
    try:
        state_dict, kind = convert_official_state_dict(ckpt)
    except ValueError as err:
        raise SystemExit(f'error: {args.src}: {err}') from err
    out = dict(
        meta=dict(converted_from=osp.basename(args.src), official_model=kind),
        state_dict=state_dict)
    out_dir = osp.dirname(osp.abspath(args.dst))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix='.tmp')
    os.close(fd)
    try:
        torch.save(out, tmp)
        os.replace(tmp, args.dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    print(f'{kind} checkpoint with {len(state_dict)} tensors written to '
          f'{args.dst}')


if __name__ == '__main__':
    main()

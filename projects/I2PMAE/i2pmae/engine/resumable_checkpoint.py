"""Find the checkpoint to resume from, skipping unreadable ones."""
import logging
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional

import torch
from mmengine.logging import print_log

__all__ = [
    'CorruptCheckpointError', 'check_checkpoint_file',
    'find_resumable_checkpoint'
]

#: names of the checkpoints CheckpointHook writes, with their step
CHECKPOINT_NAME = re.compile(r'(epoch|iter)_(\d+)\.pth')


class CorruptCheckpointError(ValueError):
    """A checkpoint file is truncated or otherwise unreadable."""


def check_checkpoint_file(path: str) -> str:
    """Check that ``path`` is a complete checkpoint file, without loading it.

    torch writes checkpoints as zip archives: the archive's directory (at
    its end) must be readable, it must hold a pickled object, and every
    member must pass its CRC check (this reads the file once, but
    unpickles nothing). Files in torch's legacy (non-zip) format are read
    with ``torch.load(weights_only=True)`` instead.

    Args:
        path (str): the checkpoint file.

    Returns:
        str: ``path``.

    Raises:
        FileNotFoundError: when ``path`` is not a file.
        CorruptCheckpointError: naming ``path`` and what is wrong with it.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if not zipfile.is_zipfile(path):
        try:
            torch.load(path, map_location='cpu', weights_only=True)
        except Exception as e:
            raise CorruptCheckpointError(
                f'checkpoint {path} is truncated or not a checkpoint '
                f'({osp.getsize(path)} bytes; no zip directory and '
                f'torch.load fails: {type(e).__name__}: '
                f'{str(e).splitlines()[0] if str(e) else ""})') from None
        return path
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise CorruptCheckpointError(
            f'checkpoint {path} is corrupt: {e}') from None
    if not any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
        raise CorruptCheckpointError(
            f'checkpoint {path} is a zip archive without a data.pkl: not a '
            'torch checkpoint')
    if bad is not None:
        raise CorruptCheckpointError(
            f'checkpoint {path} is corrupt: member {bad} fails its CRC check')
    return path


def _candidates(work_dir: str) -> List[str]:
    """``last_checkpoint``'s target, then epoch/iter checkpoints, newest
    first."""
    found = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            target = f.read().strip()
        if target:
            found.append(target)
    numbered = []
    for name in os.listdir(work_dir):
        match = CHECKPOINT_NAME.fullmatch(name)
        path = osp.join(work_dir, name)
        if match and osp.isfile(path):
            numbered.append((int(match.group(2)), osp.getmtime(path), path))
    found += [path for _, _, path in sorted(numbered, reverse=True)]
    unique, seen = [], set()
    for path in found:
        real = osp.realpath(path)
        if real not in seen:
            seen.add(real)
            unique.append(path)
    return unique


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The newest complete checkpoint of a work dir.

    Tries the file ``work_dir/last_checkpoint`` names, then
    ``epoch_*.pth`` / ``iter_*.pth`` in ``work_dir`` from the highest step
    down; each is checked with :func:`check_checkpoint_file` and a
    truncated or corrupt one is skipped with a warning naming it.

    Args:
        work_dir (str): the work dir of the run to resume.

    Returns:
        str | None: the checkpoint to resume from; None when ``work_dir``
        has no checkpoint at all (a fresh run).

    Raises:
        CorruptCheckpointError: when there are checkpoints but none of them
            is readable (naming them).
    """
    if not osp.isdir(work_dir):
        return None
    skipped = []
    for path in _candidates(work_dir):
        try:
            return check_checkpoint_file(path)
        except FileNotFoundError:
            print_log(
                f'{osp.join(work_dir, "last_checkpoint")} names {path}, '
                'which does not exist; looking for other checkpoints',
                logger='current',
                level=logging.WARNING)
        except CorruptCheckpointError as e:
            skipped.append(path)
            print_log(
                f'skipping {path} when resuming: {e}',
                logger='current',
                level=logging.WARNING)
    if skipped:
        raise CorruptCheckpointError(
            f'no readable checkpoint to resume from in {work_dir}; corrupt: ' +
            ', '.join(skipped))
    return None

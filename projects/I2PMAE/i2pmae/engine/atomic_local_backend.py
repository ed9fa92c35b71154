"""A local file backend whose writes are all-or-nothing."""
import os
import os.path as osp
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from ..datasets.file_io import atomic_open

__all__ = ['AtomicLocalBackend', 'atomic_write', 'ATOMIC_LOCAL_BACKEND']

#: the name the backend is registered under (``backend_args=dict(backend=
#: ATOMIC_LOCAL_BACKEND)``)
ATOMIC_LOCAL_BACKEND = 'atomic_local'


def atomic_write(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` so that it is whole or absent.

    The bytes go to a hidden temporary file in the same folder, are flushed
    to disk, and the file is renamed over ``filepath`` with
    :func:`os.replace` (:func:`~..datasets.file_io.atomic_open`). An
    interruption at any point leaves either the previous ``filepath`` or
    the new one, never a truncated file; the temporary file is removed on
    errors.

    Args:
        data (bytes): the content.
        filepath (str | Path): the destination; missing parent folders are
            created.
    """
    filepath = str(filepath)
    os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
    with atomic_open(filepath, 'wb', fsync=True) as f:
        f.write(data)


class AtomicLocalBackend(LocalBackend):
    """:class:`mmengine.fileio.LocalBackend` with atomic ``put``.

    Reading, listing and removing are the local backend's; ``put`` and
    ``put_text`` go through :func:`atomic_write`, so a process killed while
    saving a checkpoint never leaves a truncated file under the
    checkpoint's name. Registered as ``'atomic_local'``; select it with
    ``backend_args=dict(backend='atomic_local')`` (what
    :class:`~.atomic_checkpoint_hook.AtomicCheckpointHook` does by default).
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically.

        Args:
            obj (bytes): the data.
            filepath (str | Path): the destination.
        """
        atomic_write(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically.

        Args:
            obj (str): the text.
            filepath (str | Path): the destination.
            encoding (str): text encoding. Defaults to 'utf-8'.
        """
        atomic_write(obj.encode(encoding), filepath)


register_backend(ATOMIC_LOCAL_BACKEND, AtomicLocalBackend, force=True)

"""Readers and writers of the point-cloud file formats used by the datasets.

Every reader turns a missing, empty or corrupt file into one error that names
the file (and, for text files, the row) and says what was expected. Every
writer goes through a temporary file that is renamed into place when complete
(:func:`atomic_path`), so an interrupted run never leaves a truncated file
under the final name.
"""
import contextlib
import os
import os.path as osp
import pickle
import uuid
from typing import IO, Any, Dict, Iterator, List, Optional, Sequence

import numpy as np


def require_path(path: str, what: str, layout: str) -> str:
    """Check that a file or folder exists.

    Args:
        path (str): the path to check.
        what (str): what the path is, e.g. ``'ScanObjectNN split file'``.
        layout (str): the expected folder layout, quoted in the error.

    Returns:
        str: ``path`` unchanged.

    Raises:
        FileNotFoundError: when ``path`` does not exist; the layout comes
            first and the last line of the message names the path, so it
            is the last line of a traceback.
    """
    if not osp.exists(path):
        raise FileNotFoundError(f'expected layout:\n{layout}\n'
                                f'{what} not found: {path!r}')
    return path


def read_lines(path: str, what: str, layout: str) -> List[str]:
    """Non-empty, stripped lines of a text file.

    Args:
        path (str): the text file.
        what (str): what the file is (used in errors).
        layout (str): the expected folder layout, quoted in the error.

    Returns:
        list[str]: the lines without surrounding whitespace.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: when the file holds no line.
    """
    require_path(path, what, layout)
    with open(path, 'r') as f:
        lines = [line.strip() for line in f]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError(f'{what} {path!r} is empty')
    return lines


def read_point_txt(path: str,
                   num_columns: int,
                   delimiter: Optional[str] = None) -> np.ndarray:
    """Read a text file with one point per row.

    Args:
        path (str): the text file.
        num_columns (int): expected number of values per row.
        delimiter (str, optional): value separator; ``None`` means any
            whitespace (``','`` for ModelNet40's resampled files).

    Returns:
        np.ndarray: ``[N, num_columns]`` float32 array.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: when the file is empty, a row is not numeric or a row
            does not have ``num_columns`` values (the row is named).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'point file not found: {path!r}')
    with open(path, 'r') as f:
        text = f.read()
    if delimiter is not None and delimiter.strip():
        text = text.replace(delimiter, ' ')
    rows = text.splitlines()
    tokens = text.split()
    if not tokens:
        raise ValueError(f'point file {path!r} is empty; expected rows of '
                         f'{num_columns} numbers')
    try:
        values = np.array(tokens, dtype=np.float32)
    except ValueError:
        values = None
    num_rows = sum(1 for row in rows if row.strip())
    if values is None or values.size != num_rows * num_columns:
        _raise_bad_row(path, rows, num_columns)
    return values.reshape(num_rows, num_columns)


def _raise_bad_row(path: str, rows: Sequence[str], num_columns: int) -> None:
    """Find the first malformed row of a point text file and raise.

    Args:
        path (str): the text file (for the message).
        rows (Sequence[str]): its rows, delimiters already turned to spaces.
        num_columns (int): expected number of values per row.

    Raises:
        ValueError: always, naming the file and 1-based row number.
    """
    for row_idx, row in enumerate(rows, start=1):
        fields = row.split()
        if not fields:
            continue
        try:
            [float(v) for v in fields]
        except ValueError:
            raise ValueError(f'point file {path!r}, row {row_idx}: '
                             f'non-numeric value in {row.strip()!r}') from None
        if len(fields) != num_columns:
            raise ValueError(f'point file {path!r}, row {row_idx}: expected '
                             f'{num_columns} values, got {len(fields)}')
    raise ValueError(f'point file {path!r} could not be parsed as rows of '
                     f'{num_columns} numbers')


def read_npy_points(path: str, min_columns: int = 3) -> np.ndarray:
    """Read a ``.npy`` point cloud of shape ``[N, C]`` (``C >= min_columns``).

    Args:
        path (str): the ``.npy`` file.
        min_columns (int): least number of columns accepted.

    Returns:
        np.ndarray: float32 array ``[N, C]``.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: when it cannot be read or has the wrong shape.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'point file not found: {path!r}')
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as err:  # truncated, empty or not an npy file
        raise ValueError(f'cannot read point file {path!r}: {err}') from None
    if array.ndim != 2 or array.shape[1] < min_columns or not len(array):
        raise ValueError(f'point file {path!r}: expected an array of shape '
                         f'[N, {min_columns}] with N > 0, got '
                         f'{tuple(array.shape)}')
    return array.astype(np.float32, copy=False)


def read_h5_arrays(path: str, keys: Sequence[str]) -> Dict[str, np.ndarray]:
    """Read whole datasets out of an HDF5 file.

    Args:
        path (str): the ``.h5`` file.
        keys (Sequence[str]): names of the HDF5 datasets to read.

    Returns:
        dict[str, np.ndarray]: one array per key.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: when the file is empty, truncated or lacks a key.
    """
    import h5py
    if not osp.isfile(path):
        raise FileNotFoundError(f'HDF5 file not found: {path!r}')
    try:
        with h5py.File(path, 'r') as f:
            missing = [k for k in keys if k not in f]
            if missing:
                raise KeyError(f'missing keys {missing}, found {list(f)}')
            return {k: np.asarray(f[k][()]) for k in keys}
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(f'cannot read HDF5 file {path!r} (expected keys '
                         f'{list(keys)}): {err}') from None


def load_pickle(path: str, what: str) -> Any:
    """Unpickle a data file (only load files from sources you trust).

    Args:
        path (str): the pickle file.
        what (str): what the file is (used in errors).

    Returns:
        Any: the unpickled object.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: when the file is empty or corrupt.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path!r}')
    try:
        with open(path, 'rb') as f:
            return pickle.load(f)
    except Exception as err:  # EOFError, UnpicklingError, ...
        raise ValueError(f'cannot read {what} {path!r} (empty or corrupt; '
                         f'delete it to rebuild it): '
                         f'{type(err).__name__}: {err}') from None


@contextlib.contextmanager
def atomic_path(path: str, fsync: bool = False) -> Iterator[str]:
    """Write a file under a temporary name, then rename it to ``path``.

    The caller writes the temporary path this yields (any writer that takes
    a path: ``h5py.File``, ``open`` ...). When the block ends normally the
    file is moved over ``path`` with :func:`os.replace` (atomic on one file
    system); when it raises (``KeyboardInterrupt`` and ``SystemExit``
    included) the temporary file is removed. ``path`` therefore either
    keeps its previous content or holds the complete new file, never a
    truncated one. The temporary file lives in the same folder as ``path``
    and is hidden: ``.<name>.<random>.tmp``.

    Args:
        path (str): destination file.
        fsync (bool): flush the file to disk before the rename, so that it
            also survives a power loss (slower). Defaults to False.

    Yields:
        str: the temporary path to write.
    """
    folder, name = osp.split(osp.abspath(path))
    tmp_path = osp.join(folder, f'.{name}.{uuid.uuid4().hex[:12]}.tmp')
    try:
        yield tmp_path
        if not osp.isfile(tmp_path):
            raise FileNotFoundError(
                f'nothing was written to the temporary file of {path!r}')
        if fsync:
            fd = os.open(tmp_path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp_path, path)
    except BaseException:
        if osp.lexists(tmp_path):
            os.remove(tmp_path)
        raise


@contextlib.contextmanager
def atomic_open(path: str,
                mode: str = 'w',
                fsync: bool = False) -> Iterator[IO]:
    """``open(path, mode)`` that never leaves a partial file at ``path``.

    See :func:`atomic_path`: the content goes to a hidden temporary file in
    the same folder that replaces ``path`` once the block has finished.

    Args:
        path (str): destination file.
        mode (str): ``'w'`` (text) or ``'wb'`` (binary).
        fsync (bool): flush to disk before the rename. Defaults to False.

    Yields:
        file: the open temporary file.
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path, fsync=fsync) as tmp_path:
        with open(tmp_path, 'x' + mode[1:]) as f:
            yield f


def atomic_pickle_dump(obj: Any, path: str) -> None:
    """Pickle ``obj`` to ``path`` so that no partial file is ever visible.

    Written with :func:`atomic_open` and flushed to disk before the rename.

    Args:
        obj (Any): the object to store.
        path (str): destination file.
    """
    with atomic_open(path, 'wb', fsync=True) as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


def check_finite(points: np.ndarray, sample: str) -> None:
    """Raise when a cloud holds NaN or inf values.

    Args:
        points (np.ndarray): ``[N, C]`` cloud.
        sample (str): description of the sample (file, index) for the error.

    Raises:
        ValueError: when a value is not finite.
    """
    if not np.isfinite(points).all():
        raise ValueError(f'{sample} contains NaN or inf coordinates')


def check_finite_batch(points: np.ndarray, source: str) -> None:
    """Raise naming the first sample of a ``[n, N, C]`` batch with NaN/inf.

    Args:
        points (np.ndarray): ``[n, N, C]`` clouds.
        source (str): where the batch comes from (file name).

    Raises:
        ValueError: when some sample holds a non-finite value.
    """
    finite = np.isfinite(points.reshape(len(points), -1)).all(axis=1)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise ValueError(f'{source}: sample {bad} contains NaN or inf '
                         'coordinates')


def check_labels(labels: np.ndarray, num_classes: int, source: str) -> None:
    """Raise when a label lies outside ``[0, num_classes)``.

    Args:
        labels (np.ndarray): integer labels.
        num_classes (int): size of the class list.
        source (str): where the labels come from (file name).

    Raises:
        ValueError: naming the first offending sample and label.
    """
    labels = np.asarray(labels).reshape(-1)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        idx = int(np.flatnonzero(bad)[0])
        raise ValueError(f'{source}: sample {idx} has label {labels[idx]}, '
                         f'outside the {num_classes} classes '
                         f'[0, {num_classes - 1}]')

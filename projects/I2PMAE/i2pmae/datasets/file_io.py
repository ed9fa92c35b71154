"""Readers and writers of the point-cloud file formats used by the datasets.

Every reader turns a missing, empty or corrupt file into one error that names
the file (and, for text files, the row) and says what was expected. Writers
rename a complete temporary file into place (:func:`atomic_path`).
"""
import contextlib
import os
import os.path as osp
import pickle
import uuid
from typing import IO, Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np


def require_path(path: str, what: str, layout: str) -> str:
    """Check that a file or folder exists.

    The error quotes ``layout`` first so that its last line, the last line
    of a traceback, names the path.

    Args:
        path (str): the path to check.
        what (str): what the path is, e.g. ``'ScanObjectNN split file'``.
        layout (str): the expected folder layout, quoted in the error.

    Returns:
        str: ``path`` unchanged.
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
    """
    require_path(path, what, layout)
    with open(path, 'r') as f:
        lines = [line.strip() for line in f if line.strip()]
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
        ValueError: naming the first row that is not ``num_columns``
            numbers.
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
    """Raise naming the first malformed (1-based) row of a point file."""
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


def read_h5_clouds(path: str,
                   label_shape: str) -> Tuple[np.ndarray, np.ndarray]:
    """Read and check the ``'data'`` clouds and ``'label'`` of an h5 file.

    Args:
        path (str): the ``.h5`` file.
        label_shape (str): shape of ``'label'`` quoted in the error, e.g.
            ``'[n, 1]'``.

    Returns:
        tuple[np.ndarray, np.ndarray]: contiguous float32 clouds
        ``[n, N, C]`` and the ``[n]`` labels (dtype of the file).
    """
    arrays = read_h5_arrays(path, ('data', 'label'))
    data, label = arrays['data'], arrays['label']
    if data.ndim != 3 or data.shape[2] < 3 or not len(data):
        raise ValueError(f'HDF5 file {path!r}: expected data of shape '
                         f'[n, N, 3] with n > 0, got {data.shape}')
    if label.size != len(data):
        raise ValueError(f'HDF5 file {path!r}: expected label of shape '
                         f'{label_shape} with n = {len(data)}, got '
                         f'{label.shape}')
    data = np.ascontiguousarray(data, dtype=np.float32)
    finite = np.isfinite(data.reshape(len(data), -1)).all(axis=1)
    if not finite.all():
        raise ValueError(f'HDF5 file {path!r}: sample '
                         f'{int(np.flatnonzero(~finite)[0])} contains NaN or '
                         'inf coordinates')
    return data, label.reshape(-1)


def load_pickle(path: str, what: str) -> Any:
    """Unpickle a data file (only load files from sources you trust).

    Args:
        path (str): the pickle file.
        what (str): what the file is (used in errors).

    Returns:
        Any: the unpickled object.
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

    The caller writes the yielded hidden path ``.<name>.<random>.tmp`` (next
    to ``path``) with any writer; it replaces ``path`` (:func:`os.replace`)
    when the block ends, or is removed when it raises, so ``path`` never
    holds a truncated file.

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
    """``open(path, mode)`` through :func:`atomic_path`.

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
    """Pickle ``obj`` with :func:`atomic_open`, flushed before the rename.

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
    """
    if not np.isfinite(points).all():
        raise ValueError(f'{sample} contains NaN or inf coordinates')


def check_labels(labels: np.ndarray, num_classes: int, source: str) -> None:
    """Raise when a label lies outside ``[0, num_classes)``.

    Args:
        labels (np.ndarray): integer labels.
        num_classes (int): size of the class list.
        source (str): where the labels come from (file name).
    """
    labels = np.asarray(labels).reshape(-1)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        idx = int(np.flatnonzero(bad)[0])
        raise ValueError(f'{source}: sample {idx} has label {labels[idx]}, '
                         f'outside the {num_classes} classes '
                         f'[0, {num_classes - 1}]')

"""Let ``torch.load(weights_only=True)`` read mmengine Runner checkpoints.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``: only
tensors, plain containers and an allow-list of globals are unpickled.
mmengine 0.10.7 calls ``torch.load(filename, map_location=...)`` without a
``weights_only`` argument (``mmengine.runner.checkpoint``), so that default
applies to ``load_checkpoint``, ``Runner(load_from=...)`` and resuming,
while the checkpoints mmengine's own Runner writes hold more than tensors.
Loading one, and reading torch's error after each fix, gives this list of
what a Runner checkpoint (model, AdamW optimizer, parameter schedulers,
message hub, a metric with ``save_best``) needs beyond torch's defaults:

* ``mmengine.logging.history_buffer.HistoryBuffer`` -- the
  ``message_hub.log_scalars`` values;
* ``builtins.getattr`` -- a HistoryBuffer pickles its statistics methods
  (``statistics_methods``: ``min``, ``max``, ``current``, ``mean``) as
  ``getattr(HistoryBuffer, name)``. The real ``getattr`` is NOT allowed: the
  name is bound to :func:`history_buffer_statistic`, which returns only these
  four methods and refuses everything else;
* ``numpy.core.multiarray._reconstruct``, ``numpy.ndarray`` and
  ``numpy.dtype`` -- the HistoryBuffer's arrays (and any numpy array);
* the dtype classes ``numpy.dtypes.Float64DType`` and
  ``numpy.dtypes.Int64DType`` -- the rebuilt dtype instances of those arrays
  (values are float64, counts int64); the other numeric dtype classes (bool,
  signed and unsigned integers, float16/32) are allowed too so metric
  values of those types load, while object, string and void dtypes stay
  refused: an allowed array or scalar can only carry numbers;
* ``numpy.core.multiarray.scalar`` -- numpy scalars, e.g. metric results
  kept in ``message_hub.runtime_info`` (``val/<metric>``, ``best_score``);
* ``builtins.bytes`` -- torch pickles with protocol 2, which writes a
  non-empty byte string as ``_codecs.encode(text, 'latin1')`` (allowed by
  torch) but an empty one as the call ``bytes()``: the data of every empty
  numpy array (such as an unused :class:`HistoryBuffer`) and ``b''``
  itself. The real ``bytes`` is NOT allowed (``bytes(10 ** 12)`` would
  allocate a terabyte): the name is bound to :func:`empty_bytes`, which
  only makes ``b''``.

:func:`register_mmengine_safe_globals` adds exactly these with
:func:`torch.serialization.add_safe_globals`; it runs when this module is
imported (the plugin's ``__init__`` imports it, so it is in place before any
checkpoint is read) and is idempotent.
``weights_only`` stays on: anything else in a checkpoint, such as a pickled
object whose ``__reduce__`` calls ``os.system``, is refused by torch with a
``pickle.UnpicklingError`` naming the global before any of it runs. A
trusted checkpoint with other objects can still be read explicitly with
``torch.load(path, weights_only=False)``.
"""
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

__all__ = [
    'register_mmengine_safe_globals', 'mmengine_safe_globals',
    'history_buffer_statistic', 'empty_bytes'
]

#: The statistics methods every HistoryBuffer pickles (its defaults).
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')

#: numpy dtypes whose classes are allowed (numbers only).
NUMERIC_DTYPES = ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16',
                  'uint32', 'uint64', 'float16', 'float32', 'float64')

SafeGlobal = Union[Callable, Tuple[Callable, str]]


def history_buffer_statistic(obj: Any, name: str) -> Callable:
    """Restricted stand-in for ``getattr`` during ``weights_only`` loading.

    Registered under the name ``builtins.getattr``, so the pickle
    instruction ``getattr(HistoryBuffer, 'mean')`` works; any other use of
    ``getattr`` in a checkpoint is refused.

    Args:
        obj (Any): the object attributes are read from; must be
            :class:`HistoryBuffer`.
        name (str): one of :data:`HISTORY_BUFFER_STATISTICS`.

    Returns:
        Callable: the unbound statistics method ``HistoryBuffer.<name>``.
    """
    if obj is not HistoryBuffer or name not in HISTORY_BUFFER_STATISTICS:
        raise pickle.UnpicklingError(
            f'checkpoint uses getattr({obj!r}, {name!r}); only '
            f'getattr(HistoryBuffer, name) with name in '
            f'{HISTORY_BUFFER_STATISTICS} is allowed in weights_only '
            f'loading')
    return getattr(HistoryBuffer, name)


def empty_bytes(*args: Any) -> bytes:
    """Restricted stand-in for ``bytes`` during ``weights_only`` loading.

    Registered under the name ``builtins.bytes``, so the pickle instruction
    ``bytes()`` (protocol 2's empty byte string) works; a call with
    arguments, e.g. ``bytes(10 ** 12)``, is refused.

    Args:
        *args: must be empty.

    Returns:
        bytes: ``b''``.
    """
    if args:
        raise pickle.UnpicklingError(
            f'checkpoint calls bytes(*{args!r}); only bytes() (an empty '
            'byte string) is allowed in weights_only loading')
    return b''


def _numpy_multiarray():
    """The module that numpy pickles arrays and scalars through."""
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    return multiarray


def mmengine_safe_globals() -> List[SafeGlobal]:
    """The globals that mmengine Runner checkpoints need beyond torch's own.

    Returns:
        list: classes and functions, and ``(callable, 'builtins.getattr')``
        and ``(callable, 'builtins.bytes')``, in the form
        :func:`torch.serialization.add_safe_globals` takes.
    """
    multiarray = _numpy_multiarray()
    dtype_classes = []
    for name in NUMERIC_DTYPES:
        cls = type(np.dtype(name))
        if cls not in dtype_classes:
            dtype_classes.append(cls)
    return [
        HistoryBuffer,
        (history_buffer_statistic, 'builtins.getattr'),
        (empty_bytes, 'builtins.bytes'),
        multiarray._reconstruct,
        multiarray.scalar,
        np.ndarray,
        np.dtype,
        *dtype_classes,
    ]


def register_mmengine_safe_globals() -> List[SafeGlobal]:
    """Allow-list the globals of mmengine checkpoints for ``weights_only``.

    Idempotent: torch keeps its allow-list as a set, so calling this again
    (or re-importing this module) adds nothing new.

    Returns:
        list: the registered entries (see :func:`mmengine_safe_globals`).
    """
    safe = mmengine_safe_globals()
    torch.serialization.add_safe_globals(safe)
    return safe


register_mmengine_safe_globals()

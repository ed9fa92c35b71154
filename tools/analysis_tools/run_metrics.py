"""The evaluation metrics of one finished mmengine run, read from its logs.

mmengine's ``LoggerHook`` appends one JSON dict per line to
``WORK_DIR/<timestamp>/vis_data/scalars.json``: training lines and one line
per validation with the metrics (``step`` = the epoch for epoch-based
runs). A test loop run inside training (``FinalTestHook``) is written as
one JSON dict to ``WORK_DIR/<timestamp>/<timestamp>.json``. The latest
``<timestamp>`` folder is read. For every validation metric key ``last``
(the last validation, the number to report) and ``best`` (the highest one,
selected on the split it is measured on: optimistic, never unbiased) are
taken, and for every final-test key its one value (``test``).
"""
import argparse
import json
import os
import os.path as osp
import re
from typing import Dict, List, Optional

__all__ = [
    'TIMESTAMP_PATTERN', 'latest_scalars_file', 'read_scalars',
    'check_metric_pattern', 'metric_history', 'summarize_run',
    'final_test_file', 'read_final_test', 'resumed_epoch', 'read_run_metrics'
]

#: how mmengine names the folder of one run (``time.strftime``)
TIMESTAMP_PATTERN = re.compile(r'^\d{8}_\d{6}$')


def latest_scalars_file(work_dir: str) -> str:
    """The ``scalars.json`` of the newest run of a work dir.

    Runs are the ``YYYYMMDD_HHMMSS`` folders of ``work_dir`` that hold a
    ``vis_data/scalars.json`` (``tools/test.py`` runs write none); the
    newest timestamp wins.

    Args:
        work_dir (str): an mmengine work dir.

    Returns:
        str: path of the newest run's ``vis_data/scalars.json``.

    Raises:
        FileNotFoundError: ``work_dir`` is missing or holds no run with a
            ``scalars.json``.
    """
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'work dir not found: {work_dir}')
    runs = sorted(
        name for name in os.listdir(work_dir) if TIMESTAMP_PATTERN.match(name)
        and osp.isfile(osp.join(work_dir, name, 'vis_data', 'scalars.json')))
    if not runs:
        expected = osp.join(work_dir, '<YYYYMMDD_HHMMSS>', 'vis_data',
                            'scalars.json')
        raise FileNotFoundError(
            f'no run with logged scalars in {work_dir}: expected {expected} '
            '(written by mmengine while training)')
    return osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')


def read_scalars(path: str) -> List[dict]:
    """Read an mmengine ``scalars.json``: a JSON dict per non-blank line.

    Args:
        path (str): the file.

    Returns:
        list[dict]: the records in file order, each with a ``step``.

    Raises:
        FileNotFoundError: ``path`` is missing.
        ValueError: a line is not a JSON dict with an integer ``step``
            (the message names the file and the line number).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'scalars file not found: {path}')
    records = []
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}, line {number}: not JSON ({err}); '
                                 'a run killed while logging leaves a '
                                 'partial last line') from None
            if not isinstance(record, dict) or not isinstance(
                    record.get('step'), int):
                raise ValueError(f'{path}, line {number}: expected a JSON '
                                 'dict with an integer "step", got '
                                 f'{line.strip()[:80]!r}')
            records.append(record)
    return records


def metric_history(records: List[dict], key: str, source: str) -> List[tuple]:
    """Every logged value of one metric, in logging order.

    Args:
        records (list[dict]): the records of :func:`read_scalars`.
        key (str): the metric key, e.g. ``'accuracy/top1'``.
        source (str): where the records come from, for error messages.

    Returns:
        list[tuple[int, float]]: ``(step, value)`` pairs.

    Raises:
        ValueError: a value of ``key`` is not a number.
    """
    history = []
    for record in records:
        if key not in record:
            continue
        value = record[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f'{source}: {key!r} at step {record["step"]} '
                             f'is not a number: {value!r}')
        history.append((record['step'], float(value)))
    return history


def check_metric_pattern(pattern: str) -> str:
    """Check a metric pattern before anything runs (for command lines).

    Args:
        pattern (str): a regular expression.

    Returns:
        str: ``pattern``.

    Raises:
        argparse.ArgumentTypeError: it does not compile.
    """
    try:
        re.compile(pattern)
    except re.error as err:
        raise argparse.ArgumentTypeError(
            f'--metric {pattern!r} is not a regular expression: '
            f'{err}') from None
    return pattern


def _compile(pattern: str) -> 're.Pattern':
    """Compile a metric pattern; ValueError if it is not one."""
    try:
        return re.compile(pattern)
    except re.error as err:
        raise ValueError(f'metric pattern {pattern!r} is not a regular '
                         f'expression: {err}') from None


def summarize_run(records: List[dict],
                  pattern: str = 'accuracy/top1',
                  source: str = 'scalars') -> Dict[str, dict]:
    """Last and best validation of every metric key matching ``pattern``.

    Args:
        records (list[dict]): the records of :func:`read_scalars`.
        pattern (str): regular expression searched in each key
            (:func:`re.search`): ``'accuracy/top1'``, ``'svm/accuracy'``,
            ``'accuracy'`` (both) ...
        source (str): where the records come from, for error messages.

    Returns:
        dict[str, dict]: metric key -> ``last`` and ``last_step`` (the last
        validation), ``best`` and ``best_step`` (the highest value; the
        earliest step on ties; selected on the evaluated split:
        optimistic) and ``num_evaluations``; empty when no key matches.

    Raises:
        ValueError: ``pattern`` is not a valid regular expression, or a
            value of a matching key is not a number.
    """
    regex = _compile(pattern)
    keys = []
    for record in records:
        for key in record:
            if key != 'step' and key not in keys and regex.search(key):
                keys.append(key)
    summary = {}
    for key in keys:
        history = metric_history(records, key, source)
        last_step, last = history[-1]
        best_step, best = max(history, key=lambda item: item[1])
        summary[key] = dict(
            last=last,
            last_step=last_step,
            best=best,
            best_step=best_step,
            num_evaluations=len(history))
    return summary


def final_test_file(scalars_file: str) -> str:
    """Where a run's in-training test loop is logged.

    Args:
        scalars_file (str): ``<work_dir>/<timestamp>/vis_data/scalars.json``.

    Returns:
        str: ``<work_dir>/<timestamp>/<timestamp>.json`` (may not exist).
    """
    run_dir = osp.dirname(osp.dirname(scalars_file))
    return osp.join(run_dir, osp.basename(run_dir) + '.json')


def read_final_test(path: str, pattern: str = 'accuracy/top1') -> dict:
    """The test metrics a training run logged after training, if any.

    Numeric values of the keys matching ``pattern`` are taken (e.g.
    ``accuracy/top1`` and, with voting, ``vote/accuracy/top1``).

    Args:
        path (str): :func:`final_test_file` of the run.
        pattern (str): regular expression searched in each key.

    Returns:
        dict[str, float]: metric key -> value; empty when the run scored no
        test split (no such file).

    Raises:
        ValueError: the file is not a JSON dict.
    """
    if not osp.isfile(path):
        return {}
    with open(path, encoding='utf-8') as f:
        try:
            logged = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{path}: not JSON ({err})') from None
    if not isinstance(logged, dict):
        raise ValueError(f'{path}: expected the JSON dict of a test loop\'s '
                         f'metrics, got {type(logged).__name__}')
    regex = _compile(pattern)
    return {
        key: float(value)
        for key, value in logged.items() if regex.search(key)
        and isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def resumed_epoch(scalars_file: str) -> Optional[int]:
    """The epoch a run was resumed from, read from its log file.

    The Runner logs ``resumed epoch: N, iter: M`` in
    ``<timestamp>/<timestamp>.log``; ``scalars.json`` then holds only the
    epochs after ``N``.

    Args:
        scalars_file (str): ``<work_dir>/<timestamp>/vis_data/scalars.json``.

    Returns:
        int | None: ``N``, or None when the run started from scratch (or
        its log file is missing).
    """
    log_file = osp.splitext(final_test_file(scalars_file))[0] + '.log'
    if not osp.isfile(log_file):
        return None
    with open(log_file, encoding='utf-8', errors='replace') as f:
        for line in f:
            found = re.search(r'resumed epoch: (\d+)', line)
            if found:
                return int(found.group(1))
    return None


def read_run_metrics(work_dir: str,
                     pattern: str = 'accuracy/top1',
                     scalars_file: Optional[str] = None) -> dict:
    """Find, read and summarise the latest run of a work dir.

    Args:
        work_dir (str): an mmengine work dir.
        pattern (str): metric keys to take (see :func:`summarize_run`).
        scalars_file (str, optional): read this file instead of looking
            for the latest run of ``work_dir``.

    Returns:
        dict: ``work_dir``, ``scalars`` (the file read),
        ``resumed_from_epoch`` (see :func:`resumed_epoch`: the best then
        covers only the epochs after it), ``metrics`` (validation, see
        :func:`summarize_run`), ``test`` (see :func:`read_final_test`) and
        ``test_file`` (None when the run scored no test split).

    Raises:
        ValueError: no validation or final-test key matches ``pattern``
            (the message lists the keys there are).
    """
    path = scalars_file or latest_scalars_file(work_dir)
    records = read_scalars(path)
    metrics = summarize_run(records, pattern, source=path)
    test_path = final_test_file(path)
    test = read_final_test(test_path, pattern)
    if not metrics and not test:
        available = sorted({k for r in records for k in r} - {'step'})
        raise ValueError(f'{path}: no logged key matches the metric pattern '
                         f'{pattern!r}; keys there: {available} (was the '
                         'run validated at least once?)')
    return dict(
        work_dir=work_dir,
        scalars=path,
        resumed_from_epoch=resumed_epoch(path),
        metrics=metrics,
        test=test,
        test_file=test_path if osp.isfile(test_path) else None)

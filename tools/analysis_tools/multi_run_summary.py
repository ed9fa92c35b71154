"""Mean ± standard deviation over several runs, as a Markdown table and JSON.

The one place where the results of several runs (seeds, few-shot folds),
the dicts of :func:`~tools.analysis_tools.run_metrics.read_run_metrics`,
are combined. A metric key gets up to three summaries: ``last`` (the runs'
last validations, the numbers to report), ``best_selected_on_same_split``
(each run's highest validation, selected on the split it was measured on:
optimistic, never unbiased) and ``test`` (the test split scored once after
training, ``FinalTestHook``). The standard deviation is the sample one
(``ddof=1``); a single run has none.
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from projects.I2PMAE.i2pmae.datasets.file_io import atomic_open

__all__ = [
    'LAST', 'BEST', 'TEST', 'COLUMN_LABELS', 'STD_NOTE', 'mean_std',
    'format_mean_std', 'aggregate_runs', 'markdown_table', 'save_json'
]

#: summary keys of the last validation, of the best one and of the test
#: scored after training
LAST = 'last'
BEST = 'best_selected_on_same_split'
TEST = 'test'
#: how they are named in tables
COLUMN_LABELS = {
    LAST: 'last',
    BEST: 'best (selected on the same split: optimistic)',
    TEST: 'test (after training, scored once)',
}
STD_NOTE = 'sample standard deviation (ddof=1); none for a single run'


def mean_std(values: Sequence[float]) -> dict:
    """Mean and sample standard deviation of some numbers.

    Args:
        values (Sequence[float]): one number per run.

    Returns:
        dict: ``n``, ``mean``, ``std`` (``ddof=1``; None when ``n < 2``)
        and ``values``.

    Raises:
        ValueError: ``values`` is empty.
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError('mean_std needs at least one value')
    n = len(values)
    mean = math.fsum(values) / n
    std = (
        math.sqrt(math.fsum(
            (v - mean)**2 for v in values) / (n - 1)) if n > 1 else None)
    return dict(n=n, mean=mean, std=std, values=values)


def format_mean_std(stats: dict, digits: int = 2) -> str:
    """``'23.87 ± 0.98'`` (or ``'31.25 (n=1)'`` for a single run).

    Args:
        stats (dict): a :func:`mean_std` result.
        digits (int): decimals.

    Returns:
        str: the formatted summary.
    """
    if stats['std'] is None:
        return f'{stats["mean"]:.{digits}f} (n=1)'
    return f'{stats["mean"]:.{digits}f} ± {stats["std"]:.{digits}f}'


def _union(parts: Sequence[dict]) -> List[str]:
    """The keys of several dicts, in first-seen order."""
    keys: List[str] = []
    for part in parts:
        keys += [k for k in part if k not in keys]
    return keys


def aggregate_runs(runs: Sequence[dict],
                   names: Sequence[str]) -> Dict[str, dict]:
    """Summarise every metric key over the runs.

    Args:
        runs (Sequence[dict]): :func:`read_run_metrics` results.
        names (Sequence[str]): a name per run (for error messages).

    Returns:
        dict[str, dict]: metric key -> ``{LAST: mean_std, BEST: mean_std}``
        for the validation keys, plus ``{TEST: mean_std}`` for the keys of
        the test scored after training.

    Raises:
        ValueError: no runs, or a run lacks a key that another one has
            (the message names the run and its scalars file).
    """
    if not runs:
        raise ValueError('no runs to summarise')
    summary: Dict[str, dict] = {}
    for part, what in (('metrics', 'validation'), ('test', 'final test')):
        keys = _union([run.get(part, {}) for run in runs])
        for name, run in zip(names, runs):
            missing = [k for k in keys if k not in run.get(part, {})]
            if missing:
                raise ValueError(f'run {name} ({run["scalars"]}) logged no '
                                 f'{what} of {missing}; other runs did')
        for key in keys:
            values = [run[part][key] for run in runs]
            stats = summary.setdefault(key, {})
            if part == 'metrics':
                stats[LAST] = mean_std([v['last'] for v in values])
                stats[BEST] = mean_std([v['best'] for v in values])
            else:
                stats[TEST] = mean_std(values)
    return summary


def markdown_table(runs: Sequence[dict],
                   names: Sequence[str],
                   summary: Dict[str, dict],
                   name_header: str = 'run',
                   digits: int = 2) -> str:
    """A Markdown table: one row per run, then mean ± std.

    Validation cells read ``value @ step`` (the validation step: the epoch
    of epoch-based runs). Notes under the table say what "best" means and
    which standard deviation is used.

    Args:
        runs (Sequence[dict]): :func:`read_run_metrics` results.
        names (Sequence[str]): a name per run (first column).
        summary (dict): :func:`aggregate_runs` of ``runs``.
        name_header (str): header of the first column.
        digits (int): decimals.

    Returns:
        str: the table and its notes.
    """
    columns = [(key, part) for key, parts in summary.items()
               for part in (LAST, BEST, TEST) if part in parts]
    header = [name_header]
    header += [f'{key} {COLUMN_LABELS[part]}' for key, part in columns]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for name, run in zip(names, runs):
        cells = [str(name)]
        for key, part in columns:
            if part == TEST:
                cells.append(f'{run["test"][key]:.{digits}f}')
            else:
                metric = run['metrics'][key]
                step = 'last_step' if part == LAST else 'best_step'
                value = metric['last' if part == LAST else 'best']
                cells.append(f'{value:.{digits}f} @ {metric[step]}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    cells = [f'mean ± std (n={len(runs)})'] + [
        format_mean_std(summary[key][part], digits) for key, part in columns
    ]
    lines.append('| ' + ' | '.join(cells) + ' |')
    lines += [
        '',
        '`value @ step`: the validation step (the epoch for epoch-based '
        'runs). last: the last validation of each run. best: the highest '
        'validation of each run, selected on the split it is measured on, '
        'so it overestimates that split\'s accuracy and is not an unbiased '
        f'result. ± is the {STD_NOTE}.',
    ]
    if any(part == TEST for _, part in columns):
        lines.append('test: the test split scored once after the last epoch '
                     '(nothing selected on it).')
    resumed = [
        f'{name} (from epoch {run["resumed_from_epoch"]})'
        for name, run in zip(names, runs) if run.get('resumed_from_epoch')
    ]
    if resumed:
        lines.append('Resumed runs (their best covers only the epochs after '
                     'the resume): ' + ', '.join(resumed) + '.')
    return '\n'.join(lines)


def save_json(obj: dict, path: str, indent: Optional[int] = 2) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (``atomic_open``).

    Args:
        obj (dict): JSON-serialisable content.
        path (str): destination file; its folder is created.
        indent (int, optional): JSON indentation.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with atomic_open(path, 'w') as f:
        json.dump(obj, f, indent=indent)
        f.write('\n')

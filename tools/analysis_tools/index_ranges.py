"""Lists of indices on the command line: ``0-9``, ``0 2 5``, ``0-2,7``."""
import argparse
from typing import List, Sequence

__all__ = ['parse_index_ranges']


def parse_index_ranges(items: Sequence[str], what: str = 'index') -> List[int]:
    """Expand ``['0-2', '7']`` (or ``['0-2,7']``) to ``[0, 1, 2, 7]``.

    Args:
        items (Sequence[str]): command-line words; each holds non-negative
            integers or inclusive ranges ``A-B``, separated by commas.
        what (str): what the numbers are (``'seed'``, ``'fold'``), for
            error messages.

    Returns:
        list[int]: the indices in the given order.

    Raises:
        argparse.ArgumentTypeError: a word is not an index or a range, a
            range is empty, or an index repeats.
    """
    indices: List[int] = []
    for item in items:
        for part in str(item).split(','):
            part = part.strip()
            if not part:
                continue
            first, sep, last = part.partition('-')
            if not first.isdigit() or (sep and not last.isdigit()):
                raise argparse.ArgumentTypeError(
                    f'bad {what} {part!r}: expected N or A-B (non-negative '
                    'integers)')
            start = int(first)
            stop = int(last) if sep else start
            if stop < start:
                raise argparse.ArgumentTypeError(
                    f'bad {what} range {part!r}: the end is before the start')
            for index in range(start, stop + 1):
                if index in indices:
                    raise argparse.ArgumentTypeError(
                        f'{what} {index} is given twice')
                indices.append(index)
    if not indices:
        raise argparse.ArgumentTypeError(f'no {what} given')
    return indices

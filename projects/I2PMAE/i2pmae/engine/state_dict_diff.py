"""Which keys of a checkpoint fit a model, and a short report of the rest."""
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = ['StateDictDiff', 'checkpoint_state_dict', 'key_group']

#: mmengine's default ``revise_keys`` of ``Runner.load_checkpoint``
DEFAULT_REVISE_KEYS = ((r'^module\.', ''), )

Shape = Optional[Tuple[int, ...]]


def checkpoint_state_dict(
    checkpoint: Mapping[str, Any],
    revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS
) -> 'OrderedDict[str, Any]':
    """The model state of a loaded checkpoint, as mmengine would load it.

    Args:
        checkpoint (Mapping): a loaded checkpoint: ``{'state_dict': ...}``
            or a raw state dict.
        revise_keys (Sequence[tuple[str, str]]): ``(pattern, replacement)``
            regular-expression rewrites of the keys. Defaults to stripping a
            leading ``module.`` (wrapped models), as mmengine does.

    Returns:
        OrderedDict: key to tensor (or other value).
    """
    state = checkpoint.get('state_dict', checkpoint)
    revised = OrderedDict()
    for key, value in state.items():
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    return revised


def key_group(key: str, depth: int = 2) -> str:
    """The module prefix a state-dict key is reported under.

    Args:
        key (str): e.g. ``'backbone.encoders.0.blocks.1.attn.qkv.weight'``.
        depth (int): number of leading components kept. Defaults to 2.

    Returns:
        str: e.g. ``'backbone.encoders'`` (a key with at most ``depth``
        components is grouped under its first one).
    """
    parts = key.split('.')
    if len(parts) <= depth:
        return parts[0]
    return '.'.join(parts[:depth])


def _shape(value: Any) -> Shape:
    shape = getattr(value, 'shape', None)
    return None if shape is None else tuple(int(s) for s in shape)


def _fmt_shape(shape: Shape) -> str:
    return '[' + ', '.join(str(s) for s in shape) + ']'


@dataclass
class StateDictDiff:
    """How a checkpoint's state dict differs from a model's.

    Args:
        num_model_keys (int): keys of the model's state dict considered.
        missing (list[str]): model keys the checkpoint lacks.
        mismatched (list[tuple[str, tuple, tuple]]): ``(key, checkpoint
            shape, model shape)`` of keys present in both with different
            shapes.
        unexpected (list[str]): checkpoint keys the model lacks.
    """

    num_model_keys: int = 0
    missing: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, Shape, Shape]] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)

    @classmethod
    def compare(cls, checkpoint_state: Mapping[str, Any],
                model_state: Mapping[str, Any]) -> 'StateDictDiff':
        """Compare key sets and tensor shapes.

        Args:
            checkpoint_state (Mapping): the checkpoint's (revised) state.
            model_state (Mapping): ``model.state_dict()``.

        Returns:
            StateDictDiff: the differences.
        """
        diff = cls(num_model_keys=len(model_state))
        for key, value in model_state.items():
            if key not in checkpoint_state:
                diff.missing.append(key)
                continue
            ckpt_shape = _shape(checkpoint_state[key])
            model_shape = _shape(value)
            if ckpt_shape != model_shape:
                diff.mismatched.append((key, ckpt_shape, model_shape))
        diff.unexpected = [k for k in checkpoint_state if k not in model_state]
        return diff

    def restrict(self, prefixes: Optional[Sequence[str]]) -> 'StateDictDiff':
        """Keep only the model keys under ``prefixes``.

        Args:
            prefixes (Sequence[str], optional): key prefixes, e.g.
                ``['backbone.']``; None keeps everything.

        Returns:
            StateDictDiff: the missing / mismatched keys under the prefixes
            (``unexpected`` is kept as is).
        """
        if prefixes is None:
            return self
        prefixes = tuple(prefixes)
        return StateDictDiff(
            num_model_keys=self.num_model_keys,
            missing=[k for k in self.missing if k.startswith(prefixes)],
            mismatched=[
                m for m in self.mismatched if m[0].startswith(prefixes)
            ],
            unexpected=list(self.unexpected))

    @property
    def not_loaded(self) -> List[str]:
        """Model keys that will not load (missing or of another shape)."""
        return self.missing + [m[0] for m in self.mismatched]

    @staticmethod
    def summarise_keys(entries: Sequence[str],
                       max_groups: int = 6,
                       max_names: int = 2) -> List[str]:
        """Group entries by :func:`key_group` of their key.

        Args:
            entries (Sequence[str]): keys, or ``'key (details)'`` strings.
            max_groups (int): groups listed before ``... more``.
            max_names (int): example entries per group.

        Returns:
            list[str]: one line per group: ``'prefix.*: count (e.g. ...)'``.
        """
        groups: Dict[str, List[str]] = OrderedDict()
        for entry in entries:
            groups.setdefault(key_group(entry.split(' ')[0]), []).append(entry)
        lines = []
        for name, members in list(groups.items())[:max_groups]:
            shown = ', '.join(members[:max_names])
            more = ', ...' if len(members) > max_names else ''
            lines.append(f'{name}.*: {len(members)} (e.g. {shown}{more})')
        if len(groups) > max_groups:
            lines.append(f'... and {len(groups) - max_groups} more groups')
        return lines

    def summary(self, unexpected: bool = True, indent: str = '  ') -> str:
        """Counts and the first names of the differences, by module prefix.

        Args:
            unexpected (bool): include the checkpoint keys the model lacks.
            indent (str): prefix of every line.

        Returns:
            str: a multi-line report (empty when nothing differs).
        """
        sections = [
            ('missing from the checkpoint', self.missing),
            ('different shape', [
                f'{k} (checkpoint {_fmt_shape(c) if c else "-"}, model '
                f'{_fmt_shape(m) if m else "-"})'
                for k, c, m in self.mismatched
            ]),
        ]
        if unexpected:
            sections.append(('in the checkpoint only', self.unexpected))
        lines = []
        for title, entries in sections:
            if not entries:
                continue
            lines.append(f'{indent}{title}: {len(entries)} keys')
            lines += [
                f'{indent}  {line}' for line in self.summarise_keys(entries)
            ]
        return '\n'.join(lines)

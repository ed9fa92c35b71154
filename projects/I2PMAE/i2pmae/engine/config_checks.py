"""Checks of a run's config and its command-line overrides, before building.

mmengine lets three kinds of bad input through silently, or reports them
only after the model is built: a ``--cfg-options`` key that is not in the
config (a typo such as ``train_cfgg.max_epochs=1`` adds an entry nothing
reads, :func:`check_cfg_option`); an override of a config *variable* that
other entries were computed from when mmengine evaluated the files
(``max_epochs=1``: ``train_cfg.max_epochs`` and the schedulers keep the old
value, :func:`derived_entries`); a dataset folder that does not exist
(:func:`check_data_paths`).

Every component of an option's dotted key must exist in the config (list
items by index), except a top-level key the Runner or a hook of this
package reads with a default (:func:`runtime_keys`), a new key of a dict
whose class or function takes that keyword argument (its ``type`` resolved
in the config's registry scope, or the implicit type of the Runner's
type-less dicts; ``**kwargs`` are followed up the class hierarchy), and a
key written with a leading ``+``, set as given. A variable that other
entries were built from (found in the files' syntax trees) is refused,
naming the entries to set instead. Re-evaluating the files with the
variable substituted was not chosen: mmengine has no hook for it, and an
override would silently change every entry built from the variable,
including ones the user did not mean to touch.
"""
import ast
import difflib
import functools
import inspect
import os.path as osp
from importlib import import_module
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.utils import import_modules_from_strings

__all__ = [
    'ADD_PREFIX', 'CFG_OPTIONS_HELP', 'ConfigCheckError', 'runtime_keys',
    'config_files', 'derived_entries', 'check_cfg_option', 'apply_cfg_options',
    'validation_runs', 'run_dataloaders', 'check_data_paths'
]

#: prefix of a ``--cfg-options`` key that is set without checks
ADD_PREFIX = '+'

CFG_OPTIONS_HELP = (
    'override config entries, e.g. train_cfg.max_epochs=1 or '
    'model.tokenizer.num_groups=[128,64,16] (list items by index: '
    'param_scheduler.1.T_max=3). A key must exist in the config, be a '
    'top-level runtime key of the Runner (load_from, resume, randomness, '
    '...), or be an argument that the class of its dict accepts '
    '(train_dataloader.dataset.indices=8); a config variable that other '
    'entries were computed from (max_epochs, data_root) is refused, naming '
    'those entries. Prefix a key with + to add or set it as given, '
    'unchecked: +my_key=1')

# top-level keys that the Runner reads with ``cfg.get`` besides the
# arguments of ``Runner.__init__`` (``Runner.from_cfg`` passes those), and
# the one ``RUNNERS.build`` reads
_RUNNER_CFG_KEYS = frozenset({
    'model_wrapper_cfg', 'sync_bn', 'find_unused_parameters',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'compile',
    'runner_type', 'custom_imports'
})
# top-level keys that hooks of this package read from ``runner.cfg``
# (CheckpointCompatibilityHook)
_PACKAGE_CFG_KEYS = frozenset(
    {'allow_partial_load', 'load_from_required_keys'})
# registries whose objects config dicts configure (by ``type``)
_REGISTRY_NAMES = ('MODELS', 'DATASETS', 'TRANSFORMS', 'DATA_SAMPLERS',
                   'FUNCTIONS', 'HOOKS', 'LOOPS', 'METRICS', 'EVALUATOR',
                   'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
                   'OPTIMIZERS', 'PARAM_SCHEDULERS', 'VISUALIZERS',
                   'VISBACKENDS', 'LOG_PROCESSORS', 'MODEL_WRAPPERS',
                   'TASK_UTILS', 'WEIGHT_INITIALIZERS', 'RUNNERS')
_MISSING = object()


class ConfigCheckError(ValueError):
    """A config entry or ``--cfg-options`` key that cannot work as given."""


def runtime_keys() -> FrozenSet[str]:
    """Top-level keys read at run time, with a default when absent.

    Returns:
        frozenset[str]: the arguments of ``Runner.__init__`` and the other
        keys that the Runner and the hooks of this package read.
    """
    from mmengine.runner import Runner
    params = inspect.signature(Runner.__init__).parameters
    return (frozenset(params) - {'self', 'cfg'}) | _RUNNER_CFG_KEYS | \
        _PACKAGE_CFG_KEYS


def config_files(filename: str) -> List[str]:
    """The files a config is read from, bases first.

    Args:
        filename (str): the config file.

    Returns:
        list[str]: the file and, recursively, its ``_base_`` files (given as
        a str or a list of str relative to the file; bases of other
        packages, ``pkg::path``, are left out), in the order mmengine
        merges them: every base before the file that names it.
    """
    files: List[str] = []

    def visit(path: str) -> None:
        path = osp.normpath(path)
        if path in files:
            return
        for base in _base_names(_parse(path)):
            if '::' not in base:
                visit(osp.join(osp.dirname(path), base))
        files.append(path)

    visit(filename)
    return files


def _parse(path: str) -> ast.Module:
    with open(path, encoding='utf-8') as f:
        return ast.parse(f.read(), filename=path)


def _base_names(tree: ast.Module) -> List[str]:
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == '_base_'):
            value = node.value
            items = value.elts if isinstance(value, (ast.List,
                                                     ast.Tuple)) else [value]
            return [
                item.value for item in items if isinstance(item, ast.Constant)
                and isinstance(item.value, str)
            ]
    return []


def _top_level_assignments(tree: ast.Module) -> List[Tuple[str, ast.AST]]:
    found = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id != '_base_':
                found.append((target.id, node.value))
    return found


def _refers_to(node: ast.AST, name: str) -> bool:
    """Whether an expression reads ``name`` or ``_base_.name``."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id == name:
            return True
        if (isinstance(sub, ast.Attribute) and sub.attr == name
                and isinstance(sub.value, ast.Name)
                and sub.value.id == '_base_'):
            return True
    return False


def _references(node: ast.AST, path: List[str], name: str,
                value: Any) -> List[Tuple[str, str]]:
    """Where in an entry's expression ``name`` is read.

    Follows ``dict(...)`` calls, dict, list and tuple literals and
    ``list + [...]`` concatenations down to the innermost entry whose
    expression reads ``name``.

    Args:
        node (ast.AST): the expression.
        path (list[str]): the dotted path of the expression.
        name (str): the variable.
        value: the parsed config's value at ``path`` (for the indexes of
            concatenated lists), or ``_MISSING``.

    Returns:
        list[tuple[str, str]]: (dotted path, source of its expression).
    """
    if not _refers_to(node, name):
        return []

    def child(key: str, sub: ast.AST) -> List[Tuple[str, str]]:
        return _references(sub, path + [key], name, _item(value, key))

    found: List[Tuple[str, str]] = []
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == 'dict' and not node.args):
        for keyword in node.keywords:
            if keyword.arg is None:
                if _refers_to(keyword.value, name):
                    found.append(
                        ('.'.join(path), '**' + ast.unparse(keyword.value)))
            else:
                found += child(keyword.arg, keyword.value)
        return found
    if isinstance(node, ast.Dict) and all(
            isinstance(k, ast.Constant) and isinstance(k.value, str)
            for k in node.keys):
        for key, sub in zip(node.keys, node.values):
            found += child(key.value, sub)
        return found
    if isinstance(node, (ast.List, ast.Tuple)):
        for i, sub in enumerate(node.elts):
            found += child(str(i), sub)
        return found
    if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)
            and isinstance(node.right, (ast.List, ast.Tuple))
            and not _refers_to(node.left, name)
            and isinstance(value, (list, tuple))
            and len(value) >= len(node.right.elts)):
        # base_list + [new items]: the new items are the last ones
        offset = len(value) - len(node.right.elts)
        for i, sub in enumerate(node.right.elts):
            found += child(str(offset + i), sub)
        return found
    return [('.'.join(path), ast.unparse(node))]


def derived_entries(cfg: Config, name: str) -> List[Tuple[str, str]]:
    """Entries of the config files computed from the top-level ``name``.

    Args:
        cfg (Config): a config read from a file (``cfg.filename``).
        name (str): a top-level variable of the config.

    Returns:
        list[tuple[str, str]]: (dotted path of the entry, source of its
        expression), e.g. ``('param_scheduler.1.T_max', 'max_epochs - 1')``,
        in file order (bases first); an entry defined in several files is
        listed once, with the last file's expression. Entries that read
        ``name`` to redefine ``name`` itself are left out. Empty for a
        config without a file.
    """
    filename = getattr(cfg, 'filename', None)
    if not filename or not osp.isfile(filename):
        return []
    found: Dict[str, str] = {}
    for path in config_files(filename):
        for target, value in _top_level_assignments(_parse(path)):
            if target == name:
                continue
            for entry, source in _references(value, [target], name,
                                             cfg.get(target, _MISSING)):
                found.pop(entry, None)
                found[entry] = source
    return list(found.items())


def _item(node: Any, part: str) -> Any:
    """``node[part]`` of a dict (or Config) or list, else ``_MISSING``."""
    if isinstance(node, (Config, dict)):
        return node.get(part, _MISSING)
    if (isinstance(node, (list, tuple)) and part.isdigit()
            and int(part) < len(node)):
        return node[int(part)]
    return _MISSING


def _value_at(cfg: Config, path: str) -> Any:
    return functools.reduce(_item, path.split('.'), cfg)


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _as_option(value: Any) -> str:
    """A value as written on the command line (a str unquoted)."""
    return _short(value) if not isinstance(value, str) else value


def _registered(type_name: str, cfg: Config) -> List[Any]:
    """Classes / functions registered under ``type_name`` in the scope."""
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg['custom_imports'])
    scope = cfg.get('default_scope') or 'mmengine'
    fallback = import_module('mmengine.registry')
    try:
        registry_module = import_module(f'{scope}.registry')
    except ImportError:
        registry_module = fallback
    with DefaultScope.overwrite_default_scope(scope):
        registries = [
            getattr(registry_module, name, getattr(fallback, name))
            for name in _REGISTRY_NAMES
        ]
        found = [registry.get(type_name) for registry in registries]
    return [obj for obj in found if obj is not None]


def _configured(path: List[str], node: dict, cfg: Config) -> List[Any]:
    """What the config dict ``node`` at ``path`` configures (or ``[]``)."""
    type_ = node.get('type')
    if type_ is not None:
        if isinstance(type_, str):
            return _registered(type_, cfg)
        return [type_] if callable(type_) else []
    if len(path) != 1:
        return []
    from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop,
                                 Runner, TestLoop, ValLoop)
    from torch.utils.data import DataLoader
    key = path[0]
    if key == 'train_cfg':
        return [
            EpochBasedTrainLoop if node.get('by_epoch') else IterBasedTrainLoop
        ]
    implicit = dict(
        val_cfg=ValLoop, test_cfg=TestLoop, randomness=Runner.set_randomness)
    if key in implicit:
        return [implicit[key]]
    if key.endswith('_dataloader') and 'dataset' in node:
        return [DataLoader]
    return []


def _accepts(obj: Any, name: str) -> bool:
    """Whether a class's constructor or a function takes ``name``.

    A class's ``**kwargs`` are followed up its method resolution order
    (``ShapeNet55Dataset`` -> ``BaseDataset`` takes ``indices``); they end
    at the first ``__init__`` without ``**kwargs`` (or at ``object``). A
    function with ``**kwargs`` takes any name.
    """
    if inspect.isclass(obj):
        for klass in obj.__mro__[:-1]:  # object.__init__ takes nothing
            init = vars(klass).get('__init__')
            if init is None:
                continue
            try:
                params = inspect.signature(init).parameters
            except (TypeError, ValueError):
                return False
            if name in params and params[name].kind in (
                    inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    inspect.Parameter.KEYWORD_ONLY):
                return True
            if not any(p.kind == inspect.Parameter.VAR_KEYWORD
                       for p in params.values()):
                return False
        return False
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == inspect.Parameter.VAR_KEYWORD
                                 for p in params.values())


def _close(name: str, candidates) -> str:
    matches = difflib.get_close_matches(
        name, sorted({str(c)
                      for c in candidates}), n=3)
    return f' (did you mean {", ".join(matches)}?)' if matches else ''


def check_cfg_option(cfg: Config, key: str, value: Any = None) -> None:
    """Check one ``--cfg-options`` key against the config (see the module).

    Args:
        cfg (Config): the config, with the options before this one merged.
        key (str): the dotted key, without the ``+`` prefix.
        value: the value given (quoted in the suggestions only).

    Raises:
        ConfigCheckError: naming the key, the first component that is not
            in the config (with close matches), or the entries computed from
            an overridden variable.
    """
    option = f'--cfg-options {key}={_as_option(value)}'
    add = f'; give +{key}=... to add it as given'
    parts = key.split('.')
    if not all(parts):
        raise ConfigCheckError(f'{option}: empty component in the key')
    top, runtime = parts[0], runtime_keys()
    if top not in cfg:
        if top in runtime:
            return
        raise ConfigCheckError(
            f"{option}: the config has no key '{top}'"
            f'{_close(top, list(cfg.keys()) + sorted(runtime))}{add}')
    if top not in runtime:
        derived = derived_entries(cfg, top)
        if derived:
            copies = {top, f'_base_.{top}', f'**{top}', f'**_base_.{top}'}
            lines = []
            for path, source in derived:
                now = _value_at(cfg, path)
                now = ('' if now is _MISSING or source.startswith('**') else
                       f'  (now {_short(now)})')
                lines.append(f'  {path} = {source}{now}')
            example, source = derived[0]
            if source in copies:  # the same value, at the same sub-key
                example = '.'.join([example] + parts[1:])
                example = f'{example}={_as_option(value)}'
            raise ConfigCheckError(
                f"{option}: '{top}' is a variable of the config files; these "
                'entries were computed from it when the config was read and '
                'would keep their values:\n' + '\n'.join(lines) +
                f'\nset those entries instead (e.g. --cfg-options '
                f'{example}), or give +{key}=... to set the variable alone')
    node: Any = cfg[top]
    for depth, part in enumerate(parts[1:], start=1):
        where = '.'.join(parts[:depth])
        if isinstance(node, (list, tuple)):
            if not part.isdigit():
                raise ConfigCheckError(
                    f"{option}: '{where}' is a list; give its items by "
                    f"index, e.g. {where}.0.{'.'.join(parts[depth:])}")
            if int(part) >= len(node):
                raise ConfigCheckError(
                    f"{option}: '{where}' has {len(node)} items, no index "
                    f'{part}')
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                if any(
                        _accepts(obj, part)
                        for obj in _configured(parts[:depth], node, cfg)):
                    return
                raise ConfigCheckError(
                    f"{option}: '{where}' has no key '{part}', and what it "
                    f"configures takes no argument '{part}'"
                    f'{_close(part, node.keys())}{add}')
            node = node[part]
        else:
            hint = ''
            if isinstance(node, str) and isinstance(cfg.get(node), dict):
                rest = '.'.join(parts[depth:])
                hint = (f" -- it names the config key '{node}': set "
                        f'{node}.{rest} instead')
            raise ConfigCheckError(
                f"{option}: '{where}' is {_short(node)}, not a dict{hint}")


def apply_cfg_options(cfg: Config, options: Optional[dict]) -> None:
    """Check and merge ``--cfg-options`` into ``cfg``, in the order given.

    Args:
        cfg (Config): the config, changed in place.
        options (dict, optional): ``{dotted key: value}`` from mmengine's
            ``DictAction``; a key with a leading ``+`` is merged without
            checks (the ``+`` removed).

    Raises:
        ConfigCheckError: an option that fails :func:`check_cfg_option`.
    """
    for key, value in (options or {}).items():
        if key.startswith(ADD_PREFIX):
            key = key[len(ADD_PREFIX):]
            if not key:
                raise ConfigCheckError(
                    f'--cfg-options {ADD_PREFIX}={_as_option(value)}: no key')
        else:
            check_cfg_option(cfg, key, value)
        cfg.merge_from_dict({key: value})


def validation_runs(cfg: Config) -> bool:
    """Whether a training run reads the validation data.

    Args:
        cfg (Config): the config.

    Returns:
        bool: False without ``val_dataloader``, ``val_cfg`` or
        ``val_evaluator``; for a lazily built loop (``val_cfg.lazy_init``,
        the linear-SVM loops) whether the schedule reaches ``val_begin``;
        else True (the Runner builds the loop before the first epoch).
    """
    if any(
            cfg.get(k) is None
            for k in ('val_dataloader', 'val_cfg', 'val_evaluator')):
        return False
    if not cfg.val_cfg.get('lazy_init', False):
        return True
    train_cfg = cfg.get('train_cfg') or {}
    end = train_cfg.get('max_epochs', train_cfg.get('max_iters'))
    return end is None or train_cfg.get('val_begin', 1) <= end


def _named_loader(cfg: Config, value: Any, key: str,
                  found: List[Tuple[str, str, dict]]) -> None:
    if value is None:
        return
    named_by = ''
    if isinstance(value, str):
        named = cfg.get(value)
        if not isinstance(named, dict):
            raise ConfigCheckError(
                f"{key} names the config key '{value}', which " +
                ('the config does not define' if named is
                 None else f'holds {_short(named)}, not a dataloader config'))
        key, value, named_by = value, named, key
    if isinstance(value, dict):
        found.append((key, named_by, value))


def run_dataloaders(cfg: Config, mode: str) -> List[Tuple[str, str, dict]]:
    """The dataloader configs a ``train`` or ``test`` run builds.

    Args:
        cfg (Config): the config.
        mode (str): ``'train'``: ``train_dataloader`` and, when
            :func:`validation_runs`, ``val_dataloader`` and
            ``val_cfg.fit_dataloader``; ``'test'``: ``test_dataloader`` and
            ``test_cfg.fit_dataloader``. A str there names another key (as
            the linear-SVM loops take them), which is followed.

    Returns:
        list[tuple[str, str, dict]]: (the config key of the dataloader
        config, the key that names it or ``''``, the dataloader config),
        e.g. ``('svm_train_dataloader', 'val_dataloader', {...})``.

    Raises:
        ConfigCheckError: a str that names no dataloader config.
    """
    if mode not in ('train', 'test'):
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    found: List[Tuple[str, str, dict]] = []
    stages = ['train', 'val'] if mode == 'train' else ['test']
    for stage in stages:
        if stage == 'val' and not validation_runs(cfg):
            continue
        _named_loader(cfg, cfg.get(f'{stage}_dataloader'),
                      f'{stage}_dataloader', found)
        loop = cfg.get(f'{stage}_cfg')
        if stage != 'train' and isinstance(loop, dict):
            _named_loader(cfg, loop.get('fit_dataloader'),
                          f'{stage}_cfg.fit_dataloader', found)
    return found


def _is_uri(path: str) -> bool:
    return '://' in path


def _dataset_paths(dataset: Any, key: str) -> List[Tuple[str, str, bool, str]]:
    """The folders and files a dataset config reads.

    Args:
        dataset: the dataset config.
        key (str): its config key.

    Returns:
        list[tuple[str, str, bool, str]]: (the config key of the dataset,
        the field, whether it is a folder, the path), wrapped datasets
        first, then ``data_root`` before the paths under it.
    """
    if not isinstance(dataset, dict):
        return []
    found = _dataset_paths(dataset.get('dataset'), f'{key}.dataset')
    datasets = dataset.get('datasets')
    if isinstance(datasets, (list, tuple)):
        for i, sub in enumerate(datasets):
            found += _dataset_paths(sub, f'{key}.datasets.{i}')
    root = dataset.get('data_root')
    root = root if isinstance(root, str) and root else None
    if root is not None:
        found.append((key, 'data_root', True, root))

    def under_root(path: str) -> str:
        if root is None or osp.isabs(path) or _is_uri(path):
            return path
        return osp.join(root, path)

    fields = [('ann_file', False, dataset.get('ann_file'))]
    prefixes = dataset.get('data_prefix')
    if isinstance(prefixes, dict):
        fields += [(f'data_prefix.{n}', True, p) for n, p in prefixes.items()]
    for field, folder, path in fields:
        if isinstance(path, str) and path:
            found.append((key, field, folder, under_root(path)))
    return found


def check_data_paths(cfg: Config, mode: str) -> None:
    """Fail before anything is built when the run's data is missing.

    For every dataloader of :func:`run_dataloaders` (and wrapped datasets),
    ``data_root`` must be a folder, and ``ann_file`` and the ``data_prefix``
    folders (joined to ``data_root`` when relative, as ``BaseDataset``
    does) must exist. Remote paths (``s3://`` ...) are not checked.

    Args:
        cfg (Config): the config with every override merged.
        mode (str): ``'train'`` or ``'test'``.

    Raises:
        FileNotFoundError: listing every missing path with its config key
            (one line each).
        ConfigCheckError: see :func:`run_dataloaders`.
    """
    missing = []
    seen = set()
    for key, named_by, loader in run_dataloaders(cfg, mode):
        via = f' ({key} is named by {named_by})' if named_by else ''
        missing_roots = set()
        for dataset_key, field, folder, path in _dataset_paths(
                loader.get('dataset'), f'{key}.dataset'):
            entry = f'{dataset_key}.{field}'
            if (_is_uri(path) or (entry, path) in seen
                    or dataset_key in missing_roots):
                continue  # remote, reported, or under a missing data_root
            seen.add((entry, path))
            if osp.isdir(path) if folder else osp.isfile(path):
                continue
            what = 'folder' if folder else 'file'
            state = f'not a {what}' if osp.exists(path) else 'not found'
            missing.append(f'  {entry}: {what} {state}: {path!r}{via}')
            if field == 'data_root':
                missing_roots.add(dataset_key)
    if missing:
        raise FileNotFoundError(
            f'the data of this {mode} run is missing (prepare it, or set '
            'the keys with --cfg-options KEY=PATH):\n' + '\n'.join(missing))

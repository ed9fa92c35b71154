"""Refuse checkpoints whose weights do not fit the model they load into."""
import ast
from typing import Optional, Sequence

from mmdet3d.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from .state_dict_diff import StateDictDiff, checkpoint_state_dict

__all__ = ['CheckpointCompatibilityHook', 'CheckpointMismatchError']


class CheckpointMismatchError(RuntimeError):
    """A checkpoint lacks weights the model needs, or has the wrong ones."""


def _checkpoint_model_type(meta: dict) -> Optional[str]:
    """``model.type`` of the config text a Runner stored in ``meta['cfg']``.

    The text is parsed, never executed.

    Args:
        meta (dict): the checkpoint's ``meta``.

    Returns:
        str | None: the model type, when the config records it.
    """
    text = meta.get('cfg')
    if not isinstance(text, str):
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == 'model'
                for t in node.targets)):
            continue
        if isinstance(node.value, ast.Call):
            pairs = [(kw.arg, kw.value) for kw in node.value.keywords]
        elif isinstance(node.value, ast.Dict):
            pairs = [(getattr(k, 'value', None), v)
                     for k, v in zip(node.value.keys, node.value.values)]
        else:
            continue
        for name, value in pairs:
            if name == 'type' and isinstance(value, ast.Constant):
                return str(value.value)
    return None


@HOOKS.register_module()
class CheckpointCompatibilityHook(Hook):
    """Check a checkpoint against the model before mmengine loads it.

    mmengine loads checkpoints with ``strict=False``: keys of another shape
    or missing keys are only logged, and training or testing goes on from
    random weights. This hook runs in ``after_load_checkpoint`` (called by
    ``Runner.load_checkpoint`` and ``Runner.resume`` before the weights are
    copied) and raises :class:`CheckpointMismatchError` with a summary
    (counts, then the first names grouped by module prefix) when weights
    the model needs did not come with the checkpoint:

    * resuming (``resume=True``): every key of the model must load, and the
      checkpoint must have no others; otherwise the error says that the
      checkpoint belongs to a different model and names the model type and
      experiment recorded in its ``meta``;
    * loading ``load_from`` to start training (fine-tuning): the keys under
      ``required_keys`` must load. The new parts (a classification head)
      start from their initialisation and keys only the checkpoint has
      (the pretraining decoder and heads) are left unused; both are
      reported at info level;
    * loading to test or validate: every key of the model must load.

    Args:
        required_keys (Sequence[str], optional): key prefixes a ``load_from``
            checkpoint must provide when training starts from it, e.g.
            ``['backbone.']``. None reads the config's top-level
            ``load_from_required_keys`` (set by the fine-tuning model
            config); when that is unset too, every key of the model.
        allow_partial (bool, optional): only warn, and load what fits, when
            a ``load_from`` checkpoint (training or testing) does not fit;
            resuming always requires a full fit. None reads the config's
            top-level ``allow_partial_load`` (``--cfg-options
            allow_partial_load=True``). Defaults to None.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 required_keys: Optional[Sequence[str]] = None,
                 allow_partial: Optional[bool] = None) -> None:
        if isinstance(required_keys, str):
            required_keys = [required_keys]
        self.required_keys = (None if required_keys is None else
                              list(required_keys))
        self.allow_partial = allow_partial

    @staticmethod
    def purpose(runner) -> str:
        """Why the runner loads a checkpoint now.

        Args:
            runner (Runner): the runner.

        mmengine 0.10 has no public flag for this; the Runner's ``_resume``
        (its ``resume`` argument) and ``_train_loop`` (a built loop once
        ``Runner.train`` started, a config dict before) tell.

        Returns:
            str: ``'resume'`` (``resume=True``), ``'train'`` (the train loop
            is built: ``load_from`` before training) or ``'evaluate'``.
        """
        if getattr(runner, '_resume', False):
            return 'resume'
        if isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return 'train'
        return 'evaluate'

    def _setting(self, runner, value, cfg_key: str, default):
        if value is not None:
            return value
        cfg = getattr(runner, 'cfg', None)
        found = cfg.get(cfg_key, None) if cfg is not None else None
        return default if found is None else found

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Compare the checkpoint with the model; raise when it does not fit.

        Args:
            runner (Runner): the runner.
            checkpoint (dict): the loaded checkpoint.

        Raises:
            CheckpointMismatchError: naming the checkpoint and summarising
            the keys that did not fit.
        """
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        diff = StateDictDiff.compare(
            checkpoint_state_dict(checkpoint), model.state_dict())
        purpose = self.purpose(runner)
        source = getattr(runner, '_load_from', None) or 'the checkpoint'
        model_type = type(model).__name__
        if purpose == 'resume':
            if diff.not_loaded or diff.unexpected:
                raise CheckpointMismatchError(
                    self._different_model(source, checkpoint, model_type,
                                          runner, diff))
            return
        required = None
        if purpose == 'train':
            required = self._setting(runner, self.required_keys,
                                     'load_from_required_keys', None)
        needed = diff.restrict(required)
        allow = bool(
            self._setting(runner, self.allow_partial, 'allow_partial_load',
                          False))
        what = ('the keys under ' + ', '.join(repr(p) for p in required)
                if required is not None else 'every key')
        if needed.not_loaded:
            stage = 'training' if purpose == 'train' else 'evaluation'
            message = (f'{source} does not fit the {model_type} model: '
                       f'{len(needed.not_loaded)} of the keys it needs '
                       f'({what}, for {stage}) would not load.\n'
                       f'{needed.summary(unexpected=False)}')
            if not allow:
                raise CheckpointMismatchError(
                    message + '\nTo load only what fits on purpose, set '
                    'allow_partial_load=True (e.g. --cfg-options '
                    'allow_partial_load=True).')
            runner.logger.warning(message + '\nallow_partial_load=True: '
                                  'loading what fits.')
        elif diff.not_loaded or diff.unexpected:
            runner.logger.info(
                f'{source} fits {what} of the {model_type} model; the rest '
                f'keeps its initialisation or is unused:\n{diff.summary()}')

    @staticmethod
    def _different_model(source: str, checkpoint: dict, model_type: str,
                         runner, diff: StateDictDiff) -> str:
        meta = checkpoint.get('meta') or {}
        recorded = []
        ckpt_type = _checkpoint_model_type(meta)
        if ckpt_type:
            recorded.append(f'model type {ckpt_type}')
        if meta.get('experiment_name'):
            recorded.append(f'experiment {meta["experiment_name"]}')
        saved_by = (' (saved by ' + ', '.join(recorded) +
                    ')' if recorded else '')
        this_run = f'model type {model_type}'
        experiment = getattr(runner, 'experiment_name', None)
        if experiment:
            this_run += f', experiment {experiment}'
        return (f'cannot resume from {source}: it belongs to a different '
                f'model{saved_by} than this run ({this_run}); '
                f'{len(diff.not_loaded)} of the {diff.num_model_keys} model '
                f'keys would not load and {len(diff.unexpected)} checkpoint '
                f'keys have no place in the model.\n{diff.summary()}')

"""CheckpointCompatibilityHook: checkpoints that do not fit are errors."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import BaseLoop
from torch import nn

from projects.I2PMAE.i2pmae.engine import (CheckpointCompatibilityHook,
                                           CheckpointMismatchError,
                                           StateDictDiff,
                                           checkpoint_state_dict)
from projects.I2PMAE.i2pmae.engine.checkpoint_compatibility_hook import \
    _checkpoint_model_type

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


class _Encoder(nn.Module):

    def __init__(self, dim, norms=False):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Linear(dim, dim) for _ in range(3))
        self.embed = nn.Linear(3, dim)
        if norms:
            self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(2))


class _Pretrain(nn.Module):

    def __init__(self, dim):
        super().__init__()
        self.backbone = _Encoder(dim, norms=True)
        self.neck = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, 3)


class _Classifier(nn.Module):

    def __init__(self, dim):
        super().__init__()
        self.backbone = _Encoder(dim)
        self.head = nn.Sequential(nn.Linear(dim, 16), nn.Linear(16, 5))


class _Loop(BaseLoop):

    def run(self):
        pass


def _runner(model, purpose, **cfg):
    """A stand-in for the Runner attributes the hook reads."""
    return SimpleNamespace(
        model=model,
        cfg=Config(cfg),
        logger=MMLogger.get_instance('checkpoint_compatibility_test'),
        _resume=purpose == 'resume',
        _train_loop=_Loop(None, []) if purpose != 'evaluate' else dict(),
        _load_from='work/pretrain/epoch_4.pth',
        experiment_name='this_run')


def _checkpoint(model, **meta):
    return dict(meta=meta, state_dict=model.state_dict())


def test_purpose():
    hook = CheckpointCompatibilityHook()
    for purpose in ('resume', 'train', 'evaluate'):
        assert hook.purpose(_runner(_Classifier(4), purpose)) == purpose


def test_finetune_needs_only_the_required_keys(capsys):
    runner = _runner(
        _Classifier(8), 'train', load_from_required_keys=['backbone.'])
    MMLogger.get_instance('finetune_fits')
    runner.logger = MMLogger.get_current_instance()
    CheckpointCompatibilityHook().after_load_checkpoint(
        runner, _checkpoint(_Pretrain(8)))
    out = capsys.readouterr().out
    # the head starts from its initialisation, pretraining keys stay unused
    assert 'missing from the checkpoint: 4 keys' in out
    assert 'head.0.*: 2' in out
    assert 'in the checkpoint only: 8 keys' in out
    assert 'backbone.norms.*: 4' in out and 'neck.*: 2' in out


def test_finetune_from_a_mismatched_encoder_fails():
    runner = _runner(
        _Classifier(8), 'train', load_from_required_keys=['backbone.'])
    with pytest.raises(CheckpointMismatchError) as err:
        CheckpointCompatibilityHook().after_load_checkpoint(
            runner, _checkpoint(_Pretrain(4)))
    message = str(err.value)
    assert message.startswith('work/pretrain/epoch_4.pth does not fit the '
                              '_Classifier model: 8 of the keys it needs')
    assert "the keys under 'backbone.'" in message
    assert 'different shape: 8 keys' in message
    assert 'backbone.blocks.*: 6 (e.g. backbone.blocks.0.weight ' \
        '(checkpoint [4, 4], model [8, 8])' in message
    assert 'backbone.embed.*: 2' in message
    assert 'head' not in message  # not required when fine-tuning
    assert 'allow_partial_load=True' in message
    assert len(message.splitlines()) < 10


def test_every_key_is_required_without_a_declaration():
    runner = _runner(_Classifier(8), 'train')
    with pytest.raises(CheckpointMismatchError, match='head.0.*: 2'):
        CheckpointCompatibilityHook().after_load_checkpoint(
            runner, _checkpoint(_Pretrain(8)))
    # the hook argument overrides the config
    CheckpointCompatibilityHook(
        required_keys='backbone.blocks').after_load_checkpoint(
            runner, _checkpoint(_Pretrain(8)))


def test_opt_out_loads_what_fits(capsys):
    runner = _runner(
        _Classifier(8),
        'train',
        load_from_required_keys=['backbone.'],
        allow_partial_load=True)
    MMLogger.get_instance('partial_load')
    runner.logger = MMLogger.get_current_instance()
    CheckpointCompatibilityHook().after_load_checkpoint(
        runner, _checkpoint(_Pretrain(4)))
    out = capsys.readouterr().out
    assert 'WARNING' in out and 'loading what fits' in out
    # the hook argument wins over the config
    with pytest.raises(CheckpointMismatchError):
        CheckpointCompatibilityHook(allow_partial=False).after_load_checkpoint(
            runner, _checkpoint(_Pretrain(4)))


def test_evaluation_needs_every_key():
    runner = _runner(_Classifier(8), 'evaluate')
    with pytest.raises(CheckpointMismatchError) as err:
        CheckpointCompatibilityHook().after_load_checkpoint(
            runner, _checkpoint(_Pretrain(8)))
    assert 'for evaluation' in str(err.value)
    assert 'missing from the checkpoint: 4 keys' in str(err.value)
    # a fine-tuned checkpoint of a wrapped model (``module.`` keys) fits
    wrapped = nn.Module()
    wrapped.module = _Classifier(8)
    CheckpointCompatibilityHook().after_load_checkpoint(
        runner, _checkpoint(wrapped))


def test_resume_from_a_different_model_names_it():
    cfg_text = Config(
        dict(model=dict(type='PointClassifier', backbone=dict(
            type='Enc')))).pretty_text
    ckpt = _checkpoint(
        _Classifier(8), cfg=cfg_text, experiment_name='finetune_20250101')
    runner = _runner(_Pretrain(8), 'resume', allow_partial_load=True)
    with pytest.raises(CheckpointMismatchError) as err:
        CheckpointCompatibilityHook().after_load_checkpoint(runner, ckpt)
    message = str(err.value)
    assert message.startswith(
        'cannot resume from work/pretrain/epoch_4.pth: it belongs to a '
        'different model (saved by model type PointClassifier, experiment '
        'finetune_20250101) than this run (model type _Pretrain, '
        'experiment this_run)')
    # the same model resumes
    CheckpointCompatibilityHook().after_load_checkpoint(
        _runner(_Classifier(8), 'resume'), ckpt)


def test_model_type_of_a_stored_config():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/i2pmae_pretrain_synthetic.py'))
    assert _checkpoint_model_type(dict(cfg=cfg.pretty_text)) == 'I2PMAE'
    assert _checkpoint_model_type(dict(cfg='model = dict(')) is None
    assert _checkpoint_model_type({}) is None


def test_state_dict_diff_summary_is_short():
    model = {f'm{i}.sub.w': torch.zeros(2) for i in range(20)}
    diff = StateDictDiff.compare({}, model)
    lines = diff.summary().splitlines()
    assert lines[0] == '  missing from the checkpoint: 20 keys'
    assert lines[-1] == '    ... and 14 more groups'
    assert checkpoint_state_dict({'module.a': 1, 'b': 2}) == {'a': 1, 'b': 2}

"""Training logs: ``FrozenAwareOptimWrapperConstructor`` logs one summary line;
``ConsoleSummaryRunner`` keeps the start-up dumps in the log file only."""
import glob
import os.path as osp

import pytest
import torch
from conftest import ToyRegressor
from mmdet3d.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS, RUNNERS
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor, build_optim_wrapper

from projects.I2PMAE.i2pmae.engine import (ConsoleSummaryRunner,
                                           FrozenAwareOptimWrapperConstructor,
                                           frozen_parameter_counts)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCHEDULES = sorted(
    glob.glob(osp.join(REPO, 'configs', '_base_', 'schedules', '*.py')))


def build(config):
    """The model and ``optim_wrapper`` config of a config file."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    return MODELS.build(cfg.model), cfg.optim_wrapper.to_dict()


@pytest.fixture(scope='module')
def pretrain():
    """The synthetic pretraining model (with its frozen teacher)."""
    return build('i2pmae_pretrain_synthetic.py')


@pytest.fixture(scope='module')
def finetune():
    """The synthetic fine-tuning classifier (nothing frozen)."""
    return build('i2pmae_finetune_synthetic_scanobjectnn.py')


@pytest.fixture
def logged(tmp_path):
    """Makes a new current MMLogger; returns a function reading its file."""

    def make(level):
        log_file = tmp_path / f'{level}.log'
        MMLogger.get_instance(
            f'test_optim_constructor_{tmp_path.name}_{level}',
            log_level=level,
            log_file=str(log_file))
        return lambda: log_file.read_text().splitlines()

    return make


def constructor_args(optim_wrapper):
    cfg = dict(optim_wrapper)
    constructor = cfg.pop('constructor')
    return constructor, dict(
        optim_wrapper_cfg=cfg, paramwise_cfg=cfg.pop('paramwise_cfg', None))


def param_groups(optim_wrapper, model):
    """(parameter name, group options without params) in optimizer order."""
    names = {id(p): n for n, p in model.named_parameters()}
    groups = []
    for group in optim_wrapper.optimizer.param_groups:
        options = {k: v for k, v in group.items() if k != 'params'}
        groups.append(([names[id(p)] for p in group['params']], options))
    return groups


def test_schedules_use_the_constructor():
    assert len(SCHEDULES) >= 2
    for path in SCHEDULES:
        optim_wrapper = Config.fromfile(path).optim_wrapper
        assert optim_wrapper.constructor == \
            'FrozenAwareOptimWrapperConstructor', path
    assert OPTIM_WRAPPER_CONSTRUCTORS.get(
        'FrozenAwareOptimWrapperConstructor') is \
        FrozenAwareOptimWrapperConstructor


@pytest.mark.parametrize('which', ['pretrain', 'finetune'])
def test_param_groups_equal_the_default_constructors(which, request):
    model, optim_wrapper = request.getfixturevalue(which)
    constructor, args = constructor_args(optim_wrapper)
    assert constructor == 'FrozenAwareOptimWrapperConstructor'
    ours = FrozenAwareOptimWrapperConstructor(**args)(model)
    default = DefaultOptimWrapperConstructor(**args)(model)
    assert type(ours) is type(default)
    assert type(ours.optimizer) is type(default.optimizer)
    assert param_groups(ours, model) == param_groups(default, model)
    assert ours.optimizer.defaults == default.optimizer.defaults
    block = 'backbone.stages.0.blocks.0.'
    # the decay multipliers of the schedule are applied
    options = {names[0]: group for names, group in param_groups(ours, model)}
    base_wd = optim_wrapper['optimizer']['weight_decay']
    assert {g['weight_decay'] for g in options.values()} == {0.0, base_wd}
    # so are the learning-rate multipliers of ``custom_keys`` (the short
    # synthetic fine-tuning schedule trains the head at 10x)
    custom = optim_wrapper['paramwise_cfg'].get('custom_keys', {})
    for name, group in options.items():
        mult = [v.get('lr_mult', 1.0) for k, v in custom.items() if k in name]
        assert group['lr'] == pytest.approx(
            optim_wrapper['optimizer']['lr'] * (mult[0] if mult else 1.0)), \
            name
    if which == 'finetune':
        assert options['head.mlp.0.weight']['lr'] == pytest.approx(
            10 * options[block + 'attn.proj.weight']['lr'])
    assert options[block + 'norm1.weight']['weight_decay'] == 0.0
    assert options[block + 'attn.proj.bias']['weight_decay'] == 0.0
    assert options[block + 'attn.proj.weight']['weight_decay'] == base_wd
    if which == 'pretrain':
        assert options['neck.mask_token']['weight_decay'] == 0.0


def test_frozen_teacher_is_excluded_and_reported_once(pretrain, logged):
    model, optim_wrapper = pretrain
    read_log = logged('INFO')
    _, args = constructor_args(optim_wrapper)
    # runs as the Runner does: through mmengine's builder and the registry
    built = build_optim_wrapper(model, optim_wrapper)
    groups = built.optimizer.param_groups
    in_optimizer = {id(p) for group in groups for p in group['params']}
    trainable = [p for p in model.parameters() if p.requires_grad]
    frozen = [(n, p) for n, p in model.named_parameters()
              if not p.requires_grad]
    assert frozen and all(n.startswith('teacher.') for n, _ in frozen)
    assert in_optimizer == {id(p) for p in trainable}
    counts = frozen_parameter_counts(model)
    assert counts == {
        'teacher': (len(frozen), sum(p.numel() for _, p in frozen))
    }
    lines = read_log()
    summary = [line for line in lines if 'optimizer:' in line]
    assert len(summary) == 1
    tensors, values = counts['teacher']
    assert summary[0].endswith(
        f'frozen (requires_grad=False), excluded: teacher ({tensors} '
        f'tensors, {values:,} values)')
    assert f'optimizer: {len(trainable)} parameter tensors (' \
        f'{sum(p.numel() for p in trainable):,} values)' in summary[0]
    assert ' INFO - ' in summary[0]
    assert not [
        line for line in lines
        if 'requires_grad=False' in line and line is not summary[0]
    ]
    assert not [line for line in lines if 'paramwise_options' in line]
    # the default constructor, for comparison: one line per tensor
    DefaultOptimWrapperConstructor(**args)(model)
    lines = read_log()
    skipped = [line for line in lines if 'is skipped since' in line]
    assert len(skipped) == tensors
    assert all(' WARNING - ' in line for line in skipped)


def test_per_parameter_lines_are_kept_at_debug_level(pretrain, logged):
    model, optim_wrapper = pretrain
    read_log = logged('DEBUG')
    _, args = constructor_args(optim_wrapper)
    FrozenAwareOptimWrapperConstructor(**args)(model)
    lines = read_log()
    skipped = [line for line in lines if 'is skipped since' in line]
    options = [line for line in lines if 'paramwise_options' in line]
    assert len(skipped) == frozen_parameter_counts(model)['teacher'][0]
    assert all(' DEBUG - ' in line for line in skipped + options)
    # the same lines as the default constructor's, at a lower level
    DefaultOptimWrapperConstructor(**args)(model)
    default = [
        line.replace(' INFO - ', ' DEBUG - ')
        for line in read_log()[len(lines):] if 'paramwise_options' in line
    ]
    assert [line.split(' - ', 1)[1] for line in options] == \
        [line.split(' - ', 1)[1] for line in default]
    assert len(options) > 100
    # the filter is removed again: later records keep their level
    assert MMLogger.get_current_instance().filters == []
    MMLogger.get_current_instance().warning('x is skipped since its '
                                            'requires_grad=False')
    assert ' WARNING - x is skipped' in read_log()[-1]


def test_without_paramwise_cfg_the_summary_says_frozen_stay(pretrain, logged):
    model, _ = pretrain
    read_log = logged('INFO')
    adamw = dict(optimizer=dict(type='AdamW', lr=1e-3))
    constructor = FrozenAwareOptimWrapperConstructor(adamw)
    default = DefaultOptimWrapperConstructor(adamw)
    assert param_groups(constructor(model), model) == \
        param_groups(default(model), model)
    summary = [line for line in read_log() if 'optimizer:' in line]
    assert len(summary) == 1
    assert 'in the optimizer but never updated: teacher (' in summary[0]


# ------------------------------------------------------ ConsoleSummaryRunner
def build_summary_runner(work_dir, log_level='INFO'):
    data = [
        dict(inputs=torch.full((2, ), float(i)), data_samples=torch.ones(1))
        for i in range(4)
    ]
    return ConsoleSummaryRunner(
        model=ToyRegressor(),
        work_dir=str(work_dir),
        experiment_name=f'console_summary_{work_dir.name}_{log_level}',
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=2),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        log_processor=dict(by_epoch=False),
        log_level=log_level,
        cfg=dict(note='a config'))


def test_console_shows_the_run_and_the_log_file_the_dumps(tmp_path, capsys):
    runner = build_summary_runner(tmp_path)
    runner.train()
    console = capsys.readouterr().out
    dumps = ('System environment:', 'Runtime environment:', 'Config:',
             'Hooks will be executed in the following order')
    assert not [d for d in dumps if d in console]
    summary = [line for line in console.splitlines() if 'seed' in line]
    assert len(summary) == 1
    log_file = runner.logger.log_file
    config = osp.join(str(tmp_path), f'{runner.timestamp}.py')
    assert summary[0].endswith(
        f'environment, config and hook order in {log_file}; config saved '
        f'as {config}')
    assert f'CUDA available: {torch.cuda.is_available()}' in summary[0]
    assert osp.isfile(config)
    assert 'Iter(train) [2/2]' in console, console
    with open(log_file) as f:
        logged = f.read()
    assert all(d in logged for d in dumps)
    assert 'Iter(train) [2/2]' in logged


def test_debug_level_shows_the_dumps_on_the_console(tmp_path, capsys):
    build_summary_runner(tmp_path, log_level='DEBUG')
    console = capsys.readouterr().out
    assert 'System environment:' in console and 'Config:' in console


def test_configs_select_the_runner():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'i2pmae_pretrain_synthetic.py'))
    assert RUNNERS.get(cfg.runner_type) is ConsoleSummaryRunner

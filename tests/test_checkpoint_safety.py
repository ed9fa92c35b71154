"""mmengine Runner checkpoints under ``torch.load(weights_only=True)``."""
import argparse
import os
import os.path as osp
import pickle
import shlex
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from conftest import ToyRegressor
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner, load_checkpoint

from projects.I2PMAE.i2pmae.utils.safe_checkpoint import (
    mmengine_safe_globals, register_mmengine_safe_globals)


def toy_pairs():
    """Eight (2-vector, 0/1 target) pairs."""
    return [
        dict(
            inputs=torch.randn(2, generator=torch.Generator().manual_seed(i)),
            data_samples=torch.tensor([float(i % 2)])) for i in range(8)
    ]


class ToyScore(BaseMetric):
    """Mean prediction as a numpy float64 (like sklearn-based metrics)."""

    def process(self, data_batch, data_samples):
        self.results.append(float(torch.stack(data_samples).mean()))

    def compute_metrics(self, results):
        return dict(score=np.float64(np.mean(results)))


def build_runner(work_dir, name, max_iters, resume_from=None, **kwargs):
    """A Runner on :func:`toy_pairs`; resumes ``resume_from`` if given."""
    if resume_from is not None:
        kwargs.update(load_from=str(resume_from), resume=True)
    loader = dict(
        dataset=toy_pairs(),
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=2,
        collate_fn=dict(type='default_collate'))
    return Runner(
        model=ToyRegressor(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=loader,
        val_dataloader=dict(loader, batch_size=4),
        val_cfg=dict(),
        val_evaluator=[ToyScore()],
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.5, by_epoch=False, end=3),
            dict(type='CosineAnnealingLR', by_epoch=False, begin=3, end=6)
        ],
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=1),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook',
                interval=2,
                by_epoch=False,
                save_best='score',
                rule='greater'),
            logger=dict(type='LoggerHook', interval=1)),
        **kwargs)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A Runner trained for 2 iterations; its ``iter_2.pth`` checkpoint."""
    work_dir = tmp_path_factory.mktemp('runner')
    runner = build_runner(work_dir, 'ckpt_safety_first', max_iters=2)
    runner.train()
    ckpt = work_dir / 'iter_2.pth'
    assert ckpt.is_file()
    return runner, ckpt


def test_runner_checkpoint_fails_without_the_plugin(trained):
    """Proof that the fix is needed: plain mmengine + torch refuse it."""
    _, ckpt = trained
    script = textwrap.dedent(f"""
        import pickle, sys
        import torch
        from mmengine.runner import load_checkpoint
        assert not any(m.startswith('projects') for m in sys.modules)
        path = {str(ckpt)!r}
        for load in (lambda: load_checkpoint(torch.nn.Linear(2, 1), path),
                     lambda: torch.load(path)):
            try:
                load()
            except pickle.UnpicklingError as e:
                print('REFUSED', e)
            else:
                print('LOADED')
        """)
    result = subprocess.run([sys.executable, '-c', script],
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'LOADED' not in result.stdout
    assert result.stdout.count('REFUSED Weights only load failed') == 2
    assert 'HistoryBuffer' in result.stdout


def test_register_is_idempotent_and_keeps_getattr_restricted():
    first = register_mmengine_safe_globals()
    second = register_mmengine_safe_globals()
    assert first == second == mmengine_safe_globals()
    registered = torch.serialization.get_safe_globals()
    assert all(entry in registered for entry in first)
    assert HistoryBuffer in first
    # the plain builtins are never allowed, only the restricted stand-ins
    assert getattr not in registered and bytes not in registered
    names = [e[1] for e in registered if isinstance(e, tuple)]
    assert names.count('builtins.getattr') == 1
    assert names.count('builtins.bytes') == 1


def test_load_checkpoint_round_trip(trained):
    runner, ckpt = trained
    model = ToyRegressor()
    checkpoint = load_checkpoint(model, str(ckpt), map_location='cpu')
    for key, value in runner.model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    hub = checkpoint['message_hub']
    loss = hub['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    expected = runner.message_hub.log_scalars['train/loss']
    assert np.array_equal(loss.data[0], expected.data[0][:2])
    assert loss.mean() == pytest.approx(expected.data[0][:2].mean())
    assert isinstance(hub['runtime_info']['best_score'], np.float64)
    assert set(checkpoint) >= {'optimizer', 'param_schedulers', 'meta'}


def test_runner_resume_restores_iteration_optimizer_and_schedulers(
        trained, tmp_path):
    first, ckpt = trained
    saved = torch.load(ckpt, map_location='cpu')  # weights_only default
    runner = build_runner(tmp_path, 'ckpt_safety_resumed', 4, resume_from=ckpt)
    runner.load_or_resume()
    assert runner.iter == 2
    # optimizer: step counts and AdamW moments as saved
    state = runner.optim_wrapper.state_dict()['state']
    assert state.keys() == saved['optimizer']['state'].keys()
    for key, moments in saved['optimizer']['state'].items():
        for name, value in moments.items():
            assert torch.equal(state[key][name], value)
    assert state[0]['step'] == 2
    # schedulers: last_step and learning rates as saved
    assert len(runner.param_schedulers) == 2
    for scheduler, saved_state in zip(runner.param_schedulers,
                                      saved['param_schedulers']):
        assert scheduler.state_dict() == saved_state
    assert runner.param_schedulers[0].last_step == 2
    # message hub: the loss history and the best score
    restored = runner.message_hub.log_scalars['train/loss']
    assert np.array_equal(
        restored.data[0],
        saved['message_hub']['log_scalars']['train/loss'].data[0])
    assert runner.message_hub.get_info(
        'best_score') == saved['message_hub']['runtime_info']['best_score']
    runner.train()
    assert runner.iter == 4
    resumed = torch.load(tmp_path / 'iter_4.pth', map_location='cpu')
    assert resumed['meta']['iter'] == 4
    assert len(resumed['message_hub']['log_scalars']['train/loss'].data[0]) \
        == 4


class RunsShellCommand:
    """Pickles as a call to ``os.system`` (what a hostile checkpoint does)."""

    def __init__(self, marker):
        self.command = f'echo pwned > {shlex.quote(str(marker))}'

    def __reduce__(self):
        return (os.system, (self.command, ))


class ReadsAttribute:
    """Pickles as ``getattr(HistoryBuffer, '__init__')``."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def hostile_checkpoint(trained, tmp_path, payload, name):
    _, ckpt = trained
    checkpoint = torch.load(ckpt, map_location='cpu')
    checkpoint['meta']['payload'] = payload
    path = tmp_path / name
    torch.save(checkpoint, path)
    return path


def assert_refused_by_loaders(path, work_dir, name):
    """``load_checkpoint`` and a resuming Runner refuse ``path``."""
    with pytest.raises(pickle.UnpicklingError, match='system'):
        load_checkpoint(ToyRegressor(), str(path), map_location='cpu')
    runner = build_runner(work_dir, name, 4, resume_from=path)
    with pytest.raises(pickle.UnpicklingError, match='system'):
        runner.load_or_resume()


def test_hostile_checkpoint_is_refused_and_nothing_runs(trained, tmp_path):
    marker = tmp_path / 'marker.txt'
    path = hostile_checkpoint(trained, tmp_path, RunsShellCommand(marker),
                              'hostile.pth')
    assert_refused_by_loaders(path, tmp_path / 'resume', 'ckpt_safety_hostile')
    with pytest.raises(pickle.UnpicklingError, match='Weights only'):
        torch.load(path)
    assert not marker.exists()


def test_hostile_payload_is_live(trained, tmp_path):
    """Control: the payload above really runs when weights_only is off."""
    marker = tmp_path / 'control.txt'
    path = hostile_checkpoint(trained, tmp_path, RunsShellCommand(marker),
                              'control.pth')
    torch.load(path, weights_only=False)
    assert marker.read_text().strip() == 'pwned'


def test_getattr_beyond_history_buffer_statistics_is_refused(
        trained, tmp_path):
    path = hostile_checkpoint(trained, tmp_path, ReadsAttribute(),
                              'getattr.pth')
    with pytest.raises(pickle.UnpicklingError, match='only getattr'):
        torch.load(path)


@pytest.mark.parametrize('value, accepted', [
    (np.float32(1.5), True),
    (np.arange(3, dtype=np.int32), True),
    (np.array([True, False]), True),
    (np.array(['text', None], dtype=object), False),
    (np.array(['text']), False),
])
def test_only_numeric_numpy_values_are_allowed(tmp_path, value, accepted):
    path = tmp_path / 'values.pth'
    torch.save({'value': value}, path)
    if accepted:
        loaded = torch.load(path)['value']
        assert np.array_equal(loaded, value) and loaded.dtype == value.dtype
    else:
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path)


# ------------------------------------------- numpy values mmengine can write
NUMPY_DTYPES = ('float32', 'int64', 'bool', 'uint8', 'float16')


def numpy_values():
    """Empty, 0-d and scalar numpy values in nested containers."""
    empty = {dtype: np.zeros(0, dtype=dtype) for dtype in NUMPY_DTYPES}
    zero_d = {dtype: np.array(1, dtype=dtype) for dtype in NUMPY_DTYPES}
    scalars = [np.dtype(dtype).type(0) for dtype in NUMPY_DTYPES]
    scalars += [np.float64(2.5), np.int32(-3), np.bool_(True)]
    return dict(
        empty=empty,
        empty_2d=np.zeros((0, 3), dtype=np.float32),
        zero_d=zero_d,
        scalars=scalars,
        nested=[(empty['int64'], {
            'inner': (zero_d['float16'], b'', [])
        }), [scalars[0], (empty['bool'], )]],
        empty_bytes=b'',
        some_bytes=b'\x00ab',
        unused_buffer=HistoryBuffer(),
        used_buffer=HistoryBuffer([1.0, 2.0], [1, 1]))


def assert_same(actual, expected, where='value'):
    """Equal values of equal types, recursively (dtype and shape too)."""
    assert type(actual) is type(expected), (where, type(actual))
    if isinstance(expected, HistoryBuffer):
        assert actual.max_length == expected.max_length, where
        assert_same(actual.data, expected.data, f'{where}.data')
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype, (where, actual.dtype)
        assert actual.shape == expected.shape, (where, actual.shape)
        assert np.array_equal(actual, expected), where
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), where
        for key in expected:
            assert_same(actual[key], expected[key], f'{where}[{key!r}]')
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f'{where}[{i}]')
    else:
        assert actual == expected, where


def test_plain_mmengine_refuses_empty_numpy_arrays(tmp_path):
    """Proof that ``builtins.bytes`` is needed: an empty array's data is
    pickled as ``bytes()``, which torch alone refuses."""
    path = tmp_path / 'empty.pth'
    torch.save({'value': np.zeros(0, np.float32)}, path)
    script = textwrap.dedent(f"""
        import pickle, sys
        import torch
        from projects.I2PMAE.i2pmae.utils.safe_checkpoint import (
            mmengine_safe_globals)
        torch.serialization.clear_safe_globals()  # the import added them
        torch.serialization.add_safe_globals([
            g for g in mmengine_safe_globals()
            if not (isinstance(g, tuple) and g[1] == 'builtins.bytes')])
        try:
            torch.load({str(path)!r})
        except pickle.UnpicklingError as e:
            print('REFUSED', e)
        """)
    result = subprocess.run([sys.executable, '-c', script],
                            capture_output=True,
                            text=True,
                            cwd=osp.dirname(osp.dirname(__file__)),
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'REFUSED' in result.stdout
    assert 'Unsupported global: GLOBAL bytes' in result.stdout


@pytest.mark.parametrize('key', list(numpy_values()))
def test_numpy_values_round_trip_weights_only(tmp_path, key):
    value = numpy_values()[key]
    path = tmp_path / 'values.pth'
    torch.save({key: value}, path)
    assert_same(torch.load(path, weights_only=True)[key], value, key)


class StoresNumpyValues(Hook):
    """Puts :func:`numpy_values` into the message hub and the meta."""

    def __init__(self):
        self.values = numpy_values()
        self.loaded = None

    def before_train(self, runner):
        runner.message_hub.update_info('numpy_values', self.values)

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint['meta']['numpy_values'] = self.values

    def after_load_checkpoint(self, runner, checkpoint):
        self.loaded = checkpoint


@pytest.fixture(scope='module')
def trained_with_numpy_values(tmp_path_factory):
    """``iter_2.pth`` of a Runner whose meta and message hub hold
    :func:`numpy_values`."""
    work_dir = tmp_path_factory.mktemp('runner_numpy')
    runner = build_runner(
        work_dir,
        'ckpt_safety_numpy',
        max_iters=2,
        custom_hooks=[StoresNumpyValues()])
    runner.train()
    return work_dir / 'iter_2.pth'


def test_numpy_values_round_trip_load_checkpoint(trained_with_numpy_values):
    checkpoint = load_checkpoint(
        ToyRegressor(), str(trained_with_numpy_values), map_location='cpu')
    expected = numpy_values()
    assert_same(checkpoint['meta']['numpy_values'], expected, 'meta')
    assert_same(checkpoint['message_hub']['runtime_info']['numpy_values'],
                expected, 'message_hub')


def test_numpy_values_round_trip_runner_resume(trained_with_numpy_values,
                                               tmp_path):
    hook = StoresNumpyValues()
    runner = build_runner(
        tmp_path,
        'ckpt_safety_numpy_resumed',
        4,
        resume_from=trained_with_numpy_values,
        custom_hooks=[hook])
    runner.load_or_resume()
    assert runner.iter == 2
    expected = numpy_values()
    assert_same(runner.message_hub.get_info('numpy_values'), expected, 'hub')
    assert_same(hook.loaded['meta']['numpy_values'], expected, 'meta')
    runner.train()
    resumed = torch.load(tmp_path / 'iter_4.pth', map_location='cpu')
    assert_same(resumed['meta']['numpy_values'], expected, 'meta')


class AllocatesBytes:
    """Pickles as ``bytes(10 ** 12)`` (a terabyte of zeros)."""

    def __reduce__(self):
        return (bytes, (10**12, ))


def test_bytes_with_arguments_is_refused(tmp_path):
    path = tmp_path / 'bytes.pth'
    torch.save({'payload': AllocatesBytes()}, path)
    with pytest.raises(pickle.UnpicklingError, match=r'only bytes\(\)'):
        torch.load(path)


def test_hostile_object_among_numpy_values_is_refused(
        trained_with_numpy_values, tmp_path):
    """Allowed empty arrays next to a payload do not let the payload in."""
    marker = tmp_path / 'marker.txt'
    checkpoint = torch.load(trained_with_numpy_values, map_location='cpu')
    checkpoint['message_hub']['runtime_info']['numpy_values'] = [
        np.zeros(0, np.float32), {
            'payload': RunsShellCommand(marker)
        }, b''
    ]
    path = tmp_path / 'hostile_hub.pth'
    torch.save(checkpoint, path)
    assert_refused_by_loaders(path, tmp_path / 'resume',
                              'ckpt_safety_hostile_hub')
    assert not marker.exists()


# ---------------------------------------------------------------- converter
CONVERTER = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
    'model_converters', 'i2pmae_official_to_mm.py')


def run_converter(*args):
    return subprocess.run([sys.executable, CONVERTER, *map(str, args)],
                          capture_output=True,
                          text=True,
                          timeout=300)


def official_like_checkpoint():
    """A tiny official-style encoder checkpoint (``h_encoder.*`` keys)."""
    return dict(
        base_model={
            'module.h_encoder.encoder_norms.0.weight': torch.ones(4),
            'module.h_encoder.encoder_norms.0.bias': torch.zeros(4)
        })


def test_converter_suggests_trust_flag_only_when_it_helps(tmp_path):
    dst = tmp_path / 'out.pth'
    # refused by weights_only: the flag is suggested, and it works
    with_args = tmp_path / 'with_args.pth'
    torch.save(
        dict(official_like_checkpoint(), args=argparse.Namespace(lr=0.1)),
        with_args)
    proc = run_converter(with_args, dst)
    assert proc.returncode != 0 and not dst.exists()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert 'safely (Unsupported global: GLOBAL argparse.Namespace' in lines[0]
    assert lines[0].endswith('re-run with --trust-checkpoint')
    proc = run_converter(with_args, dst, '--trust-checkpoint')
    assert proc.returncode == 0, proc.stderr
    assert torch.load(dst)['meta']['official_model'] == 'encoder'
    # a corrupt file fails with the flag too: no advice to add it
    corrupt = tmp_path / 'corrupt.pth'
    data = (tmp_path / 'with_args.pth').read_bytes()
    corrupt.write_bytes(data[:len(data) // 2])
    dst.unlink()
    for flag in ((), ('--trust-checkpoint', )):
        proc = run_converter(corrupt, dst, *flag)
        assert proc.returncode != 0 and not dst.exists()
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith(f'error: cannot load {corrupt}')
        assert 're-run' not in lines[0]
        assert ('even with --trust-checkpoint' in lines[0]) == bool(flag)

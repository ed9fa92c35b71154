"""tools/benchmark.py data: the batched and per-sample ModelNet40 paths side
by side."""
import os.path as osp
import re
import sys

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools'))

import benchmark  # noqa: E402
from benchmark_modes.data import per_sample_pipeline  # noqa: E402

from projects.I2PMAE.i2pmae.ops import \
    furthest_point_sample_cpu as fps_cpu  # noqa: E402

DATASETS = osp.join(REPO, 'configs', '_base_', 'datasets')


def test_per_sample_pipelines_are_the_worker_sampling_config():
    device = Config.fromfile(osp.join(DATASETS, 'modelnet40.py'))
    workers = Config.fromfile(
        osp.join(DATASETS, 'modelnet40_sample_in_workers.py'))
    for key, training in (('train_dataloader', True), ('test_dataloader',
                                                       False)):
        pipeline = per_sample_pipeline(device[key].dataset.pipeline,
                                       device.data_preprocessor, training)
        assert pipeline == workers[key].dataset.pipeline
    voting = Config.fromfile(
        osp.join(REPO, 'configs', 'i2pmae_finetune_modelnet40.py'))
    pipeline = per_sample_pipeline(voting.test_dataloader.dataset.pipeline,
                                   voting.data_preprocessor, False)
    assert dict(type='PointCloudFPSSample', num_points=1200) in pipeline
    with pytest.raises(
            ValueError,
            match='no per-sample transform known for '
            'PointCloudBatchJitter'):
        per_sample_pipeline(
            [dict(type='PackPointCloudInputs')],
            dict(
                point_sampler=dict(
                    type='PointCloudBatchFPSSample', num_points=8),
                batch_augments=[dict(type='PointCloudBatchJitter')]), True)


def test_data_mode_prints_both_modelnet40_paths(synthetic_data, capsys):
    # synthetic_modelnet40.py caches 2048 points per cloud
    root = synthetic_data(['modelnet_resampled'],
                          per_class=1,
                          test_per_class=1,
                          num_points=2048)
    benchmark.main([
        'data', '--root', root, '--configs', 'synthetic_modelnet40',
        '--num-batches', '1', '--batch-size', '2', '--num-workers', '0'
    ])
    out = capsys.readouterr().out
    rows = re.findall(
        r'^synthetic_modelnet40 +(train|val) +ModelNet40Dataset +\d+ +'
        r'\((\d+), 3\) +(per-sample, torch FPS|per-sample|batched \(cpu\)) +'
        r'[\d.]+ +([\d.]+) *$', out, re.M)
    paths = ['per-sample, torch FPS', 'per-sample', 'batched (cpu)']
    assert [
        (r[0], r[2]) for r in rows
    ] == [('train', p) for p in paths] + [('val', p) for p in paths], out
    assert {r[1] for r in rows} == {'1024'}
    assert all(float(r[3]) > 0 for r in rows)
    for loader in ('train', 'val'):
        assert re.search(
            rf'^synthetic_modelnet40 {loader}: batched [\d.]+x the '
            r'samples/s of per-sample with torch FPS, [\d.]+x per-sample$',
            out, re.M), out
    # the torch loop was only chosen for its path
    assert fps_cpu.CPU_BACKEND == 'numba'


def test_data_mode_names_bad_options():
    with pytest.raises(ValueError, match='--threads must be >= 1, got 0'):
        benchmark.main(['data', '--threads', '0'])

"""Linear-SVM evaluation: fitting, held-out split, metric and loops (CPU).

The loops run a toy encoder on linearly separable ellipsoid clouds, so the
SVM must score far above chance."""
import os
import os.path as osp
import re
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from conftest import (h5_dataset_cfg, read_log_text, seeded_loader,
                      write_h5_split)
from mmdet3d.registry import MODELS, RUNNERS
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from projects.I2PMAE.i2pmae.engine import extract_features
from projects.I2PMAE.i2pmae.evaluation import (DEFAULT_C_GRID, LinearSVMMetric,
                                               cv_fold_count, fit_linear_svm,
                                               linear_svm_metric,
                                               stratified_holdout)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
NUM_CLASSES = 4


@MODELS.register_module(name='LinearSVMToyEncoder', force=True)
class LinearSVMToyEncoder(BaseModel):
    """``feature = scale * [mean, std]`` of xyz; the loss pulls scale to 1."""

    def __init__(self):
        super().__init__(
            data_preprocessor=dict(type='PointCloudDataPreprocessor'))
        self.scale = torch.nn.Parameter(torch.full((6, ), 0.5))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        points = inputs['points']
        feats = torch.cat([points.mean(1), points.std(1)], dim=-1)
        feats = feats * self.scale
        if mode == 'loss':
            return dict(loss=((self.scale - 1)**2).sum())
        if mode == 'predict':
            for sample, feat in zip(data_samples, feats):
                sample.set_field(feat, 'feature')
            return data_samples
        return feats


def _ellipsoids(num_per_class, seed, num_points=1024):
    """Shuffled clouds on ellipsoids stretched along x, y, z or not at all."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(NUM_CLASSES), num_per_class)
    rng.shuffle(labels)
    axes = np.array([[1.0, 0.4, 0.4], [0.4, 1.0, 0.4], [0.4, 0.4, 1.0],
                     [0.3, 0.3, 0.3]])
    points = rng.normal(size=(len(labels), num_points, 3))
    points /= np.linalg.norm(points, axis=-1, keepdims=True)
    points *= axes[labels][:, None, :]
    points += rng.normal(scale=0.05, size=(len(labels), 1, 3))
    return points.astype(np.float32), labels


@pytest.fixture(scope='module')
def ellipsoid_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('svm_h5'))
    write_h5_split(root, 'train', *_ellipsoids(8, seed=0))
    write_h5_split(root, 'test', *_ellipsoids(4, seed=1))
    return root


def _loader(root, split, batch_size=8):
    dataset = h5_dataset_cfg(root, split, num_points=256, test_mode=True)
    return seeded_loader(dataset, batch_size)


def _runner_cfg(tmp_path, root, name, **options):
    """The tools' runner config: default runtime + the toy encoder + SVM."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/default_runtime.py'))
    cfg.merge_from_dict(
        dict(
            model=dict(type='LinearSVMToyEncoder'),
            work_dir=str(tmp_path / name),
            experiment_name=f'{name}_{tmp_path.name}',
            svm_train_dataloader=_loader(root, 'train'),
            svm_test_dataloader=_loader(root, 'test'),
            val_dataloader='svm_train_dataloader',
            val_cfg=dict(type='LinearSVMValLoop'),
            val_evaluator=dict(type='LinearSVMMetric', holdout=0.25),
            test_dataloader='svm_test_dataloader',
            test_cfg=dict(
                type='LinearSVMTestLoop',
                fit_dataloader='svm_train_dataloader'),
            test_evaluator=dict(type='LinearSVMMetric')))
    cfg.merge_from_dict(options)
    return cfg


def _save_toy_checkpoint(path):
    model = LinearSVMToyEncoder()
    with torch.no_grad():
        model.scale.fill_(2.0)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def _blobs(num_per_class, seed, dims=8):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(NUM_CLASSES), num_per_class)
    centres = np.random.default_rng(100).normal(size=(NUM_CLASSES, dims)) * 3
    features = centres[labels] + rng.normal(size=(len(labels), dims))
    return features, labels


# ------------------------------------------------------------------- fitting
def test_fit_chooses_c_by_cross_validation_or_keeps_a_fixed_one():
    x, y = _blobs(20, seed=0)
    test_x, test_y = _blobs(10, seed=1)
    fit = fit_linear_svm(x, y)
    assert fit.C in DEFAULT_C_GRID and fit.cv_folds == 5
    assert fit.cv_accuracy > 90
    assert 100 * np.mean(fit.classifier.predict(test_x) == test_y) > 95
    assert [name for name, _ in fit.classifier.steps] == ['scaler', 'svm']
    fixed = fit_linear_svm(x, y, C=0.05, standardize=False)
    assert (fixed.C, fixed.cv_accuracy, fixed.cv_folds) == (0.05, None, 0)
    assert [name for name, _ in fixed.classifier.steps] == ['svm']
    assert fixed.classifier.named_steps['svm'].C == 0.05


def test_standardisation_makes_the_svm_independent_of_feature_scale():
    """Class signal in dimensions 1000x smaller than pure-noise ones."""
    x, y = _blobs(20, seed=0)
    test_x, test_y = _blobs(10, seed=1)
    noise = np.random.default_rng(3).normal(size=(len(x) + len(test_x), 8))

    def accuracy(scale, standardize, C=0.01):
        fit_x = np.concatenate([x * scale, noise[:len(x)]], axis=1)
        score_x = np.concatenate([test_x * scale, noise[len(x):]], axis=1)
        fit = fit_linear_svm(fit_x, y, C=C, standardize=standardize)
        return 100 * np.mean(fit.classifier.predict(score_x) == test_y)

    assert accuracy(1.0, True) == accuracy(1e-3, True) > 95
    assert accuracy(1e-3, True, C=None) > 95
    assert accuracy(1.0, False) > 95
    # raw: the regularised SVM leans on the large noise dimensions
    assert accuracy(1e-3, False) < 50
    assert accuracy(1e-3, False, C=None) < 50


def test_cross_validation_folds_follow_the_smallest_class():
    assert cv_fold_count(np.array([0] * 9 + [1] * 9), 5) == 5
    assert cv_fold_count(np.array([0] * 9 + [1] * 3), 5) == 3
    assert cv_fold_count(np.array([0] * 9 + [1] * 2), 5) == 2
    assert cv_fold_count(np.array([0] * 9 + [1]), 5) == 2
    x, y = _blobs(6, seed=0)
    x, y = x[:-4], y[:-4]  # class 3 keeps 2 samples
    assert fit_linear_svm(x, y).cv_folds == 2


@pytest.mark.parametrize(
    'change, message',
    [(dict(labels=np.zeros(8, int)), 'at least 2 classes'),
     (dict(features=np.full((8, 3), np.nan)), '8 of 8 feature vectors are '
      'not finite'), (dict(C=0.0), 'C must be positive'),
     (dict(c_grid=()), 'c_grid must hold positive values'),
     (dict(features=np.zeros((8, ))), r'expected features \[N, C\]')])
def test_fit_names_bad_input(change, message):
    args = dict(features=np.random.rand(8, 3), labels=np.arange(8) % 2)
    args.update(change)
    with pytest.raises(ValueError, match=message):
        fit_linear_svm(**args)


# --------------------------------------------------------- held-out split
def test_stratified_holdout_is_deterministic_and_keeps_every_class():
    labels = np.array([0] * 10 + [1] * 5 + [2] * 3 + [3])
    keep, held = stratified_holdout(labels, 0.2, seed=0)
    assert np.array_equal(
        np.sort(np.concatenate([keep, held])), np.arange(len(labels)))
    assert len(held) == round(0.2 * len(labels))
    held_counts = np.bincount(labels[held], minlength=4)
    assert held_counts[0] == 2 and held_counts[1] == 1
    assert held_counts[3] == 0  # a single sample is always fitted on
    assert set(labels[keep]) == {0, 1, 2, 3}
    np.random.seed(123)
    torch.manual_seed(123)
    again = stratified_holdout(labels, 0.2, seed=0)
    assert np.array_equal(again[1], held)
    assert not np.array_equal(stratified_holdout(labels, 0.2, seed=1)[1], held)
    for fraction in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match='holdout fraction must be in'):
            stratified_holdout(labels, fraction)


# -------------------------------------------------------------------- metric
def _samples(features, labels):
    samples = []
    for i, (feat, label) in enumerate(zip(features, labels)):
        sample = BaseDataElement(metainfo=dict(sample_idx=i))
        sample.set_field(torch.as_tensor(feat, dtype=torch.float32), 'feature')
        sample.set_field(torch.tensor([int(label)]), 'gt_label')
        samples.append(sample)
    return samples


def _records(features, labels):
    return [
        linear_svm_metric.feature_record(s)
        for s in _samples(features, labels)
    ]


def test_metric_fits_on_the_given_split_and_scores_the_processed_one():
    x, y = _blobs(20, seed=0)
    test_x, test_y = _blobs(10, seed=1)
    metric = LinearSVMMetric()
    metric.fit_results = _records(x, y)
    # samples in any order: records are sorted by sample_idx
    samples = _samples(test_x, test_y)
    metric.process(None, samples[::-1])
    result = metric.evaluate(len(samples))
    assert set(result) == {'svm/accuracy', 'svm/C'}
    assert result['svm/accuracy'] > 95 and result['svm/C'] in DEFAULT_C_GRID
    assert metric.fit_results is None  # used once
    with pytest.raises(ValueError, match='no features to fit the SVM on'):
        metric.process(None, samples)
        metric.evaluate(len(samples))


def test_metric_with_holdout_scores_a_held_out_share():
    x, y = _blobs(20, seed=0)
    metric = LinearSVMMetric(holdout=0.25, C=0.1, prefix='svm_val')
    metric.process(None, _samples(x, y))
    result = metric.evaluate(len(x))
    assert result['svm_val/C'] == 0.1 and result['svm_val/accuracy'] > 90
    metric.fit_results = _records(x, y)
    metric.process(None, _samples(x, y))
    with pytest.raises(ValueError, match='holdout is set and fit features'):
        metric.evaluate(len(x))


@pytest.mark.parametrize('holdout', [None, 0.25])
def test_c_is_chosen_without_the_scored_features(holdout, monkeypatch):
    """The scored features never reach the fit: same C whatever they are."""
    x, y = _blobs(20, seed=0)
    test_x, test_y = _blobs(10, seed=1)
    seen = []
    real_fit = linear_svm_metric.fit_linear_svm

    def spy(features, labels, **kwargs):
        seen.append(np.array(features))
        return real_fit(features, labels, **kwargs)

    monkeypatch.setattr(linear_svm_metric, 'fit_linear_svm', spy)
    chosen = []
    rng = np.random.default_rng(5)
    variants = [
        test_x, test_x[rng.permutation(len(test_x))],
        rng.normal(size=test_x.shape) * 100
    ]
    for scored in variants:
        metric = LinearSVMMetric(holdout=holdout)
        if holdout is None:
            metric.fit_results = _records(x, y)
            metric.process(None, _samples(scored, test_y))
            size = len(scored)
        else:
            _, held = stratified_holdout(y, holdout)
            split = x.copy()
            split[held] = scored[:len(held)]
            metric.process(None, _samples(split, y))
            size = len(split)
        chosen.append(metric.evaluate(size)['svm/C'])
    assert chosen[0] == chosen[1] == chosen[2]
    fitted = x if holdout is None else x[stratified_holdout(y, holdout)[0]]
    for features in seen:
        assert np.array_equal(features, fitted.astype(np.float32))


def test_metric_names_bad_samples_and_options():
    metric = LinearSVMMetric()
    with pytest.raises(ValueError, match="has no 'feature'"):
        metric.process(None, [BaseDataElement(gt_label=torch.tensor([1]))])
    with pytest.raises(ValueError, match="has no 'gt_label'"):
        metric.process(None, [BaseDataElement(feature=torch.zeros(3))])
    for options, message in ((dict(C=-1), 'C must be positive'),
                             (dict(cv_folds=1), 'cv_folds must be >= 2'),
                             (dict(holdout=1.5), 'holdout must be in')):
        with pytest.raises(ValueError, match=message):
            LinearSVMMetric(**options)


# --------------------------------------------------------------------- loops
def test_test_loop_fits_on_train_scores_test_and_logs(ellipsoid_root,
                                                      tmp_path):
    cfg = _runner_cfg(
        tmp_path,
        ellipsoid_root,
        'test',
        load_from=_save_toy_checkpoint(tmp_path / 'toy.pth'))
    runner = RUNNERS.build(cfg)
    metrics = runner.test()
    assert metrics['svm/accuracy'] > 90  # chance: 25
    assert metrics['svm/C'] in DEFAULT_C_GRID
    log = read_log_text(cfg.work_dir)
    assert 'Load checkpoint from' in log
    assert f'svm/accuracy: {metrics["svm/accuracy"]:.4f}' in log
    assert 'svm/C: ' in log
    assert 'fitted on 32 of the fit split' in log
    assert 'on 16 samples' in log
    # the checkpoint was loaded: features are 4x the initial ones
    assert runner.model.scale.detach().tolist() == [2.0] * 6


@pytest.mark.parametrize('options', [
    dict(C=0.01, standardize=True),
    dict(C=None, standardize=False),
])
def test_validation_loop_on_a_held_out_share(ellipsoid_root, tmp_path,
                                             options):
    cfg = _runner_cfg(
        tmp_path,
        ellipsoid_root,
        'val',
        val_cfg=dict(lazy_init=True),
        val_evaluator=options)
    runner = RUNNERS.build(cfg)
    loop = runner.build_val_loop(runner._val_loop)
    assert isinstance(loop._dataloader, dict)  # lazy: nothing read yet
    runner._val_loop = loop
    metrics = runner.val()
    assert metrics['svm/accuracy'] > 90
    if options['C'] is not None:
        assert metrics['svm/C'] == options['C']
    assert runner.message_hub.get_scalar(
        'val/svm/accuracy').current() == metrics['svm/accuracy']
    log = read_log_text(cfg.work_dir)
    assert 'fitted on 24 of the split (25% held out)' in log
    assert ('standardised' if options['standardize'] else 'raw') in log


def test_training_validates_and_resumes(ellipsoid_root, tmp_path):
    common = dict(
        train_dataloader=_loader(ellipsoid_root, 'train'),
        train_cfg=dict(
            type='EpochBasedTrainLoop', max_epochs=2, val_interval=1),
        optim_wrapper=dict(
            type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(logger=dict(interval=1)))
    cfg = _runner_cfg(tmp_path, ellipsoid_root, 'train', **common)
    runner = RUNNERS.build(cfg)
    runner.train()
    scale = runner.model.scale.detach().clone()
    log = read_log_text(cfg.work_dir)
    assert len(
        re.findall(r'Epoch\(val\) \[\d\]\[4/4\]\s+svm/accuracy: ', log)) == 2
    assert runner.message_hub.get_scalar('val/svm/accuracy').current() > 90
    # resume from epoch 1: validation leaves nothing that changes training
    cfg = _runner_cfg(
        tmp_path,
        ellipsoid_root,
        'train',
        resume=True,
        load_from=str(tmp_path / 'train' / 'epoch_1.pth'),
        experiment_name=f'resumed_{os.getpid()}',
        **common)
    resumed = RUNNERS.build(cfg)
    resumed.train()
    assert torch.equal(resumed.model.scale.detach(), scale)


@pytest.mark.parametrize('key, named_by',
                         [('svm_test_dataloader', 'test_dataloader'),
                          ('svm_train_dataloader', 'test_cfg.fit_dataloader')])
def test_missing_svm_dataloader_config_is_named(ellipsoid_root, tmp_path, key,
                                                named_by):
    cfg = _runner_cfg(tmp_path, ellipsoid_root, 'missing')
    cfg.pop(key)
    runner = RUNNERS.build(cfg)
    with pytest.raises(ValueError) as error:
        runner.test()
    assert str(error.value).startswith(
        f"config key '{key}' is missing: {named_by} names it")


@pytest.mark.parametrize(
    'options, message',
    [(dict(test_evaluator=dict(type='DumpResults', out_file_path='x.pkl')),
      'needs a LinearSVMMetric in test_evaluator'),
     (dict(test_evaluator=dict(holdout=0.2)), 'not both or neither'),
     (dict(test_cfg=dict(fit_dataloader=None)), 'not both or neither')])
def test_loop_names_inconsistent_settings(ellipsoid_root, tmp_path, options,
                                          message):
    cfg = _runner_cfg(tmp_path, ellipsoid_root, 'bad', **options)
    runner = RUNNERS.build(cfg)
    with pytest.raises(ValueError, match=message):
        runner.test()


# ------------------------------------------------------ distributed gather
def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _odd_loader(root):
    loader = _loader(root, 'test', batch_size=3)
    loader['dataset']['indices'] = 15
    return loader


def _gather_worker(rank, world_size, port, root, out):
    import torch.distributed as torch_dist
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    torch_dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{port}',
        rank=rank,
        world_size=world_size)
    try:
        with DefaultScope.overwrite_default_scope('mmdet3d'):
            loader = Runner.build_dataloader(_odd_loader(root))
            records = extract_features(LinearSVMToyEncoder(), loader)
        if rank == 0:
            torch.save(records, out)
        else:
            assert records is None
    finally:
        torch_dist.destroy_process_group()


def test_features_are_gathered_in_order_without_padding(
        ellipsoid_root, tmp_path):
    """Two ranks, 15 clouds (the sampler pads to 2 x 8): all 15 in order."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        loader = Runner.build_dataloader(_odd_loader(ellipsoid_root))
        expected = extract_features(LinearSVMToyEncoder(), loader)
    out = str(tmp_path / 'records.pth')
    mp.start_processes(
        _gather_worker,
        args=(2, _free_port(), ellipsoid_root, out),
        nprocs=2,
        start_method='fork')
    gathered = torch.load(out, weights_only=False)
    assert [r['index'] for r in gathered] == list(range(15))
    assert [r['label'] for r in gathered] == [r['label'] for r in expected]
    for got, want in zip(gathered, expected):
        np.testing.assert_allclose(got['feature'], want['feature'], atol=1e-6)

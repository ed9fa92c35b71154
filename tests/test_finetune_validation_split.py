"""Fine-tuning validates on a stratified share held out from the train split.

The real configs pick their best checkpoint on ``StratifiedHoldoutDataset``'s
held-out part and score the test split only after training
(``FinalTestHook``); only ``*_official_protocol.py`` select on the test split.
"""
import glob
import os.path as osp
import re

import numpy as np
import pytest
import torch
from conftest import (h5_dataset_cfg, read_log_text, seeded_loader,
                      write_h5_split)
from mmdet3d.registry import DATASETS, RUNNERS
from mmengine.config import Config
from test_finetune_voting import tiny_classifier_cfg

from projects.I2PMAE.i2pmae.datasets import StratifiedHoldoutDataset
from projects.I2PMAE.i2pmae.datasets.samplers import SeededIndex
from projects.I2PMAE.i2pmae.evaluation import stratified_holdout

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
NUM_CLASSES = 4
# imbalanced classes: 20, 12, 6 and 2 samples
COUNTS = (20, 12, 6, 2)
AUGMENT = [
    dict(type='PointCloudRandomSample', num_points=32),
    dict(type='PointCloudScaleAndTranslate'),
    dict(type='PackPointCloudInputs'),
]
PACK = [dict(type='PackPointCloudInputs')]


def _clouds(counts, seed, num_points=64):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(counts)), counts)
    rng.shuffle(labels)
    points = rng.normal(size=(len(labels), num_points, 3))
    points *= 1 + labels[:, None, None]
    return points.astype(np.float32), labels


@pytest.fixture(scope='module')
def h5_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('holdout_h5'))
    write_h5_split(root, 'train', *_clouds(COUNTS, seed=0), NUM_CLASSES)
    write_h5_split(root, 'test', *_clouds((3, 3, 3, 3), seed=1), NUM_CLASSES)
    return root


def _holdout(root, subset, pipeline=PACK, holdout=0.25, **kwargs):
    return DATASETS.build(
        dict(
            type='StratifiedHoldoutDataset',
            dataset=h5_dataset_cfg(root, pipeline=pipeline),
            holdout=holdout,
            subset=subset,
            **kwargs))


# ------------------------------------------------------------ the wrapper
def test_parts_are_stratified_disjoint_and_cover_the_split(h5_root):
    full = DATASETS.build(h5_dataset_cfg(h5_root))
    labels = np.array([full.get_cat_ids(i)[0] for i in range(len(full))])
    train = _holdout(h5_root, 'train')
    val = _holdout(h5_root, 'val', pipeline=AUGMENT)
    assert len(train) + len(val) == len(full) == sum(COUNTS)
    assert not set(train.indices) & set(val.indices)
    assert sorted(train.indices + val.indices) == list(range(len(full)))
    # stratified: 25% of every class (5, 3, 1.5 -> 1 or 2, 0.5 -> 0 or 1),
    # every class keeps a sample in the training part
    held = np.bincount(labels[val.indices], minlength=NUM_CLASSES)
    kept = np.bincount(labels[train.indices], minlength=NUM_CLASSES)
    assert held[0] == 5 and held[1] == 3 and held[2] + held[3] == 2
    assert (kept >= 1).all() and held.sum() == round(0.25 * sum(COUNTS))
    # the same split as stratified_holdout of the labels
    keep, out = stratified_holdout(labels, 0.25, 0)
    assert train.indices == keep.tolist() and val.indices == out.tolist()
    # samples and labels are the wrapped dataset's
    assert train.metainfo == full.metainfo
    for i, j in enumerate(train.indices[:5]):
        assert train.get_cat_ids(i) == full.get_cat_ids(j)
        assert train.get_data_info(i)['sample_idx'] == j
        assert torch.equal(train[i]['inputs']['points'],
                           full[j]['inputs']['points'])


def test_split_is_deterministic_and_follows_only_its_seed(h5_root):
    np.random.seed(123)
    first = _holdout(h5_root, 'val').indices
    np.random.seed(456)
    torch.manual_seed(456)
    assert _holdout(h5_root, 'val').indices == first
    assert _holdout(h5_root, 'val', seed=1).indices != first
    assert len(_holdout(h5_root, 'val', holdout=0.5)) == sum(COUNTS) // 2


def test_seeded_indices_keep_their_seed(h5_root):
    full = DATASETS.build(h5_dataset_cfg(h5_root, pipeline=AUGMENT))
    train = _holdout(h5_root, 'train', pipeline=AUGMENT)
    j = train.indices[3]
    a = train[SeededIndex(3, seed=77)]['inputs']['points']
    b = full[SeededIndex(j, seed=77)]['inputs']['points']
    c = train[SeededIndex(3, seed=78)]['inputs']['points']
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_lazy_init_splits_at_first_use(h5_root):
    lazy = _holdout(h5_root, 'train', lazy_init=True)
    assert not lazy._fully_initialized
    assert len(lazy) == sum(COUNTS) - 10 and lazy._fully_initialized


@pytest.mark.parametrize(
    'options, error, message', [
        (dict(holdout=0.0), ValueError, 'holdout must be a share in'),
        (dict(holdout=1.0), ValueError, 'holdout must be a share in'),
        (dict(holdout='0.2'), ValueError, 'holdout must be a share in'),
        (dict(subset='test'), ValueError, "subset must be one of"),
        (dict(dataset=[1, 2]), TypeError, 'dataset must be a dataset'),
    ],
    ids=['zero', 'one', 'str', 'subset', 'dataset'])
def test_bad_options_are_named(h5_root, options, error, message):
    cfg = dict(dataset=h5_dataset_cfg(h5_root), holdout=0.2, subset='val')
    cfg.update(options)
    with pytest.raises(error, match=message):
        StratifiedHoldoutDataset(**cfg)


def test_samples_need_exactly_one_label(h5_root):

    class TwoLabels:
        metainfo = dict(classes=('a', 'b'))

        def __len__(self):
            return 3

        def get_cat_ids(self, idx):
            return [0, 1] if idx == 2 else [0]

    with pytest.raises(
            ValueError, match='sample 2 of TwoLabels has the '
            r'labels \[0, 1\]'):
        StratifiedHoldoutDataset(TwoLabels(), holdout=0.5)


# ------------------------------------------------------------ the configs
VARIANTS = {
    'i2pmae_finetune_scanobjectnn_objbg.py': 'obj_bg',
    'i2pmae_finetune_scanobjectnn_objonly.py': 'obj_only',
    'i2pmae_finetune_scanobjectnn_pbt50rs.py': 'pb_t50_rs',
}
REAL = sorted(['i2pmae_finetune_modelnet40.py', *VARIANTS])
AUGMENTATIONS = {'PointCloudScaleAndTranslate', 'PointCloudRandomRotate'}


def _config(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


def _types(pipeline):
    return {t['type'] for t in pipeline}


def _train_augmentations(cfg, pipeline):
    """The augmentations of a training pipeline and of the batch augments
    of the config's data preprocessor (named as the per-sample transforms).
    """
    augments = cfg.get('data_preprocessor', {}).get('batch_augments', [])
    batched = {t['type'].replace('Batch', '') for t in augments}
    return (_types(pipeline) | batched) & AUGMENTATIONS


@pytest.mark.parametrize('name', REAL)
def test_real_configs_validate_on_a_held_out_share(name):
    cfg = _config(name)
    train = cfg.train_dataloader.dataset
    val = cfg.val_dataloader.dataset
    test = cfg.test_dataloader.dataset
    dataset_type = 'ScanObjectNNDataset' if name in VARIANTS \
        else 'ModelNet40Dataset'
    # the two parts of the train split, same share and seed: disjoint
    for part, subset in ((train, 'train'), (val, 'val')):
        assert part.type == 'StratifiedHoldoutDataset'
        assert part.subset == subset
        assert part.dataset.type == dataset_type
        assert part.dataset.split == 'train'
    assert (train.holdout, train.seed) == (val.holdout, val.seed)
    assert 0 < val.holdout < 1
    assert train.dataset.data_root == val.dataset.data_root
    # validation scores the clouds as tested: no augmentation
    # (the preprocessor augments training batches only)
    assert _train_augmentations(cfg, train.dataset.pipeline)
    assert not _types(val.dataset.pipeline) & AUGMENTATIONS
    assert val.dataset.pipeline == test.pipeline
    assert val.dataset.test_mode
    # the test split only in the test dataloader
    assert test.type == dataset_type and test.split == 'test'
    if name in VARIANTS:
        variants = {train.dataset.variant, val.dataset.variant, test.variant}
        assert variants == {VARIANTS[name]}
    # the best checkpoint follows validation; the test split comes after
    assert cfg.default_hooks.checkpoint.save_best == 'accuracy/top1'
    assert cfg.val_evaluator.type == 'mmpretrain.Accuracy'
    assert 'FinalTestHook' in [h['type'] for h in cfg.custom_hooks]
    with open(osp.join(REPO, 'configs', name)) as f:
        assert '_official_protocol.py' in f.read()


@pytest.mark.parametrize('name', REAL)
def test_official_protocol_configs_say_they_select_on_the_test_split(name):
    official_name = name.replace('.py', '_official_protocol.py')
    with open(osp.join(REPO, 'configs', official_name)) as f:
        header = ' '.join(f.read().replace('#', ' ').split())
    assert 'SELECTS ON THE TEST SPLIT' in header
    cfg, base = _config(official_name), _config(name)
    # the whole train split trains; validation (and save_best) is the test
    # split, scored as in the test
    whole_split = base.train_dataloader.dataset.dataset
    assert cfg.train_dataloader.dataset == whole_split
    assert cfg.val_dataloader.dataset == base.test_dataloader.dataset
    assert cfg.test_dataloader == base.test_dataloader
    assert cfg.default_hooks.checkpoint.save_best == 'accuracy/top1'
    assert cfg.model == base.model


def test_only_official_protocol_configs_validate_on_a_test_split():
    for path in sorted(glob.glob(osp.join(REPO, 'configs', '*.py'))):
        cfg = Config.fromfile(path)
        loader = cfg.get('val_dataloader')
        if not isinstance(loader, dict) or 'dataset' not in loader:
            continue  # e.g. the SVM validation, by config key
        name = osp.basename(path)
        on_test = loader.dataset.get('split') == 'test'
        selects = cfg.default_hooks.checkpoint.get('save_best') is not None
        if on_test and selects:
            assert name.endswith('_official_protocol.py'), name


def test_modelnet40_test_votes_and_validation_does_not():
    cfg = _config('i2pmae_finetune_modelnet40.py')
    assert cfg.model.test_cfg == dict(num_points=1024, votes=10, seed=0)
    # 1200 FPS points (the data preprocessor's, in test mode): plain
    # predictions take the first 1024 (FPS to 1024), the votes a random 1024
    # of the 1200, as the official test
    assert cfg.data_preprocessor.point_sampler == dict(
        type='PointCloudBatchFPSSample',
        num_points=1024,
        num_candidates=1200,
        test_num_points=1200)
    for loader in ('val_dataloader', 'test_dataloader'):
        assert 'PointCloudFPSSample' not in str(cfg[loader])
    types = [m['type'] for m in cfg.test_evaluator]
    assert types == ['mmpretrain.Accuracy', 'VoteAccuracy']
    assert 'VoteAccuracy' not in str(cfg.val_evaluator)


def test_fps_prefix_is_fps_to_fewer_points():
    """The first 1024 of 1200 FPS points are the 1024 FPS points."""
    from projects.I2PMAE.i2pmae.ops import furthest_point_sample
    points = torch.from_numpy(
        np.random.default_rng(0).normal(size=(2, 500, 3)).astype(np.float32))
    long = furthest_point_sample(points, 120)
    short = furthest_point_sample(points, 100)
    assert torch.equal(long[:, :100], short)


# ------------------------------------------------------------ a short run
def _final_test_run_cfg(work_dir, train_dataset, **options):
    """One epoch of the tiny classifier with ``FinalTestHook``."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/default_runtime.py'))
    cfg.merge_from_dict(
        dict(
            model=tiny_classifier_cfg(),
            work_dir=str(work_dir),
            train_dataloader=seeded_loader(train_dataset, shuffle=True),
            train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1),
            optim_wrapper=dict(
                type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3)),
            custom_hooks=cfg.custom_hooks + [dict(type='FinalTestHook')]))
    cfg.merge_from_dict(options)
    return cfg


def test_short_run_validates_on_the_held_out_part_and_tests_at_the_end(
        h5_root, tmp_path):
    part = dict(type='StratifiedHoldoutDataset', holdout=0.25, seed=0)
    cfg = _final_test_run_cfg(
        tmp_path / 'run',
        dict(
            part,
            subset='train',
            dataset=h5_dataset_cfg(h5_root, num_points=48)),
        model=tiny_classifier_cfg(num_points=48, votes=3),
        val_dataloader=seeded_loader(
            dict(
                part,
                subset='val',
                dataset=h5_dataset_cfg(h5_root, num_points=48,
                                       test_mode=True))),
        test_dataloader=seeded_loader(
            h5_dataset_cfg(h5_root, 'test', num_points=64, test_mode=True)),
        train_cfg=dict(val_interval=1),
        val_cfg=dict(type='ValLoop'),
        test_cfg=dict(type='TestLoop'),
        val_evaluator=dict(type='mmpretrain.Accuracy', topk=(1, )),
        test_evaluator=[
            dict(type='mmpretrain.Accuracy', topk=(1, )),
            dict(type='VoteAccuracy', topk=(1, ))
        ],
        default_hooks=dict(
            logger=dict(interval=1),
            checkpoint=dict(save_best='accuracy/top1', rule='greater')))
    runner = RUNNERS.build(cfg)
    runner.train()
    assert len(runner.train_dataloader.dataset) == 30
    assert len(runner.val_dataloader.dataset) == 10
    hub = runner.message_hub
    assert hub.get_scalar('val/accuracy/top1') is not None
    for key in ('test/accuracy/top1', 'test/vote/accuracy/top1'):
        assert 0 <= hub.get_scalar(key).current() <= 100
    log = read_log_text(cfg.work_dir)
    assert 'Epoch(val) [1][2/2]' in log and 'Epoch(test) [2/2]' in log
    val_line = [ln for ln in log.splitlines() if 'Epoch(val) [1][2/2]' in ln]
    assert 'vote/' not in val_line[0]
    assert 'vote/accuracy/top1' in log
    assert glob.glob(osp.join(cfg.work_dir, 'best_accuracy_top1_epoch_1.pth'))
    assert "'val' part, 10 of the 40 samples" in log
    assert 'the 12 test samples are scored after the last epoch' in log


def test_final_test_hook_needs_a_test_loop(h5_root, tmp_path):
    cfg = _final_test_run_cfg(tmp_path / 'no_test',
                              h5_dataset_cfg(h5_root, num_points=48))
    runner = RUNNERS.build(cfg)
    with pytest.raises(RuntimeError, match='FinalTestHook needs test_'):
        runner.train()
    assert not glob.glob(osp.join(cfg.work_dir, '*.pth'))
    # a test split that cannot be read stops the run before it trains
    missing = str(tmp_path / 'missing')
    cfg.merge_from_dict(
        dict(
            work_dir=str(tmp_path / 'missing_test'),
            test_dataloader=seeded_loader(
                h5_dataset_cfg(missing, 'test', test_mode=True)),
            test_cfg=dict(type='TestLoop'),
            test_evaluator=dict(type='mmpretrain.Accuracy')))
    runner = RUNNERS.build(cfg)
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        runner.train()
    assert not glob.glob(osp.join(cfg.work_dir, '*.pth'))

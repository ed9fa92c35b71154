"""Test-time voting of PointClassifier (the paper's "Vote" column), on CPU:
the softmax of the logits averaged over 10 views, each a random subset scaled
per axis by U(2/3, 3/2) and shifted by U(-0.2, 0.2) (the official ModelNet40
test), drawn from (seed, sample index) only."""
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import (h5_dataset_cfg, read_log_text, seeded_loader,
                      write_h5_split)
from mmdet3d.registry import MODELS, RUNNERS
from mmengine.config import Config
from mmpretrain.structures import DataSample

from projects.I2PMAE.i2pmae.datasets.samplers import isolated_rng
from projects.I2PMAE.i2pmae.evaluation import VoteAccuracy
from projects.I2PMAE.i2pmae.models import VoteViews, official_vote_pipeline

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
NUM_CLASSES = 4
NUM_POINTS = 120  # points of a stored cloud (the "1200 FPS points")
VIEW_POINTS = 96  # points of a plain prediction and of a view ("1024")


def tiny_classifier_cfg(**test_cfg):
    return dict(
        type='PointClassifier',
        tokenizer=dict(
            type='MultiScalePointTokenizer',
            num_groups=[32, 16, 8],
            group_sizes=[8, 4, 4]),
        backbone=dict(
            type='I2PMAEEncoder',
            embed_dims=[16, 32, 64],
            depths=[1, 1, 1],
            num_heads=2,
            drop_path_rate=0.0,
            final_norm=False),
        pooling='mean+max',
        head=dict(
            type='PointClsHead',
            in_channels=64,
            num_classes=NUM_CLASSES,
            hidden_channels=[32, 32]),
        test_cfg=test_cfg)


def tiny_classifier(**test_cfg):
    torch.manual_seed(0)
    model = MODELS.build(tiny_classifier_cfg(**test_cfg))
    return model.eval()


def clouds(num, seed):
    """Generated clouds: ellipsoids stretched along x, y, z or not at all."""
    rng = np.random.default_rng(seed)
    labels = np.arange(num) % NUM_CLASSES
    axes = np.array([[1.0, 0.4, 0.4], [0.4, 1.0, 0.4], [0.4, 0.4, 1.0],
                     [0.3, 0.3, 0.3]])
    points = rng.normal(size=(num, NUM_POINTS, 3))
    points /= np.linalg.norm(points, axis=-1, keepdims=True)
    points *= axes[labels][:, None, :]
    return points.astype(np.float32), labels


def batch(points, labels, indices):
    samples = [
        DataSample(metainfo=dict(sample_idx=int(i))).set_gt_label(int(y))
        for i, y in zip(indices, labels)
    ]
    return dict(
        inputs=dict(points=torch.from_numpy(np.asarray(points))),
        data_samples=samples)


def official_views(cloud, seed, votes=10):
    """The official vote's views, drawn the way the transforms draw them."""
    views = []
    with isolated_rng(seed):
        for _ in range(votes):
            idx = np.random.permutation(len(cloud))[:VIEW_POINTS]
            scale = np.random.uniform(2. / 3., 3. / 2., size=3)
            shift = np.random.uniform(-0.2, 0.2, size=3)
            views.append((cloud[idx] * scale + shift).astype(np.float32))
    return views


# -------------------------------------------------------------- the model
def test_ten_votes_average_the_logits_of_the_transformed_views():
    model = tiny_classifier(num_points=VIEW_POINTS, votes=10, seed=3)
    points, labels = clouds(3, seed=0)
    indices = [5, 0, 17]
    with torch.no_grad():
        out = model.test_step(batch(points, labels, indices))
        for cloud, sample_idx, sample in zip(points, indices, out):
            seed = model.vote_views.sample_seed(sample_idx)
            views = official_views(cloud, seed)
            logits = [
                model(dict(points=torch.from_numpy(v)[None]), mode='tensor')
                for v in views
            ]
            expected = torch.cat(logits).mean(0).softmax(0)
            torch.testing.assert_close(
                sample.vote_score, expected, rtol=1e-5, atol=1e-6)
            assert int(sample.vote_label) == int(expected.argmax())
            # the plain prediction: the FPS prefix, no augmentation
            plain = model(
                dict(points=torch.from_numpy(cloud[:VIEW_POINTS])[None]),
                mode='tensor')[0].softmax(0)
            torch.testing.assert_close(
                sample.pred_score, plain, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(out[0].vote_score, out[0].pred_score)


def test_views_are_official_scale_and_translate_of_a_random_subset():
    voter = VoteViews(10, official_vote_pipeline(VIEW_POINTS), seed=0)
    cloud = clouds(1, seed=1)[0][0]
    views = voter.views(cloud, 4)
    assert views.shape == (10, VIEW_POINTS, 3) and views.dtype == np.float32
    assert len({v.tobytes() for v in views}) == 10
    # each view drawn in the transforms' order from the sample's seed
    expected = official_views(cloud, voter.sample_seed(4))
    np.testing.assert_allclose(views, np.stack(expected), rtol=1e-6, atol=1e-6)
    assert not np.allclose(voter.views(cloud, 5), views)


def test_votes_are_deterministic_per_sample_and_leave_global_rngs_alone():
    model = tiny_classifier(num_points=VIEW_POINTS, votes=10, seed=0)
    other = tiny_classifier(num_points=VIEW_POINTS, votes=10, seed=1)
    points, labels = clouds(4, seed=2)
    indices = [0, 1, 2, 3]
    np_state = np.random.get_state()[1].copy()
    torch_state = torch.random.get_rng_state().clone()
    with torch.no_grad():
        first = model.test_step(batch(points, labels, indices))
        again = model.test_step(batch(points, labels, indices))
        # another batch composition and order: the same votes per sample
        alone = model.test_step(batch(points[[2, 0]], labels[[2, 0]], [2, 0]))
        reseeded = other.test_step(batch(points, labels, indices))
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    for a, b in zip(first, again):
        assert torch.equal(a.vote_score, b.vote_score)
    torch.testing.assert_close(alone[0].vote_score, first[2].vote_score)
    torch.testing.assert_close(alone[1].vote_score, first[0].vote_score)
    for a, b in zip(first, reseeded):
        assert not torch.allclose(a.vote_score, b.vote_score)


def test_only_the_test_step_votes():
    model = tiny_classifier(num_points=VIEW_POINTS, votes=10)
    points, labels = clouds(2, seed=3)
    with torch.no_grad():
        val = model.val_step(batch(points, labels, [0, 1]))
        test = model.test_step(batch(points, labels, [0, 1]))
    assert all('vote_score' not in s for s in val)
    assert all('vote_score' in s and 'vote_label' in s for s in test)
    for v, t in zip(val, test):
        assert torch.equal(v.pred_score, t.pred_score)
    plain = tiny_classifier(num_points=VIEW_POINTS)
    with torch.no_grad():
        out = plain.test_step(batch(points, labels, [0, 1]))
    assert plain.vote_views is None
    assert all('vote_score' not in s for s in out)


@pytest.mark.parametrize(
    'test_cfg, message', [
        (dict(vote=10), "unknown keys ['vote']"),
        (dict(votes=-1), 'model.test_cfg.votes must be an int >= 0'),
        (dict(votes=2.5), 'model.test_cfg.votes must be an int >= 0'),
        (dict(num_points=0), 'model.test_cfg.num_points must be None'),
        (dict(seed=-3), 'model.test_cfg.seed must be an int >= 0'),
        (dict(votes=2, vote_pipeline=dict(type='PointCloudJitter')),
         'model.test_cfg.vote_pipeline must be None or a non-empty list'),
        (dict(votes=2, vote_pipeline=[]),
         'model.test_cfg.vote_pipeline must be None or a non-empty list'),
    ],
    ids=['key', 'negative', 'float', 'points', 'seed', 'dict', 'empty'])
def test_bad_test_cfg_is_named(test_cfg, message):
    with pytest.raises(ValueError, match=message.replace('[', r'\[')):
        tiny_classifier(**test_cfg)


def test_voting_needs_sample_indices_and_views_of_one_shape():
    model = tiny_classifier(num_points=VIEW_POINTS, votes=2)
    points, labels = clouds(2, seed=4)
    data = batch(points, labels, [0, 1])
    data['data_samples'][1].set_metainfo(dict(sample_idx=None))
    with pytest.raises(ValueError, match='needs sample_idx in its metainfo'):
        with torch.no_grad():
            model.test_step(data)
    with pytest.raises(ValueError, match='votes must be an int >= 1'):
        VoteViews(0, official_vote_pipeline(8))
    with pytest.raises(ValueError, match='at least one transform'):
        VoteViews(2, [])
    with pytest.raises(ValueError, match='dropped sample 7'):
        VoteViews(2, [lambda results: None]).views(points[0], 7)
    sizes = iter([10, 20])

    def ragged(results):
        results['points'] = results['points'][:next(sizes)]
        return results

    with pytest.raises(ValueError, match='views of one shape'):
        VoteViews(2, [ragged]).views(points[0], 7)


def test_vote_accuracy_names_missing_votes():
    sample = DataSample().set_gt_label(1).set_pred_score(
        torch.tensor([0.1, 0.9]))
    with pytest.raises(ValueError, match='no vote_score.*test_cfg.votes'):
        VoteAccuracy().process(None, [sample.to_dict()])


# -------------------------------------------------------------- the Runner
def test_runner_logs_plain_and_vote_accuracy(tmp_path):
    root = str(tmp_path / 'h5')
    points, labels = clouds(10, seed=5)
    write_h5_split(root, 'test', points, labels, NUM_CLASSES)
    test_cfg = dict(num_points=VIEW_POINTS, votes=10, seed=0)
    model = tiny_classifier(**test_cfg)
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)

    def run(name):
        cfg = Config.fromfile(
            osp.join(REPO, 'configs/_base_/default_runtime.py'))
        cfg.merge_from_dict(
            dict(
                model=tiny_classifier_cfg(**test_cfg),
                work_dir=str(tmp_path / name),
                experiment_name=f'{name}_{tmp_path.name}',
                load_from=ckpt,
                test_dataloader=seeded_loader(
                    h5_dataset_cfg(root, 'test', test_mode=True),
                    batch_size=4),
                test_cfg=dict(type='TestLoop'),
                test_evaluator=[
                    dict(type='mmpretrain.Accuracy', topk=(1, )),
                    dict(type='VoteAccuracy', topk=(1, ))
                ]))
        return RUNNERS.build(cfg).test(), cfg.work_dir

    metrics, work_dir = run('test')
    # the same numbers computed by hand over the whole split
    with torch.no_grad():
        pts = torch.from_numpy(points)
        plain = model(dict(points=pts[:, :VIEW_POINTS]), mode='tensor')
        votes = model.vote_logits(pts, list(range(len(points))))
    y = torch.from_numpy(labels)
    expected_plain = 100 * (plain.argmax(1) == y).float().mean().item()
    expected_vote = 100 * (votes.argmax(1) == y).float().mean().item()
    assert metrics['accuracy/top1'] == pytest.approx(expected_plain)
    assert metrics['vote/accuracy/top1'] == pytest.approx(expected_vote)
    log = read_log_text(work_dir)
    assert f'accuracy/top1: {expected_plain:.4f}' in log
    assert f'vote/accuracy/top1: {expected_vote:.4f}' in log
    # deterministic given the seed
    again, _ = run('again')
    assert again == metrics

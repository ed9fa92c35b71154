"""Part segmentation: the mIoU metric, the segmentor and its decode head."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import save_tiny_pretraining_checkpoint
from mmdet3d.registry import MODELS
from mmdet3d.structures import PointData
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmpretrain.structures import DataSample

import projects.I2PMAE.i2pmae  # noqa: F401
from projects.I2PMAE.i2pmae.datasets.class_names import \
    SHAPENETPART_SEG_CLASSES
from projects.I2PMAE.i2pmae.engine.state_dict_diff import StateDictDiff
from projects.I2PMAE.i2pmae.evaluation import PartSegMIoU, shape_part_ious
from projects.I2PMAE.i2pmae.models import I2PMAEPartSegmentor

TOY_CLASSES = {'A': (0, 1), 'B': (2, 3, 4)}
CATEGORY_NAMES = list(SHAPENETPART_SEG_CLASSES)
# the prefixes configs/_base_/models/i2pmae_partseg.py requires of load_from
REQUIRED_KEYS = [
    'backbone.token_embeds.', 'backbone.pos_embeds.', 'backbone.stages.',
    'backbone.norms.1.', 'backbone.norms.2.'
]


def _output(pred, gt, category_id, **meta):
    """A model output as the evaluator hands it to the metric."""
    return dict(
        pred_pts_seg=dict(pts_semantic_mask=torch.tensor(pred)),
        gt_pts_seg=dict(pts_semantic_mask=torch.tensor(gt)),
        category_id=category_id,
        **meta)


def _evaluate(outputs, **kwargs):
    metric = PartSegMIoU(**kwargs)
    metric.process(None, outputs)
    return metric.compute_metrics(metric.results)


def test_shape_part_ious_by_hand():
    # part 0: 1 shared of 2 points; part 1: 2 of 3
    np.testing.assert_allclose(
        shape_part_ious(
            np.array([0, 1, 1, 1]), np.array([0, 0, 1, 1]), (0, 1)),
        [1 / 2, 2 / 3])
    # a part absent from both counts as 1
    np.testing.assert_allclose(
        shape_part_ious(np.zeros(4), np.zeros(4), (0, 1)), [1, 1])
    # a prediction outside the category is a miss of the true part
    np.testing.assert_allclose(
        shape_part_ious(np.array([2, 1]), np.array([0, 1]), (0, 1)), [0, 1])


def test_metric_hand_computed_example():
    outputs = [
        _output([0, 1, 1, 1], [0, 0, 1, 1], 0),  # (1/2 + 2/3) / 2 = 7/12
        _output([0, 0, 0, 0], [0, 0, 0, 0], 0),  # (1 + 1) / 2 = 1
        # (2/3 + 1/2 + 1) / 3 = 13/18 (part 4 absent from both)
        _output([2, 2, 2, 3], [2, 2, 3, 3], 1),
    ]
    metrics = _evaluate(outputs, seg_classes=TOY_CLASSES)
    class_a, class_b = (7 / 12 + 1) / 2, 13 / 18
    assert metrics['class_miou'] == pytest.approx(100 * (class_a + class_b) /
                                                  2)  # 75.69
    assert metrics['instance_miou'] == pytest.approx(
        100 * (7 / 12 + 1 + 13 / 18) / 3)  # 76.85


def test_metric_reads_the_categories_from_the_dataset():
    metric = PartSegMIoU()
    metric.dataset_meta = dict(
        classes=('B', 'A'), seg_classes=dict(A=(0, 1), B=(2, 3, 4)))
    # category 0 is B here: label 2 is one of its parts
    metric.process(None, [_output([2, 3], [2, 3], 0)])
    assert metric.compute_metrics(metric.results) == dict(
        class_miou=100.0, instance_miou=100.0)
    with pytest.raises(ValueError, match='give seg_classes, or evaluate a '):
        _evaluate([_output([0], [0], 0)])


@pytest.mark.parametrize(
    'output, message',
    [(_output([0, 1], [0, 1, 1], 0, points_path='a/s1.txt'),
      r'data sample a/s1.txt: 2 predicted labels for 3 labelled points'),
     (_output([0, 1], [0, 2], 0, sample_idx=7),
      r"data sample 7: label 2 is not one of the parts \(0, 1\) of its "
      r"category 'A'"),
     (_output([0], [0], 2), 'category_id 2 is outside the 2 categories'),
     (dict(gt_pts_seg=dict(pts_semantic_mask=torch.zeros(2)),
           category_id=0), 'has no pred_pts_seg')],
    ids=['count', 'label', 'category', 'no-prediction'])
def test_metric_bad_input_is_named(output, message):
    with pytest.raises(ValueError, match=message):
        _evaluate([output], seg_classes=TOY_CLASSES)


def _segmentor_cfg(**decode_head):
    head = dict(
        type='I2PMAEPartSegHead',
        in_channels=[24, 48, 96],
        fp_channels=16,
        category_channels=8,
        hidden_channels=[16],
        channels=16)
    head.update(decode_head)
    return dict(
        type='I2PMAEPartSegmentor',
        tokenizer=dict(
            type='MultiScalePointTokenizer',
            num_groups=[64, 32, 8],
            group_sizes=[8, 4, 4]),
        backbone=dict(
            type='I2PMAEEncoder',
            embed_dims=[24, 48, 96],
            depths=[1, 1, 1],
            num_heads=6,
            local_radius=[0.32, 0.64, 1.28]),
        decode_head=head)


def _segmentor(**decode_head):
    torch.manual_seed(0)
    model = MODELS.build(_segmentor_cfg(**decode_head))
    model.init_weights()
    return model


def _batch(categories=(0, 4, 15), n=128, seed=0):
    """Clouds with labels drawn from each category's parts."""
    g = torch.Generator().manual_seed(seed)
    points = torch.rand(len(categories), n, 3, generator=g) - 0.5
    samples = []
    for i, c in enumerate(categories):
        parts = torch.tensor(SHAPENETPART_SEG_CLASSES[CATEGORY_NAMES[c]])
        sample = DataSample(
            metainfo=dict(
                category_id=c,
                category=CATEGORY_NAMES[c],
                sample_idx=i,
                points_path=f'shape{i}.txt'))
        sample.gt_pts_seg = PointData(pts_semantic_mask=parts[torch.randint(
            len(parts), (n, ), generator=g)])
        samples.append(sample)
    return dict(inputs=dict(points=points), data_samples=samples)


def test_every_point_gets_logits_and_a_part_of_its_category():
    model = _segmentor().eval()
    data = model.data_preprocessor(_batch(), False)
    with torch.no_grad():
        logits = model(**data, mode='tensor')
        samples = model(**copy.deepcopy(data), mode='predict')
    assert logits.shape == (3, 50, 128) and torch.isfinite(logits).all()
    for sample, c, sample_logits in zip(samples, (0, 4, 15), logits):
        pred = sample.pred_pts_seg.pts_semantic_mask
        assert pred.shape == (128, )
        parts = SHAPENETPART_SEG_CLASSES[CATEGORY_NAMES[c]]
        assert set(pred.tolist()) <= set(parts)
        # the argmax over the category's parts only
        expected = sample_logits[list(parts)].argmax(0) + parts[0]
        assert torch.equal(pred, expected)
        assert torch.equal(sample.pts_seg_logits.pts_seg_logits, sample_logits)
    model.test_cfg['restrict_to_category'] = False
    with torch.no_grad():
        free = model(**copy.deepcopy(data), mode='predict')
    assert torch.equal(free[0].pred_pts_seg.pts_semantic_mask,
                       logits[0].argmax(0))


def test_loss_trains_every_weight_and_depends_on_the_category():
    model = _segmentor().train()
    data = model.data_preprocessor(_batch(), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'decode.loss_sem_seg'}
    # untrained: close to the cross-entropy of a uniform guess
    assert losses['decode.loss_sem_seg'].item() == pytest.approx(
        np.log(50), abs=0.2)
    losses['decode.loss_sem_seg'].backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []

    model.eval()
    other = model.data_preprocessor(_batch(categories=(1, 4, 15)), False)
    with torch.no_grad():
        a = model(**data, mode='tensor')
        b = model(**other, mode='tensor')
    assert not torch.allclose(a[0], b[0]) and torch.allclose(a[1:], b[1:])


def test_split_first_layer_is_one_convolution_of_the_concatenation():
    head = _segmentor().decode_head.eval()
    g = torch.Generator().manual_seed(1)
    feats = dict(
        points=torch.rand(2, 40, 3, generator=g),
        centers=[torch.rand(2, k, 3, generator=g) for k in (16, 8, 4)],
        feats=[
            torch.randn(2, k, c, generator=g)
            for k, c in zip((16, 8, 4), (24, 48, 96))
        ],
        categories=torch.tensor([3, 9]))
    x = head.point_features(feats['points'], feats['centers'], feats['feats'])
    assert x.shape == (2, 48, 40)
    # the official layout: [global, category, point] features per point
    shape = torch.cat([
        x.amax(2) + x.mean(2),
        head.category_embed(F.one_hot(feats['categories'], 16).float())
    ], 1)
    full = torch.cat([shape.unsqueeze(-1).expand(-1, -1, 40), x], 1)
    weight = torch.cat(
        [head.shape_proj.weight, head.point_proj.weight[..., 0]], 1)
    official = F.conv1d(full, weight[..., None], head.point_proj.bias)
    ours = head.point_proj(x) + head.shape_proj(shape).unsqueeze(-1)
    torch.testing.assert_close(ours, official, rtol=1e-5, atol=1e-5)


def _named(i):
    return f"data sample {i} \\(shape{i}.txt\\)"


@pytest.mark.parametrize(
    'edit, message',
    [(lambda s: setattr(s[1].gt_pts_seg, 'pts_semantic_mask',
                        torch.zeros(100, dtype=torch.long)),
      _named(1) + r' has part labels of shape \(100,\) for 128 points'),
     (lambda s: s[0].gt_pts_seg.pts_semantic_mask.__setitem__(5, 7),
      _named(0) + r": part label 7 is not one of the parts \[0, 1, 2, 3\] "
      r"of its category 'Airplane'"),
     (lambda s: s[2].gt_pts_seg.pts_semantic_mask.__setitem__(0, 50),
      _named(2) + r': part label 50 is not one of the parts'),
     (lambda s: delattr(s[0], 'gt_pts_seg'),
      _named(0) + ' has no gt_pts_seg.pts_semantic_mask'),
     (lambda s: s[1].set_metainfo(dict(category_id=16)),
      _named(1) + r': category_id 16 is outside the 16 categories'),
     (lambda s: s[1].set_metainfo(dict(category='Bag')),
      _named(1) + r": category 'Bag' has category_id 4, which is 'Chair'"),
     (lambda s: s.pop(), r'3 clouds, got 2 data samples')],
    ids=[
        'count', 'other-category', 'outside', 'no-labels', 'category-id',
        'category-name', 'samples'
    ])
def test_bad_training_input_is_named(edit, message):
    model = _segmentor().train()
    data = _batch()
    edit(data['data_samples'])
    data = model.data_preprocessor(data, True)
    with pytest.raises(ValueError, match=message):
        model(**data, mode='loss')


def test_ignored_labels_pass_the_check():
    model = _segmentor().train()
    data = _batch()
    data['data_samples'][0].gt_pts_seg.pts_semantic_mask[:4] = 255
    data = model.data_preprocessor(data, True)
    assert torch.isfinite(model(**data, mode='loss')['decode.loss_sem_seg'])


def test_missing_category_is_named_at_test_time():
    model = _segmentor().eval()
    data = _batch()
    data['data_samples'][2] = DataSample(metainfo=dict(sample_idx=2))
    with pytest.raises(
            ValueError,
            match='data sample 2 \\(sample_idx 2\\) has no category_id'):
        model(**model.data_preprocessor(data, False), mode='predict')


@pytest.mark.parametrize(
    'update, message',
    [(dict(seg_classes=dict(A=(0, 1))),
      r'decode_head.num_categories=16 must be the number of seg_classes '
      r'categories \(1\)'),
     (dict(seg_classes={
         **SHAPENETPART_SEG_CLASSES, 'Table': (47, 50)
     }), r"seg_classes\['Table'\] must list part ids in \[0, "
      r'decode_head.num_classes=50\)'),
     (dict(test_cfg=dict(votes=2)), r"model.test_cfg: unknown keys \['votes'"),
     (dict(decode_head=dict(in_channels=[24, 48, 64])),
      r"decode_head.in_channels=\[24, 48, 64\] must be the encoder's "
      r'embed_dims=\[24, 48, 96\]'),
     (dict(decode_head=dict(in_channels=[])),
      'in_channels must list the positive channels'),
     (dict(decode_head=dict(num_categories=-1)),
      'num_categories must be an int >= 0'),
     (dict(decode_head=dict(num_categories=0)),
      r'decode_head.num_categories=0 must be the number of seg_classes '
      r'categories \(16\)')],
    ids=[
        'categories', 'part-id', 'test-cfg', 'encoder-dims', 'in-channels',
        'head-size', 'no-category'
    ])
def test_inconsistent_configs_are_named(update, message):
    cfg = _segmentor_cfg(**update.pop('decode_head', {}))
    cfg.update(update)
    with pytest.raises(ValueError, match=message):
        MODELS.build(cfg)


def test_builds_whatever_default_scope_is_current():
    cfg = _segmentor_cfg()
    cfg.pop('type')
    # e.g. after a Runner whose default_scope is mmpretrain
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = I2PMAEPartSegmentor(**cfg)
    assert type(model.decode_head).__name__ == 'I2PMAEPartSegHead'


@pytest.fixture
def pretrained_checkpoint(tmp_path):
    """A Point-M2AE-style I2PMAE checkpoint with the segmentor's encoder."""
    encoder = dict(embed_dims=[24, 48, 96], depths=[1, 1, 1], num_heads=6)
    path = tmp_path / 'pretrain.pth'
    return str(path), save_tiny_pretraining_checkpoint(path, encoder)


def _assert_encoder_loaded(model, state):
    loaded = {
        k: v
        for k, v in model.state_dict().items() if k.startswith('backbone.')
    }
    not_loaded = sorted(k for k in loaded if k not in state)
    # only the scale-0 norm: the pretraining encoder has none
    assert not_loaded == ['backbone.norms.0.bias', 'backbone.norms.0.weight']
    for key, value in loaded.items():
        if key in state:
            assert torch.equal(value, state[key]), key


def test_pretrained_encoder_loads_through_load_from(pretrained_checkpoint):
    path, state = pretrained_checkpoint
    model = _segmentor()
    diff = StateDictDiff.compare(state, model.state_dict())
    # what CheckpointCompatibilityHook checks with the config's keys
    assert diff.restrict(REQUIRED_KEYS).not_loaded == []
    assert {k.split('.')[0]
            for k in diff.missing} == {'backbone', 'decode_head'}
    assert {k.split('.')[0] for k in diff.unexpected} == {'neck', 'head'}
    load_checkpoint(model, path, map_location='cpu')
    _assert_encoder_loaded(model, state)


def test_pretrained_encoder_loads_through_init_cfg(pretrained_checkpoint):
    path, state = pretrained_checkpoint
    cfg = _segmentor_cfg()
    cfg['backbone']['init_cfg'] = dict(
        type='Pretrained', checkpoint=path, prefix='backbone.')
    model = MODELS.build(cfg)
    model.init_weights()
    _assert_encoder_loaded(model, state)

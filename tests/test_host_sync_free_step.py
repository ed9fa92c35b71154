"""Inputs are checked once, at the data preprocessor; the pretraining step
reads device values on the host only for the visible-token counts."""
import collections
import os.path as osp
import sys
import traceback

import pytest
import torch
from mmdet3d.registry import MODELS
from test_i2pmae_model import _points, tiny_cfg
from torch.utils._python_dispatch import TorchDispatchMode

from projects.I2PMAE.i2pmae.models import (I2PMAEPretrainHead,
                                           MultiViewDepthProjector,
                                           PointCloudDataPreprocessor)
from projects.I2PMAE.i2pmae.models.guided_mask_generator import \
    GuidedMaskGenerator
from projects.I2PMAE.i2pmae.models.i2pmae_encoder import pack_visible
from projects.I2PMAE.i2pmae.models.point_tokenizer import TokenScale
from projects.I2PMAE.i2pmae.models.token_selection import (count_visible,
                                                           select_rows)
from projects.I2PMAE.i2pmae.ops import furthest_point_sample
from projects.I2PMAE.i2pmae.ops import furthest_point_sample_cpu as fps_cpu
from projects.I2PMAE.i2pmae.ops import knn
from projects.I2PMAE.i2pmae.utils.point_cloud_check import check_point_cloud

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGE = osp.join(REPO, 'projects', 'I2PMAE', 'i2pmae')

#: operators that read device values on the host (or copy host data to
#: the device) whatever their arguments; boolean indices are added below
HOST_TAGS = (torch.Tag.data_dependent_output, torch.Tag.dynamic_output_shape)
HOST_OPS = (torch.ops.aten.multinomial, torch.ops.aten.lift_fresh)
INDEX_OPS = (torch.ops.aten.index, torch.ops.aten.index_put,
             torch.ops.aten.index_put_)

#: the expected host reads of a step: the visible counts, once, and the
#: kNN's exact tie rule (a stable sort of the rows with a tie at the k-th
#: neighbour, found on the host)
ALLOWED_SITES = {('token_selection.py', 'count_visible'),
                 ('knn.py', '_smallest_k'), ('knn.py', '_knn_index_mmcv')}


def _call_site():
    """``(file name, function)`` of the innermost plugin frame."""
    for frame in reversed(traceback.extract_stack()):
        if frame.filename.startswith(PACKAGE):
            return osp.basename(frame.filename), frame.name
    return '(autograd)', '(backward)'


class HostReadRecorder(TorchDispatchMode):
    """Records where operators that synchronise on CUDA are called."""

    def __init__(self):
        super().__init__()
        self.sites = collections.Counter()
        self.active = False

    def __enter__(self):
        self.active = True
        return super().__enter__()

    def __exit__(self, *exc_info):
        self.active = False
        return super().__exit__(*exc_info)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        reads = any(tag in func.tags for tag in HOST_TAGS)
        if func.overloadpacket in INDEX_OPS:
            reads = any(
                i is not None and i.dtype in (torch.bool, torch.uint8)
                for i in args[1])
        if reads or func.overloadpacket in HOST_OPS:
            self.sites[(*_call_site(), func.overloadpacket.__name__)] += 1
        return func(*args, **(kwargs or {}))


@pytest.fixture
def record_host_reads(monkeypatch):
    """A recorder that also sees ``tolist()`` and ``numpy()`` while it is
    active (on CPU tensors they reach no operator)."""
    recorder = HostReadRecorder()
    for name in ('tolist', 'numpy'):
        original = getattr(torch.Tensor, name)

        def wrapped(self, *args, _original=original, _name=name, **kwargs):
            if recorder.active:
                recorder.sites[(*_call_site(), _name)] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, wrapped)
    return recorder


@pytest.mark.parametrize('with_teacher', [True, False])
def test_pretraining_step_reads_only_the_visible_counts(
        record_host_reads, with_teacher, monkeypatch):
    # FPS of CPU clouds runs as a numba loop on numpy views (no device to
    # synchronise with); CUDA clouds never take it, so the torch loop stands
    # in for mmcv's kernel here
    assert not fps_cpu.use_compiled_kernel(torch.empty(1, 4, 3, device='meta'))
    monkeypatch.setattr(fps_cpu, 'CPU_BACKEND', 'torch')
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(with_teacher=with_teacher))
    model.train()
    data = model.data_preprocessor(
        dict(inputs=dict(points=_points(b=3))), True)
    with record_host_reads:
        losses = model.loss(data['inputs'])
        sum(losses.values()).backward()
    sites = record_host_reads.sites
    unexpected = {
        site: n
        for site, n in sites.items() if site[:2] not in ALLOWED_SITES
    }
    assert unexpected == {}
    assert sites[('token_selection.py', 'count_visible', 'tolist')] == 1


def test_recorder_sees_a_value_check_in_the_tokenizer(record_host_reads,
                                                      monkeypatch):
    """A finite check put back into the tokenizer fails the test above."""
    import projects.I2PMAE.i2pmae.models.point_tokenizer as tokenizer_module
    monkeypatch.setattr(tokenizer_module, 'check_point_cloud',
                        lambda points, **kwargs: check_point_cloud(points))
    model = MODELS.build(tiny_cfg(with_teacher=False))
    with record_host_reads:
        model.loss(dict(points=_points()))
    assert ('point_cloud_check.py', 'check_point_cloud',
            '_local_scalar_dense') in record_host_reads.sites


def test_data_preprocessor_is_the_value_check():
    preprocessor = PointCloudDataPreprocessor(num_channels=None)
    clouds = [torch.rand(16, 6) for _ in range(3)]
    out = preprocessor(dict(inputs=dict(points=clouds)))
    assert out['inputs']['points'].shape == (3, 16, 6)
    clouds[2][4, 5] = float('inf')
    with pytest.raises(
            ValueError,
            match=r'points contains NaN or infinite '
            r'values \(batch items \[2\]\)'):
        preprocessor(dict(inputs=dict(points=clouds)))
    with pytest.raises(ValueError, match=r'C >= 3, got \[3, 16, 2\]'):
        PointCloudDataPreprocessor(num_channels=2)(
            dict(inputs=dict(points=torch.rand(3, 16, 3))))


@pytest.mark.parametrize('points, kwargs, match', [
    ([[0.0, 0.0, 0.0]], {}, 'ref must be a Tensor of shape'),
    (torch.zeros(4, 3), {}, r'ref must have shape \[B, N, 3\], got \[4, 3\]'),
    (torch.zeros(2, 4, 6), {}, r'\[B, N, 3\], got \[2, 4, 6\]'),
    (torch.zeros(2, 4, 2), dict(channels=None), r'C >= 3, got \[2, 4, 2\]'),
    (torch.zeros(2, 4, 3, dtype=torch.int32), {}, 'ref must be a floating'),
    (torch.tensor([[[0., 0, 0]], [[0, float('nan'), 0]], [[
        float('inf'), 0, 0
    ]]]), {}, r'ref contains NaN or infinite values \(batch items \[1, 2\]\)'),
])
def test_point_cloud_check_messages(points, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_point_cloud(points, 'ref', **kwargs)


def test_point_cloud_check_values_are_optional():
    bad = torch.zeros(2, 5, 3)
    bad[0, 1, 1] = float('nan')
    assert check_point_cloud(bad, check_values=False) is bad
    extra = torch.zeros(1, 5, 7)
    assert check_point_cloud(extra, channels=None) is extra
    # the operators skip the value check on request, not the shape check
    assert furthest_point_sample(bad, 2, check_values=False).shape == (2, 2)
    with pytest.raises(ValueError, match='points must have shape'):
        furthest_point_sample(bad[0], 2, check_values=False)
    with pytest.raises(ValueError, match='query.*NaN'):
        knn(2, torch.zeros(2, 5, 3), bad)


def test_select_rows_equals_boolean_indexing():
    torch.manual_seed(0)
    mask = torch.rand(3, 7) < 0.4
    x = torch.randn(3, 7, 2, 4, requires_grad=True)
    y = x.detach().clone().requires_grad_(True)
    got = select_rows(x, mask, int(mask.sum()))
    expected = y[mask]
    assert torch.equal(got, expected)
    weight = torch.randn_like(expected)
    (got * weight).sum().backward()
    (expected * weight).sum().backward()
    assert torch.equal(x.grad, y.grad)
    assert select_rows(x, mask, 0).shape == (0, 2, 4)
    with pytest.raises(ValueError, match=r'count must be in \[0, 21\]'):
        select_rows(x, mask, 22)
    with pytest.raises(ValueError, match='mask must be a'):
        select_rows(x, mask[:2], 1)


def test_counts_feed_the_packing():
    masks = [
        torch.tensor([[True, False, False], [True, True, False]]),
        torch.tensor([[False, True], [True, True]])
    ]
    assert count_visible(masks) == [[2, 1], [1, 0]]
    token_idx, valid = pack_visible(~masks[0], [2, 1])
    expected = pack_visible(~masks[0])
    assert torch.equal(token_idx, expected[0])
    assert torch.equal(valid, expected[1])
    with pytest.raises(ValueError, match=r'one entry per sample \(B=2\)'):
        pack_visible(~masks[0], [2])


def test_encoder_rejects_counts_of_other_scales():
    model = MODELS.build(tiny_cfg(with_teacher=False))
    scales = model.tokenizer(_points())
    masks = model.mask_generator(scales)
    with pytest.raises(
            ValueError,
            match=r'num_visible must have one entry '
            r'per scale \(3 masks\), got 2'):
        model.backbone(scales, masks, count_visible(masks)[:2])


def test_head_counts_itself_or_takes_the_count():
    torch.manual_seed(0)
    head = I2PMAEPretrainHead(in_channels=8, group_size=4, feat_dim_2d=5)
    feats = torch.randn(2, 6, 8)
    mask = torch.tensor([[True, False, True, True, False, True]] * 2)
    neigh = torch.randn(2, 6, 4, 3)
    targets = torch.randn(4, 4, 15)
    given = head.loss(feats, mask, neigh, targets, num_visible=4)
    counted = head.loss(feats, mask, neigh, targets)
    assert all(torch.equal(given[k], counted[k]) for k in counted)


def test_projector_unchecked_path_is_safe_and_identical():
    torch.manual_seed(0)
    projector = MultiViewDepthProjector(image_size=32, splat_size=3)
    clouds = torch.rand(2, 40, 3)
    checked = projector(clouds)
    unchecked = projector(clouds, check_values=False)
    assert torch.equal(checked[0], unchecked[0])
    # a segment along z: no extent in the (x, y) view of cloud 1
    clouds[1, :, :2] = 0.3
    with pytest.raises(ValueError, match='degenerate cloud'):
        projector(clouds)
    images, meta = projector(clouds, check_values=False)
    assert torch.isfinite(images).all()
    assert meta.grid_size[0, 1] == 1
    maps = torch.randn(6, 2, 4, 4)
    values = projector.back_project(maps, clouds, meta, check_values=False)
    assert torch.isfinite(values).all()


def test_guided_mask_is_the_multinomial_draw():
    generator = GuidedMaskGenerator(mask_ratio=0.6)
    centers = torch.zeros(4, 20, 3)
    scale = TokenScale(centers, None, None, None)
    saliency = torch.randn(4, 20)
    torch.manual_seed(3)
    mask = generator.sample_top_mask([scale], saliency)
    torch.manual_seed(3)
    order = torch.multinomial(torch.softmax(saliency, 1), 20, False)
    expected = torch.ones(4, 20, dtype=torch.bool)
    expected.scatter_(1, order[:, :8], False)
    assert torch.equal(mask, expected)


def test_forward_pretrain_checks_raw_points():
    model = MODELS.build(tiny_cfg(with_teacher=False))
    points = _points()
    points[1, 3, 0] = float('nan')
    with pytest.raises(ValueError, match=r'NaN or infinite.*\[1\]'):
        model.forward_pretrain(points)


def _benchmark_mode():
    sys.path.insert(0, osp.join(REPO, 'tools'))
    try:
        from benchmark_modes import pretrain
    finally:
        sys.path.pop(0)
    return pretrain


def test_benchmark_sync_count_is_cuda_only():
    pretrain = _benchmark_mode()
    model = MODELS.build(tiny_cfg(with_teacher=False))
    optimizer = torch.optim.AdamW(model.parameters())
    line = pretrain.host_syncs_line(model, optimizer, _points())
    assert line == 'host syncs/step: not measured (CUDA only)'


@pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason='synchronisations are counted by CUDA sync debug mode')
@pytest.mark.parametrize('with_teacher', [True, False])
def test_cuda_step_synchronises_only_where_documented(with_teacher):
    pretrain = _benchmark_mode()
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(with_teacher=with_teacher)).cuda().train()
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad])
    points = _points(b=4).cuda()
    pretrain.count_host_syncs(model, optimizer, points)  # warm-up
    # at most: the preprocessor's check, the visible counts and the kNN
    # tie check of each of the 3 tokenizer scales
    assert pretrain.count_host_syncs(model, optimizer, points) <= 5

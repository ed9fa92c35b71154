"""Point operators: torch path vs loop references, dispatch, bad input."""
import argparse
import importlib
import os.path as osp
import types

import pytest
import torch

from projects.I2PMAE.i2pmae.ops import (_dispatch, furthest_point_sample,
                                        gather_points, knn, three_interpolate,
                                        three_nn, three_nn_interpolate)

# the package exports the function ``knn``, which hides the module's name
knn_module = importlib.import_module('projects.I2PMAE.i2pmae.ops.knn')
fps_module = importlib.import_module(
    'projects.I2PMAE.i2pmae.ops.furthest_point_sample')
fps_cpu = importlib.import_module(
    'projects.I2PMAE.i2pmae.ops.furthest_point_sample_cpu')

# -------------- loop references (plain Python floats, i.e. float64 arithmetic)


def sqdist(a, b):
    """Squared distance of two xyz lists, same summation order as the ops."""
    dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
    return dx * dx + dy * dy + dz * dz


def fps_reference(points, num_samples):
    """Textbook FPS on one cloud given as a list of xyz lists."""
    chosen = [0]
    min_dist = [float('inf')] * len(points)
    for _ in range(1, num_samples):
        last = points[chosen[-1]]
        best, best_i = -1.0, 0
        for i, p in enumerate(points):
            min_dist[i] = min(min_dist[i], sqdist(p, last))
            if min_dist[i] > best:  # strict: the lowest index wins ties
                best, best_i = min_dist[i], i
        chosen.append(best_i)
    return chosen


def knn_reference(ref, query, k):
    """Brute force kNN for one cloud: sort (distance, index) pairs."""
    dists, idxs = [], []
    for q in query:
        pairs = sorted((sqdist(q, r), j) for j, r in enumerate(ref))[:k]
        dists.append([d for d, _ in pairs])
        idxs.append([j for _, j in pairs])
    return dists, idxs


def batched(fn, *tensors, **kwargs):
    """Run a one-cloud reference over the batch of tensors."""
    return [
        fn(*[t[b].tolist() for t in tensors], **kwargs)
        for b in range(tensors[0].shape[0])
    ]


def interpolate_reference(query, ref, features, eps=1e-8):
    """PointNet++ feature propagation for one cloud, by loops."""
    k = min(3, len(ref))
    dists, idxs = knn_reference(ref, query, k)
    out = []
    for d, ii in zip(dists, idxs):
        recip = [1.0 / (x + eps) for x in d]
        total = sum(recip)
        row = [0.0] * len(features[0])
        for r, j in zip(recip, ii):
            for c in range(len(row)):
                row[c] += r / total * features[j][c]
        out.append(row)
    return out


def random_cloud(batch, num, dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, num, 3, generator=gen, dtype=dtype)


def with_duplicates(points, seed=1):
    """Copy random points over others so that exact ties exist."""
    gen = torch.Generator().manual_seed(seed)
    points = points.clone()
    num = points.shape[1]
    src = torch.randint(0, num, (num // 4, ), generator=gen)
    dst = torch.randint(0, num, (num // 4, ), generator=gen)
    points[:, dst] = points[:, src]
    return points


# ----------------------------------------------------- furthest point sampling
@pytest.mark.parametrize('num, num_samples', [(1, 1), (5, 5), (37, 1),
                                              (37, 12), (37, 37)])
def test_fps_matches_reference_small(num, num_samples):
    points = random_cloud(3, num, seed=num)
    idx = furthest_point_sample(points, num_samples)
    assert idx.shape == (3, num_samples) and idx.dtype == torch.long
    assert idx.tolist() == batched(
        fps_reference, points, num_samples=num_samples)


def test_fps_matches_reference_997_points_with_duplicates():
    points = with_duplicates(random_cloud(2, 997, seed=3))
    idx = furthest_point_sample(points, 64)
    assert idx.tolist() == batched(fps_reference, points, num_samples=64)
    # distinct points are chosen while distinct points remain
    assert all(len(set(row)) == 64 for row in idx.tolist())


def test_fps_ties_go_to_lowest_index():
    # a square: after corner 0, corners 1 and 3 are equally far from it
    # but corner 2 is further; then 1 and 3 tie and 1 must win
    points = torch.tensor([[[0., 0., 0.], [1., 0., 0.], [1., 1., 0.],
                            [0., 1., 0.]]])
    assert furthest_point_sample(points, 4).tolist() == [[0, 2, 1, 3]]
    # all points identical: every distance is 0, argmax picks index 0
    same = torch.ones(2, 6, 3)
    assert furthest_point_sample(same, 3).tolist() == [[0, 0, 0]] * 2


def test_fps_float32_matches_float32_loop():
    points = random_cloud(4, 301, dtype=torch.float32, seed=5)
    idx = furthest_point_sample(points, 50)
    for b in range(4):
        p = points[b]
        chosen = [0]
        min_dist = torch.full((301, ), float('inf'))
        for _ in range(1, 50):
            d = ((p - p[chosen[-1]])**2).sum(-1)
            min_dist = torch.minimum(min_dist, d)
            chosen.append(int(min_dist.argmax()))
        assert idx[b].tolist() == chosen


def test_fps_ignores_autograd():
    points = random_cloud(2, 20).requires_grad_()
    idx = furthest_point_sample(points, 5)
    assert not idx.requires_grad


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_fps_compiled_cpu_kernel_equals_torch_loop(dtype):
    # the compiled kernel (the CPU default) and the torch loop return the
    # same indices: 24 seeds, sizes from 1 to 2048 points, duplicated points
    # and coordinates on a coarse grid (exact distance ties)
    sizes = [(1, 1), (7, 7), (64, 16), (300, 97), (2048, 512), (2048, 1200)]
    for seed in range(24):
        num, num_samples = sizes[seed % len(sizes)]
        points = random_cloud(3, num, dtype=dtype, seed=seed)
        if seed % 3 == 1:
            points = with_duplicates(points)
        elif seed % 3 == 2:
            points = (points * 4).round() / 4
        assert fps_cpu.use_compiled_kernel(points)
        compiled = furthest_point_sample(points, num_samples)
        loop = fps_module._furthest_point_sample_torch(points, num_samples)
        assert torch.equal(compiled, loop), (seed, num, num_samples)


def test_fps_cpu_backend_choice(monkeypatch):
    points = random_cloud(2, 50, dtype=torch.float32, seed=1)
    assert fps_cpu.use_compiled_kernel(points)
    # half precision has no numpy dtype: the torch loop takes it
    assert not fps_cpu.use_compiled_kernel(points.bfloat16())
    expected = furthest_point_sample(points, 10)
    monkeypatch.setattr(fps_cpu, 'CPU_BACKEND', 'numba')
    fps_cpu.set_cpu_backend('torch')
    assert not fps_cpu.use_compiled_kernel(points)
    assert torch.equal(furthest_point_sample(points, 10), expected)
    with pytest.raises(ValueError, match="'numba' or 'torch', got 'cuda'"):
        fps_cpu.set_cpu_backend('cuda')


# ------------------------------------------------------------------------- kNN
@pytest.mark.parametrize('k', [1, 7, 997])
@pytest.mark.parametrize('duplicates', [False, True])
def test_knn_matches_brute_force(k, duplicates):
    ref = random_cloud(2, 997, seed=11)
    if duplicates:
        ref = with_duplicates(ref)
    # queries: some reference points (so the query finds itself) + others
    query = torch.cat([ref[:, 100:120], random_cloud(2, 13, seed=12)], 1)
    dist2, idx = knn(k, ref, query)
    assert dist2.shape == idx.shape == (2, 33, k)
    assert idx.dtype == torch.long and dist2.dtype == ref.dtype
    ref_d, ref_i = zip(*batched(knn_reference, ref, query, k=k))
    assert idx.tolist() == list(ref_i) and dist2.tolist() == list(ref_d)
    # a query that is a reference point is its own first neighbour
    assert torch.all(dist2[:, :20, 0] == 0)
    if not duplicates:
        assert idx[:, :20, 0].tolist() == [list(range(100, 120))] * 2


def test_knn_ties_lower_index_first():
    # ref: 0 and 2 duplicate, 1 further away; 3 equals 0 as well
    ref = torch.tensor([[[1., 0., 0.], [5., 0., 0.], [1., 0., 0.],
                         [1., 0., 0.], [-1., 0., 0.]]])
    query = torch.zeros(1, 1, 3)
    dist2, idx = knn(2, ref, query)
    assert idx.tolist() == [[[0, 2]]]
    dist2, idx = knn(4, ref, query)
    assert idx.tolist() == [[[0, 2, 3, 4]]]
    assert dist2.tolist() == [[[1., 1., 1., 1.]]]


def test_knn_float32_sorted_and_chunked(monkeypatch):
    ref = with_duplicates(random_cloud(3, 500, dtype=torch.float32, seed=2))
    query = random_cloud(3, 77, dtype=torch.float32, seed=4)
    dist2, idx = knn(16, ref, query)
    assert torch.all(dist2[..., 1:] >= dist2[..., :-1])
    # same answer as a stable full sort of the naive distance formula
    full = ((query[:, :, None] - ref[:, None])**2).sum(-1)
    expected_d, expected_i = full.sort(dim=-1, stable=True)
    assert torch.equal(idx, expected_i[..., :16])
    assert torch.equal(dist2, expected_d[..., :16])
    # tiny chunks over the queries give the same result
    monkeypatch.setattr(knn_module, '_MAX_CHUNK_ELEMENTS', 3 * 500 * 5)
    dist2_c, idx_c = knn(16, ref, query)
    assert torch.equal(idx_c, idx) and torch.equal(dist2_c, dist2)


def test_knn_distances_are_differentiable():
    ref = random_cloud(1, 30).requires_grad_()
    query = random_cloud(1, 4, seed=9).requires_grad_()
    dist2, idx = knn(3, ref, query)
    dist2.sum().backward()
    expected = 2 * (query[:, :, None] - ref[0, idx[0]][None]).sum(2)
    assert torch.allclose(query.grad, expected.detach())


# --------------------------------------------- gather, three_nn, interpolation
@pytest.mark.parametrize('idx_shape', [(2, 9), (2, 9, 4), (2, 3, 2, 5)])
def test_gather_points_matches_loop(idx_shape):
    points = torch.randn(2, 31, 6, requires_grad=True)
    idx = torch.randint(0, 31, idx_shape)
    out = gather_points(points, idx)
    assert out.shape == (*idx_shape, 6)
    flat = idx.reshape(2, -1)
    for b in range(2):
        for i, j in enumerate(flat[b].tolist()):
            assert torch.equal(out[b].reshape(-1, 6)[i], points[b, j])
    out.sum().backward()
    counts = torch.stack(
        [torch.bincount(flat[b], minlength=31) for b in range(2)])
    assert torch.equal(points.grad, counts[...,
                                           None].float().expand(-1, -1, 6))


def test_gather_points_keeps_integer_features():
    labels = torch.arange(20).reshape(2, 10, 1)
    idx = torch.tensor([[9, 0], [1, 1]], dtype=torch.int32)
    assert gather_points(labels, idx).tolist() == [[[9], [0]], [[11], [11]]]


def test_three_nn_matches_brute_force():
    ref = with_duplicates(random_cloud(2, 41, seed=21))
    query = random_cloud(2, 997, seed=22)
    dist2, idx = three_nn(query, ref)
    assert dist2.shape == idx.shape == (2, 997, 3)
    ref_d, ref_i = zip(*batched(knn_reference, ref, query, k=3))
    assert idx.tolist() == list(ref_i) and dist2.tolist() == list(ref_d)


def test_three_interpolate_matches_loop():
    features = torch.randn(2, 8, 5, dtype=torch.float64)
    idx = torch.randint(0, 8, (2, 11, 3))
    weight = torch.rand(2, 11, 3, dtype=torch.float64)
    out = three_interpolate(features, idx, weight)
    assert out.shape == (2, 11, 5)
    for b in range(2):
        for n in range(11):
            expected = sum(weight[b, n, j] * features[b, idx[b, n, j]]
                           for j in range(3))
            assert torch.allclose(out[b, n], expected)


@pytest.mark.parametrize('num_ref', [1, 2, 3, 40])
def test_three_nn_interpolate_matches_loop(num_ref):
    ref = random_cloud(2, num_ref, seed=num_ref)
    query = torch.cat([ref, random_cloud(2, 57, seed=99)], dim=1)
    features = torch.randn(
        2, num_ref, 4, dtype=torch.float64, requires_grad=True)
    out = three_nn_interpolate(query, ref, features)
    assert out.shape == (2, num_ref + 57, 4)
    expected = batched(interpolate_reference, query, ref, features.detach())
    assert torch.allclose(out, torch.tensor(expected, dtype=torch.float64))
    # at a reference point the interpolation returns (almost) its feature
    assert torch.allclose(out[:, :num_ref], features, atol=1e-6)
    out.sum().backward()
    assert features.grad is not None and torch.isfinite(features.grad).all()


# -------------------------------------------- dispatch to mmcv on CUDA tensors
def fake_mmcv_ops(calls):
    """CPU stand-ins with mmcv 2.1.0's signatures and layouts; the kNN lists
    neighbours farthest-first, the higher index first among equal distances
    (for the wrapper's reordering and tie fixing)."""

    def fps(points_xyz, num_points):
        calls.append('furthest_point_sample')
        assert points_xyz.dtype == torch.float32
        assert points_xyz.is_contiguous()
        out = [fps_reference(p, num_points) for p in points_xyz.tolist()]
        return torch.tensor(out, dtype=torch.int32)

    def knn_fn(k, xyz, center_xyz=None, transposed=False):
        calls.append('knn')
        assert not transposed and xyz.shape[-1] == 3
        out = []
        for ref, query in zip(xyz.tolist(), center_xyz.tolist()):
            rows = []
            for q in query:
                pairs = sorted((sqdist(q, r), -j) for j, r in enumerate(ref))
                rows.append([-j for _, j in pairs[:k]][::-1])
            out.append(rows)
        return torch.tensor(out, dtype=torch.int32).transpose(1, 2)

    def gather(features, indices):
        calls.append('gather_points')
        assert indices.dtype == torch.int32 and indices.dim() == 2
        batch, channels, _ = features.shape
        idx = indices.long()[:, None].expand(-1, channels, -1)
        return features.gather(2, idx)

    def three_nn_fn(target, source):
        calls.append('three_nn')
        dists, idxs = zip(*[
            knn_reference(s, t, 3)
            for t, s in zip(target.tolist(), source.tolist())
        ])
        return (torch.tensor(dists, dtype=target.dtype).sqrt(),
                torch.tensor(idxs, dtype=torch.int32))

    def interpolate(features, indices, weight):
        calls.append('three_interpolate')
        assert indices.dtype == torch.int32
        batch, channels, _ = features.shape
        out = 0
        for j in range(3):
            idx = indices[..., j].long()[:, None].expand(-1, channels, -1)
            out = out + features.gather(2, idx) * weight[:, None, :, j]
        return out

    return {
        'furthest_point_sample': fps,
        'knn': knn_fn,
        'gather_points': gather,
        'three_nn': three_nn_fn,
        'three_interpolate': interpolate
    }


@pytest.fixture
def mmcv_calls(monkeypatch):
    """Installs :func:`fake_mmcv_ops`; returns the names of the ops called."""
    calls = []
    for name, fn in fake_mmcv_ops(calls).items():
        monkeypatch.setitem(_dispatch.MMCV_OPS, name, fn)
    return calls


def run_all_ops(points, query, features):
    out = {}
    out['fps'] = furthest_point_sample(points, 13)
    out['knn'] = knn(5, points, query)
    out['knn_all'] = knn(points.shape[1], points, query)
    out['gather'] = gather_points(features, torch.randint(0, 40, (2, 7, 3)))
    out['three_nn'] = three_nn(query, points)
    idx, weight = torch.randint(0, 40, (2, 9, 3)), torch.rand(2, 9, 3)
    out['interp'] = three_interpolate(features, idx, weight)
    out['fp'] = three_nn_interpolate(query, points, features)
    return out


def assert_same(a, b):
    """Same shapes, dtypes and (on the CPU) values, tuples element-wise."""
    if isinstance(a, tuple):
        for x, y in zip(a, b):
            assert_same(x, y)
        return
    assert a.shape == b.shape and a.dtype == b.dtype
    assert torch.allclose(a.cpu(), b, atol=1e-6)


def test_use_mmcv_kernels_predicate():
    cuda_like = types.SimpleNamespace(is_cuda=True)
    cpu_like = types.SimpleNamespace(is_cuda=False)
    assert _dispatch.use_mmcv_kernels(cuda_like, cuda_like)
    assert not _dispatch.use_mmcv_kernels(cuda_like, cpu_like)
    assert not _dispatch.use_mmcv_kernels(torch.zeros(1))
    with pytest.raises(ValueError, match='name'):
        _dispatch.mmcv_op('ball_query')


def test_cpu_tensors_never_call_mmcv(mmcv_calls):
    points = with_duplicates(random_cloud(2, 40, torch.float32))
    run_all_ops(points, random_cloud(2, 9, torch.float32, seed=3),
                torch.randn(2, 40, 6))
    assert mmcv_calls == []


def test_cuda_tensors_dispatch_to_mmcv_with_same_results(
        mmcv_calls, monkeypatch):
    points = with_duplicates(random_cloud(2, 40, torch.float32))
    # queries on reference points make exact ties at the k-th place
    query = torch.cat(
        [points[:, :4], random_cloud(2, 5, torch.float32, 3)], dim=1)
    features = torch.randn(2, 40, 6)
    torch.manual_seed(0)
    expected = run_all_ops(points, query, features)
    monkeypatch.setattr(_dispatch, 'use_mmcv_kernels', lambda *t: True)
    torch.manual_seed(0)
    got = run_all_ops(points, query, features)
    assert set(mmcv_calls) == set(_dispatch.MMCV_OP_NAMES)
    for key in expected:
        assert_same(got[key], expected[key])


def test_cuda_knn_resolves_boundary_ties_like_cpu(mmcv_calls, monkeypatch):
    # ten copies of one point: the 5 nearest must be the 5 lowest copies
    points = random_cloud(2, 40, torch.float32, seed=7)
    points[:, 10:20] = points[:, 3:4]
    query = points[:, 3:4] + 0.01
    expected = knn(5, points, query)
    assert expected[1][:, 0].tolist() == [[3, 10, 11, 12, 13]] * 2
    monkeypatch.setattr(_dispatch, 'use_mmcv_kernels', lambda *t: True)
    got = knn(5, points, query)
    assert mmcv_calls[0] == 'knn'
    assert_same(got, expected)


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_matches_cpu():
    points = with_duplicates(random_cloud(2, 997, torch.float32))
    query = torch.cat(
        [points[:, :50], random_cloud(2, 80, torch.float32, 3)], dim=1)
    features = torch.randn(2, 997, 6)
    torch.manual_seed(0)
    expected = run_all_ops(points, query, features)
    torch.manual_seed(0)
    got = run_all_ops(points.cuda(), query.cuda(), features.cuda())
    for key in expected:
        assert_same(got[key], expected[key])


# ------------------------------------------------------------------- bad input
GOOD = torch.zeros(2, 10, 3)
LONG_IDX = torch.zeros(2, 4, 3).long()
WEIGHT = torch.zeros(2, 4, 3)
NAN_CLOUD, INF_CLOUD = torch.zeros(2, 10, 3), torch.zeros(2, 10, 3)
NAN_CLOUD[1, 4, 2] = float('nan')
INF_CLOUD[0, 0, 0] = float('inf')

BAD_CALLS = {
    'fps rank':
    (lambda: furthest_point_sample(torch.zeros(10, 3), 2), 'points'),
    'fps last dim':
    (lambda: furthest_point_sample(GOOD[..., :2], 2), 'points'),
    'fps list': (lambda: furthest_point_sample([[0., 0., 0.]], 1), 'points'),
    'fps ints': (lambda: furthest_point_sample(GOOD.long(), 2), 'points'),
    'fps too many': (lambda: furthest_point_sample(GOOD, 11), 'num_samples'),
    'fps zero': (lambda: furthest_point_sample(GOOD, 0), 'num_samples'),
    'fps float': (lambda: furthest_point_sample(GOOD, 2.0), 'num_samples'),
    'fps nan': (lambda: furthest_point_sample(NAN_CLOUD, 2), 'points.*finite'),
    'fps inf': (lambda: furthest_point_sample(INF_CLOUD, 2), 'points.*finite'),
    'knn k > N': (lambda: knn(11, GOOD, GOOD), 'k must be in'),
    'knn k = 0': (lambda: knn(0, GOOD, GOOD), 'k must be in'),
    'knn batch': (lambda: knn(3, GOOD, torch.zeros(3, 4, 3)), 'same batch'),
    'knn rank': (lambda: knn(3, GOOD, torch.zeros(2, 4)), 'query'),
    'knn nan': (lambda: knn(3, NAN_CLOUD, GOOD), 'ref.*finite'),
    'knn dtypes': (lambda: knn(3, GOOD, GOOD.double()), 'dtype'),
    'gather high': (lambda: gather_points(GOOD, torch.tensor([[0, 10]] * 2)),
                    'idx'),
    'gather low': (lambda: gather_points(GOOD, torch.tensor([[-1, 0]] * 2)),
                   'idx'),
    'gather float idx': (lambda: gather_points(GOOD, torch.zeros(2, 3)),
                         'idx.*integer'),
    'gather batch': (lambda: gather_points(GOOD, LONG_IDX[:1]), 'same batch'),
    'gather rank': (lambda: gather_points(GOOD[0], LONG_IDX), 'points'),
    'three_nn S < 3': (lambda: three_nn(GOOD, GOOD[:, :2]), 'S >= 3'),
    'three_nn inf': (lambda: three_nn(GOOD, INF_CLOUD), 'ref.*finite'),
    'interp idx shape':
    (lambda: three_interpolate(GOOD, LONG_IDX[..., :2], WEIGHT[..., :2]),
     'idx'),
    'interp idx range':
    (lambda: three_interpolate(GOOD, LONG_IDX + 10, WEIGHT), 'idx'),
    'interp weight': (lambda: three_interpolate(GOOD, LONG_IDX, WEIGHT[:, :3]),
                      'weight'),
    'fp features': (lambda: three_nn_interpolate(GOOD, GOOD, GOOD[:, :9]),
                    'features'),
    'fp batch': (lambda: three_nn_interpolate(GOOD, GOOD, GOOD[:1]),
                 'same batch'),
    'fp eps': (lambda: three_nn_interpolate(GOOD, GOOD, GOOD, eps=0), 'eps'),
}


@pytest.mark.parametrize('call, match', BAD_CALLS.values(), ids=BAD_CALLS)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_ops_benchmark_mode_runs_and_agrees(capsys, monkeypatch):
    tools_dir = osp.join(
        osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools')
    monkeypatch.syspath_prepend(tools_dir)
    ops_mode = importlib.import_module('benchmark_modes.ops')
    parser = argparse.ArgumentParser()
    ops_mode.add_arguments(parser)
    ops_mode.run(
        parser.parse_args([
            '--batch-size', '2', '--num-points', '97', '--num-samples', '16',
            '--k', '5', '--repeats', '1'
        ]))
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith(('FPS', 'kNN'))]
    assert len(rows) == 2
    assert all(row.split()[-1] == 'yes' for row in rows)
    with pytest.raises(ValueError, match='--k'):
        ops_mode.run(parser.parse_args(['--num-points', '4', '--k', '5']))

"""Tests of the multi-view depth projector and its back-projection.

The bicubic sampling itself is tested in test_feature_back_projection.py.
"""
import pytest
import torch
import torch.nn.functional as F
from reference_implementations import back_project_reference

from projects.I2PMAE.i2pmae.models.multiview_depth_projector import (
    MultiViewDepthProjector, ProjectionMeta)

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406])
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225])


def relative_error(actual, expected):
    """Max absolute error and that error relative to max |expected|."""
    err = (actual.double() - expected.double()).abs().max().item()
    return err, err / max(expected.abs().max().item(), 1e-12)


def random_clouds(batch=3, num_points=257, seed=0):
    """Clouds of different extents, centres and aspect ratios."""
    gen = torch.Generator().manual_seed(seed)
    scale = torch.rand(batch, 1, 3, generator=gen) * 1.5 + 0.2
    shift = torch.randn(batch, 1, 3, generator=gen)
    return torch.randn(batch, num_points, 3, generator=gen) * scale + shift


def naive_depth_image(cloud, size=224, splat=5):
    """One cloud, one view, every splat pixel listed explicitly."""
    xy, depth = cloud[:, :2], cloud[:, 2]
    lower = cloud.min(dim=0).values
    extent = cloud.max(dim=0).values - lower
    grid = extent[:2].max() / (size - 3)
    cell = torch.floor((xy - lower[:2]) / grid)
    half = splat // 2
    steps = [(dr, dc) for dr in range(-half, splat - half)
             for dc in range(-half, splat - half)]
    offsets = torch.tensor(steps, dtype=cell.dtype)
    dense = (cell[:, None, :] + offsets[None] + 1).reshape(-1, 2)
    centre = torch.floor(
        (dense.max(dim=0).values + dense.min(dim=0).values) / 2)
    dense = dense + (size / 2 - centre - 1)
    dense = dense + (dense < 0).to(dense.dtype)
    dense = dense - (dense > size - 1).to(dense.dtype)
    assert dense.min() >= 0 and dense.max() <= size - 1
    image = torch.zeros(size * size, dtype=cloud.dtype)
    flat = (dense[:, 0] * size + dense[:, 1]).long()
    image.index_put_((flat, ),
                     depth.repeat_interleave(len(steps)),
                     accumulate=True)
    image = torch.sigmoid(image.view(1, size, size)).expand(3, -1, -1)
    return (image - IMAGENET_MEAN.view(3, 1, 1)) / IMAGENET_STD.view(3, 1, 1)


def pixel_grid_meta(batch, size=224, num_views=3):
    """A meta mapping the point (r + .5, c + .5, *) onto pixel (r, c)."""
    return ProjectionMeta(
        xy_min=torch.zeros(num_views, batch, 2),
        grid_size=torch.ones(num_views, batch),
        pixel_offset=-torch.ones(num_views, batch, 2, dtype=torch.long),
        image_size=size)


def pixel_points(rows, cols):
    """Points whose view-1 pixel under :func:`pixel_grid_meta` is given."""
    return torch.stack(
        [rows.float() + 0.5,
         cols.float() + 0.5,
         torch.zeros(rows.shape)], -1)


def test_view_images_match_official_fixture(parity_fixture):
    records = parity_fixture['records']
    projector = MultiViewDepthProjector()
    images, meta = projector(parity_fixture['points'])
    expected = torch.cat(records['view_images'], dim=0)
    assert images.shape == expected.shape == (6, 3, 224, 224)
    abs_err, rel_err = relative_error(images, expected)
    print(f'view_images: max abs {abs_err:.3e}, rel {rel_err:.3e}')
    assert rel_err <= 1e-4
    assert meta.grid_size.shape == (3, 2)
    assert meta.xy_min.shape == meta.pixel_offset.shape == (3, 2, 2)


def test_spatial_saliency_matches_official_fixture(parity_fixture):
    records = parity_fixture['records']
    projector = MultiViewDepthProjector()
    _, meta = projector(parity_fixture['points'])
    saliency = records['img_attn_cls'][:, 0, 1:].reshape(-1, 1, 14, 14)
    per_view = projector.back_project(saliency, records['centers'][-1], meta)
    assert per_view.shape == (3, 2, 64, 1)
    spatial = per_view.mean(dim=0)[..., 0]
    abs_err, rel_err = relative_error(spatial, records['spatial_sals'])
    print(f'spatial_sals: max abs {abs_err:.3e}, rel {rel_err:.3e}')
    assert rel_err <= 1e-4


@pytest.mark.parametrize('splat', [5, 4, 3])
def test_projection_matches_naive_rendering(splat):
    clouds = random_clouds(batch=3, num_points=300)
    images, _ = MultiViewDepthProjector(splat_size=splat)(clouds)
    for v, axes in enumerate([(0, 1, 2), (2, 0, 1), (1, 2, 0)]):
        for b in range(3):
            expected = naive_depth_image(clouds[b][:, list(axes)], splat=splat)
            assert torch.allclose(
                images[v * 3 + b], expected, rtol=0, atol=1e-6)


def test_views_are_stacked_view_major_in_official_axis_orders():
    clouds = random_clouds(batch=2, num_points=200, seed=3)
    images, meta = MultiViewDepthProjector()(clouds)
    single = MultiViewDepthProjector(view_axes=((0, 1, 2), ))
    for v, order in enumerate(([0, 1, 2], [2, 0, 1], [1, 2, 0])):
        view_images, view_meta = single(clouds[..., order])
        assert torch.equal(images[2 * v:2 * v + 2], view_images)
        assert torch.equal(meta.grid_size[v], view_meta.grid_size[0])
        assert torch.equal(meta.pixel_offset[v], view_meta.pixel_offset[0])


def test_empty_pixels_are_sigmoid_half_and_object_is_centred():
    clouds = random_clouds(batch=1, num_points=100, seed=5)
    images, _ = MultiViewDepthProjector()(clouds)
    background = (0.5 - IMAGENET_MEAN) / IMAGENET_STD
    corner = images[:, :, 0, 0]
    assert torch.allclose(corner, background.expand_as(corner))
    occupied = (images[:, 0] != background[0]).nonzero()
    for v in range(3):
        pix = occupied[occupied[:, 0] == v][:, 1:].float()
        middle = (pix.max(0).values + pix.min(0).values) / 2
        assert (middle - 111.5).abs().max() <= 1.0


def test_custom_image_size_splat_and_normalisation():
    clouds = random_clouds(batch=2, num_points=64, seed=7)
    projector = MultiViewDepthProjector(
        image_size=96, splat_size=3, mean=(0.5, ), std=(0.5, ))
    images, meta = projector(clouds)
    assert images.shape == (6, 1, 96, 96)
    assert meta.image_size == 96
    assert images.min() >= -1 and images.max() <= 1


@pytest.mark.parametrize('map_size', [(14, 14), (7, 7), (10, 13), (16, 9),
                                      (1, 1)])
def test_back_project_equals_bicubic_upsampling_everywhere(map_size):
    """Every pixel of the image, borders included, for several map sizes."""
    size, batch = 224, 1
    rows, cols = torch.meshgrid(
        torch.arange(size), torch.arange(size), indexing='ij')
    points = pixel_points(rows.flatten(), cols.flatten())[None]
    meta = pixel_grid_meta(batch, size)
    projector = MultiViewDepthProjector()
    maps = torch.randn(3 * batch, 4, *map_size)
    sampled = projector.back_project(maps, points, meta)
    # View 1 reads pixel (x, y): compare with the upsampled map directly.
    full = F.interpolate(
        maps, size=(size, size), mode='bicubic', align_corners=False)
    expected = full[0].flatten(1).t()  # [S * S, C], row-major pixels
    abs_err, rel_err = relative_error(sampled[0, 0], expected)
    assert rel_err < 2e-6, (abs_err, rel_err)
    # All views against the full-resolution reference.
    reference = back_project_reference(projector, maps, points, meta)
    assert torch.allclose(
        sampled, reference, rtol=0, atol=2e-6 * reference.abs().max().item())


def test_back_project_random_pixels_float64_is_exact():
    gen = torch.Generator().manual_seed(1)
    batch, size = 2, 224
    rows = torch.randint(0, size, (batch, 500), generator=gen)
    cols = torch.randint(0, size, (batch, 500), generator=gen)
    rows[:, :4] = torch.tensor([0, 0, size - 1, size - 1])
    cols[:, :4] = torch.tensor([0, size - 1, 0, size - 1])
    points = pixel_points(rows, cols).double()
    meta = pixel_grid_meta(batch, size)
    projector = MultiViewDepthProjector()
    for map_size in [(14, 14), (7, 7), (5, 11)]:
        maps = torch.randn(3 * batch, 3, *map_size, dtype=torch.float64)
        sampled = projector.back_project(maps, points, meta)
        reference = back_project_reference(projector, maps, points, meta)
        assert sampled.dtype == torch.float64
        assert torch.allclose(sampled, reference, rtol=0, atol=1e-12)


def test_back_project_projected_clouds_matches_reference():
    clouds = random_clouds(batch=2, num_points=400, seed=11)
    projector = MultiViewDepthProjector()
    _, meta = projector(clouds)
    maps = torch.randn(6, 8, 14, 14)
    query = clouds[:, ::3]
    sampled = projector.back_project(maps, query, meta)
    reference = back_project_reference(projector, maps, query, meta)
    assert sampled.shape == (3, 2, query.shape[1], 8)
    _, rel_err = relative_error(sampled, reference)
    assert rel_err < 2e-6


def test_back_project_never_upsamples(monkeypatch):

    def forbidden(*args, **kwargs):
        raise AssertionError('back_project must not call F.interpolate')

    # torch.nn.functional itself, whatever name a caller reaches it by
    monkeypatch.setattr(F, 'interpolate', forbidden)
    clouds = random_clouds(batch=1, num_points=50)
    projector = MultiViewDepthProjector()
    _, meta = projector(clouds)
    out = projector.back_project(torch.randn(3, 2, 14, 14), clouds, meta)
    assert out.shape == (3, 1, 50, 2)


def test_back_project_clamps_points_outside_the_image():
    meta = pixel_grid_meta(batch=1)
    projector = MultiViewDepthProjector()
    maps = torch.randn(3, 2, 14, 14)
    outside = torch.tensor([[[-40.0, 5.5, 0.0], [300.0, 500.0, 0.0]]])
    border = torch.tensor([[[0.5, 5.5, 0.0], [223.5, 223.5, 0.0]]])
    assert torch.equal(
        projector.back_project(maps, outside, meta),
        projector.back_project(maps, border, meta))


def clouds_with(index, value):
    """Two random clouds with ``value`` written at ``index`` (x = y = 0.3
    in cloud 1 makes a segment along z: no x/y extent in view 1)."""
    points = random_clouds(batch=2, num_points=20)
    points[index] = value
    return points


@pytest.mark.parametrize('points, match', [
    (torch.zeros(10, 3), r'points must have shape \[B, N, 3\]'),
    (torch.zeros(2, 10, 4), r'points must have shape \[B, N, 3\]'),
    (torch.zeros(2, 0, 3), r'points must have shape \[B, N, 3\]'),
    (torch.zeros(2, 10, 3, dtype=torch.long), 'points must be a floating'),
    ([[0.0, 0.0, 0.0]], 'points must be a Tensor'),
    (clouds_with((1, 3, 2), float('nan')), 'points contains NaN or infinite'),
    (clouds_with((1, 3, 2), float('inf')), 'points contains NaN or infinite'),
    (clouds_with((1, slice(None), slice(2)),
                 0.3), r'points has a degenerate cloud.*\(1, 1\)'),
])
def test_forward_rejects_bad_points(points, match):
    with pytest.raises(ValueError, match=match):
        MultiViewDepthProjector()(points)


def test_back_project_rejects_bad_arguments():
    clouds = random_clouds(batch=2, num_points=30)
    projector = MultiViewDepthProjector()
    _, meta = projector(clouds)
    maps = torch.randn(6, 4, 14, 14)
    with pytest.raises(ValueError, match='maps must be a floating-point'):
        projector.back_project(torch.randn(4, 4, 14, 14), clouds, meta)
    with pytest.raises(ValueError, match='maps must be a floating-point'):
        projector.back_project(torch.randn(6, 14, 14), clouds, meta)
    with pytest.raises(ValueError, match='xyz has batch size 1'):
        projector.back_project(maps, clouds[:1], meta)
    with pytest.raises(ValueError, match='xyz contains NaN'):
        projector.back_project(maps, clouds * float('nan'), meta)
    with pytest.raises(ValueError, match='meta must be the ProjectionMeta'):
        projector.back_project(maps, clouds, meta._asdict())


@pytest.mark.parametrize('kwargs, match', [
    (dict(image_size=4), 'image_size'),
    (dict(splat_size=0), 'splat_size'),
    (dict(mean=(0.5, ), std=(0.5, 0.5)), 'mean and std'),
    (dict(std=(0.2, 0.0, 0.2)), 'std must be positive'),
    (dict(view_axes=((0, 1, 1), )), 'view_axes'),
])
def test_constructor_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiViewDepthProjector(**kwargs)


@pytest.mark.gpu
@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_matches_cpu():
    clouds = random_clouds(batch=2, num_points=500)
    projector = MultiViewDepthProjector()
    images, meta = projector(clouds)
    images_gpu, meta_gpu = projector.cuda()(clouds.cuda())
    assert torch.allclose(images_gpu.cpu(), images, atol=1e-5)
    maps = torch.randn(6, 16, 14, 14)
    sampled = projector.back_project(maps, clouds, meta)
    sampled_gpu = projector.back_project(maps.cuda(), clouds.cuda(), meta_gpu)
    reference_gpu = back_project_reference(projector, maps.cuda(),
                                           clouds.cuda(), meta_gpu)
    assert torch.allclose(sampled_gpu.cpu(), sampled, atol=1e-5)
    assert torch.allclose(sampled_gpu, reference_gpu, atol=1e-5)


def test_back_project_is_differentiable_in_the_maps():
    clouds = random_clouds(batch=1, num_points=40, seed=2)
    projector = MultiViewDepthProjector()
    _, meta = projector(clouds)
    maps = torch.randn(3, 2, 7, 7, dtype=torch.float64, requires_grad=True)
    sampled = projector.back_project(maps, clouds, meta)
    with torch.no_grad():
        assert torch.allclose(sampled,
                              projector.back_project(maps, clouds, meta))
    torch.autograd.gradcheck(
        lambda m: projector.back_project(m, clouds[:, :5].double(), meta),
        (maps, ))

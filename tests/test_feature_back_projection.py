"""Tests of the bicubic sampling behind the image-to-point back-projection."""
import argparse

import pytest
import torch
import torch.nn.functional as F

from projects.I2PMAE.i2pmae.models.feature_back_projection import (
    bicubic_taps, gather_bicubic_upsampled)
from projects.I2PMAE.i2pmae.models.multiview_depth_projector import \
    MultiViewDepthProjector
from tools.benchmark_modes import back_projection as benchmark_mode


def upsample_then_read(maps, pixel, size):
    """The official way: full bicubic upsampling, then a gather."""
    full = F.interpolate(
        maps, size=(size, size), mode='bicubic', align_corners=False)
    flat = (pixel[..., 0] * size + pixel[..., 1]).unsqueeze(1)
    values = torch.gather(
        full.flatten(2), 2, flat.expand(-1, maps.shape[1], -1))
    return values.transpose(1, 2)


def random_pixels(num_maps, num_pixels, size, seed=0):
    """Random ``[N, M, 2]`` pixels with the four corners first."""
    gen = torch.Generator().manual_seed(seed)
    pixel = torch.randint(0, size, (num_maps, num_pixels, 2), generator=gen)
    corners = torch.tensor([[0, 0], [0, size - 1], [size - 1, 0],
                            [size - 1, size - 1]])
    pixel[:, :4] = corners
    return pixel


def test_bicubic_taps_weights_sum_to_one():
    dst = torch.arange(224)
    for in_size in (1, 7, 14, 30):
        index, weights = bicubic_taps(dst, in_size, 224, torch.float64)
        assert index.shape == weights.shape == (224, 4)
        assert index.min() >= 0 and index.max() <= in_size - 1
        assert torch.allclose(
            weights.sum(-1), torch.ones(224, dtype=torch.float64))


@pytest.mark.parametrize('map_size', [(14, 14), (5, 11), (1, 1)])
def test_gather_equals_upsample_then_read(map_size):
    size = 224
    pixel = random_pixels(4, 300, size)
    maps = torch.randn(4, 3, *map_size, dtype=torch.float64)
    sampled = gather_bicubic_upsampled(maps, pixel, size)
    assert sampled.shape == (4, 300, 3) and sampled.dtype == torch.float64
    expected = upsample_then_read(maps, pixel, size)
    assert torch.allclose(sampled, expected, rtol=0, atol=1e-12)
    sampled = gather_bicubic_upsampled(maps.float(), pixel, size)
    expected = upsample_then_read(maps.float(), pixel, size)
    err = (sampled - expected).abs().max() / expected.abs().max()
    assert err < 2e-6


def test_gather_is_the_same_with_and_without_autograd():
    """Recording autograd changes the buffers, not the arithmetic."""
    size = 224
    pixel = random_pixels(3, 200, size, seed=1)
    maps = torch.randn(3, 6, 14, 14, requires_grad=True)
    recorded = gather_bicubic_upsampled(maps, pixel, size)
    assert recorded.requires_grad
    with torch.no_grad():
        plain = gather_bicubic_upsampled(maps, pixel, size)
    assert torch.equal(recorded, plain)
    # the gradient is the one of upsample-then-read
    weights = torch.randn(recorded.shape, dtype=torch.float64)
    maps64 = maps.detach().double().requires_grad_(True)
    (grad, ) = torch.autograd.grad(
        (gather_bicubic_upsampled(maps64, pixel, size) * weights).sum(),
        maps64)
    (expected, ) = torch.autograd.grad(
        (upsample_then_read(maps64, pixel, size) * weights).sum(), maps64)
    assert torch.allclose(grad, expected, rtol=0, atol=1e-12)


def test_grid_sample_is_the_same_function_but_rounds_further_away():
    """Why back-projection does not use ``F.grid_sample``.

    Bicubic ``grid_sample`` (border padding, ``align_corners=False``) at
    each pixel's centre is the function the official upsample-then-read
    computes (float64 agrees to round-off), but in float32 it lands several
    rounding steps further from the official values than the 16-tap
    gather, which stays within about one step.
    """
    gen = torch.Generator().manual_seed(0)
    projector = MultiViewDepthProjector()
    clouds = torch.randn(2, 1000, 3, generator=gen)
    _, meta = projector(clouds)
    maps = torch.randn(6, 8, 14, 14, generator=gen)
    for dtype in (torch.float64, torch.float32):
        args = (projector, maps.to(dtype), clouds.to(dtype), meta)
        official = benchmark_mode.official_back_project(*args)
        grid = benchmark_mode.grid_sample_back_project(*args)
        ours = projector.back_project(*args[1:])
        _, grid_rel, _ = benchmark_mode.difference(grid, official)
        _, ours_rel, _ = benchmark_mode.difference(ours, official)
        if dtype == torch.float64:
            assert grid_rel < 1e-13 and ours_rel < 1e-13
        else:
            assert ours_rel < 3e-7
            assert grid_rel > 2 * ours_rel, (grid_rel, ours_rel)


def test_back_projection_benchmark_mode_runs(capsys, parity_fixture_path):
    parser = argparse.ArgumentParser()
    benchmark_mode.add_arguments(parser)
    benchmark_mode.run(
        parser.parse_args([
            '--batch-size', '1', '--channels', '4', '--num-points', '50',
            '--map-size', '7', '--repeats', '1', '--fixture',
            parity_fixture_path
        ]))
    lines = capsys.readouterr().out.splitlines()
    timing = [ln for ln in lines if ln.startswith('random maps, no_grad')]
    assert len(timing) == 1 and len(timing[0].split()) == 5
    for key in ('random maps, float32', 'random maps, float64',
                '  img_feats at every point', '  saliency at top centres'):
        row = [ln for ln in lines if ln.startswith(key)]
        assert len(row) == 1, (key, lines)
        ours_rel, grid_rel = float(row[0].split()[-5]), float(
            row[0].split()[-2])
        assert 0 <= ours_rel < 1e-5 and 0 <= grid_rel < 1e-5
    assert any('official re-run 0.000e+00' in ln for ln in lines)
    with pytest.raises(ValueError, match='--channels'):
        benchmark_mode.run(parser.parse_args(['--channels', '0']))
    with pytest.raises(ValueError, match='--fixture: file not found'):
        benchmark_mode.run(parser.parse_args(['--fixture', 'missing.pt']))


@pytest.mark.parametrize('maps, pixel, match', [
    (torch.randn(2, 14, 14), torch.zeros(2, 5, 2, dtype=torch.long),
     r'maps must be a floating-point \[N, C, h, w\]'),
    (torch.zeros(2, 3, 14, 14, dtype=torch.long),
     torch.zeros(2, 5, 2, dtype=torch.long), 'maps must be a floating'),
    (torch.randn(2, 3, 14, 14), torch.zeros(
        2, 5, 2), r'pixel must be an integer \[N, M, 2\]'),
    (torch.randn(2, 3, 14, 14), torch.zeros(
        3, 5, 2, dtype=torch.long), r'pixel must be an integer .* N = 2'),
    (torch.randn(2, 3, 14, 14), torch.zeros(
        2, 5, 3, dtype=torch.long), 'pixel must be an integer'),
    (torch.randn(2, 3, 14, 14), [[0, 0]], 'pixel must be an integer'),
])
def test_gather_rejects_bad_arguments(maps, pixel, match):
    with pytest.raises(ValueError, match=match):
        gather_bicubic_upsampled(maps, pixel, 224)

"""Sampling a perturbed shape from a recipe.

:class:`ShapeStyle` holds the perturbations (pose, anisotropic scale,
surface noise, non-uniform density, cut-away slabs);
:func:`generate_shape` composes a recipe, samples it and applies them.
"""
import math
from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

from .primitives import Array, SurfacePart, rotation, unit_vectors
from .recipes import Recipe


@dataclass
class ShapeStyle:
    """How a shape is perturbed while it is sampled.

    Args:
        yaw (float): largest rotation about the up axis (radians).
        tilt (float): largest rotation about the horizontal axes.
        scale (tuple[float, float]): per-axis scale range.
        noise (tuple[float, float]): range of the Gaussian surface noise
            standard deviation (unit-sphere units).
        density (float): largest strength of the non-uniform sampling
            (density grows like ``exp(density * projection)`` along a
            random direction).
        crop_prob (float): probability to cut away a slab of the shape.
        crop_keep (tuple[float, float]): fraction of points kept by a cut.
    """

    yaw: float = math.pi
    tilt: float = 0.2
    scale: Tuple[float, float] = (0.75, 1.3)
    noise: Tuple[float, float] = (0.003, 0.025)
    density: float = 1.5
    crop_prob: float = 0.25
    crop_keep: Tuple[float, float] = (0.65, 0.9)


#: perturbations of the synthetic classification layouts
CLASSIFICATION_STYLE = ShapeStyle()
#: perturbations of the synthetic ShapeNetPart layout (aligned shapes)
PART_STYLE = ShapeStyle(
    yaw=0.3, tilt=0.05, noise=(0.002, 0.01), density=1.0, crop_prob=0.0)

_Z_UP_TO_Y_UP = rotation('x', -math.pi / 2)  # composing -> dataset frame


def sample_parts(parts: Sequence[SurfacePart], num_points: int,
                 rng: np.random.Generator) -> Tuple[Array, Array, Array]:
    """Sample points on a composition, proportionally to area.

    Args:
        parts (Sequence[SurfacePart]): the shape's surfaces.
        num_points (int): number of points.
        rng (np.random.Generator): random generator.

    Returns:
        tuple: points ``[n, 3]``, normals ``[n, 3]``, part labels ``[n]``.
    """
    areas = np.array([p.area for p in parts], dtype=float)
    counts = rng.multinomial(num_points, areas / areas.sum())
    kept = [(part, int(count)) for part, count in zip(parts, counts) if count]
    pts, nrm = zip(*[part.sample(count, rng) for part, count in kept])
    lab = [np.full(count, part.label, dtype=np.int64) for part, count in kept]
    return np.concatenate(pts), np.concatenate(nrm), np.concatenate(lab)


def generate_shape(
        recipe: Recipe,
        num_points: int,
        rng: np.random.Generator,
        style: ShapeStyle = CLASSIFICATION_STYLE
) -> Tuple[Array, Array, Array]:
    """Sample one perturbed shape.

    Steps: compose the recipe, sample twice the points needed, scale each
    axis, rotate (yaw + tilt), optionally cut a slab away, keep
    ``num_points`` with a non-uniform density, convert to y-up, normalise to
    the unit sphere and add surface noise.

    Args:
        recipe (Callable): the shape recipe.
        num_points (int): points of the result.
        rng (np.random.Generator): random generator.
        style (ShapeStyle): perturbations.

    Returns:
        tuple: float32 points ``[n, 3]``, float32 unit normals ``[n, 3]``
        and int64 part labels ``[n]``.
    """
    pts, nrm, lab = sample_parts(recipe(rng), 2 * num_points, rng)
    scale = rng.uniform(*style.scale, 3)
    pts, nrm = pts * scale, unit_vectors(nrm / scale)
    pose = rotation('z', rng.uniform(-style.yaw, style.yaw)) @ rotation(
        'x', rng.uniform(-style.tilt, style.tilt)) @ rotation(
            'y', rng.uniform(-style.tilt, style.tilt))
    pts, nrm = pts @ pose.T, nrm @ pose.T
    pts = pts - pts.mean(axis=0)
    if rng.uniform() < style.crop_prob:
        proj = pts @ unit_vectors(rng.normal(size=3))
        keep = proj <= np.quantile(proj, rng.uniform(*style.crop_keep))
        pts, nrm, lab = pts[keep], nrm[keep], lab[keep]
    proj = pts @ unit_vectors(rng.normal(size=3))
    proj = proj / max(np.abs(proj).max(), 1e-9)
    weight = np.exp(rng.uniform(0, style.density) * proj)
    p = weight / weight.sum()
    idx = rng.choice(len(pts), num_points, replace=len(pts) < num_points, p=p)
    pts, nrm, lab = pts[idx], nrm[idx], lab[idx]
    pts, nrm = pts @ _Z_UP_TO_Y_UP.T, nrm @ _Z_UP_TO_Y_UP.T
    pts = pts - pts.mean(axis=0)
    pts = pts / np.linalg.norm(pts, axis=1).max()
    pts = pts + rng.normal(0, rng.uniform(*style.noise), pts.shape)
    return pts.astype(np.float32), nrm.astype(np.float32), lab

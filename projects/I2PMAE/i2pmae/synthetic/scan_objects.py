"""ScanObjectNN-like samples: one-sided scans with background.

:func:`generate_scan_object` turns a sampled shape into the three
ScanObjectNN variants (OBJ-BG, OBJ-ONLY, PB-T50-RS) with object masks.
"""
import math
from typing import Dict

import numpy as np

from .primitives import Array, rotation, unit_vectors
from .recipes import Recipe
from .sampling import generate_shape


def generate_scan_object(recipe: Recipe, num_points: int,
                         rng: np.random.Generator) -> Dict[str, Array]:
    """One ScanObjectNN-like sample in its three variants.

    The object is seen from one side (points facing away from a random
    viewpoint are dropped, as in a single scan), stands on a floor patch
    with a wall and clutter behind it (background). ``obj_only`` keeps the
    object points only; ``pb_t50_rs`` shifts the object by up to half its
    size inside the original bounding box, rotates and rescales the scene,
    so the box cuts the object and holds more background.

    Args:
        recipe (Callable): the object's recipe.
        num_points (int): points per cloud.
        rng (np.random.Generator): random generator.

    Returns:
        dict[str, np.ndarray]: ``obj_bg``, ``obj_only``, ``pb_t50_rs``
        float32 ``[num_points, 3]`` clouds and ``obj_bg_mask``,
        ``pb_t50_rs_mask`` (1 = object, 0 = background).
    """
    pts, nrm, _ = generate_shape(recipe, 3 * num_points, rng)
    view = np.array([rng.normal(), rng.uniform(0.2, 1.0), rng.normal()])
    view = unit_vectors(view)
    visible = nrm @ view > -0.15
    obj = pts[visible]
    lo, hi = obj.min(axis=0), obj.max(axis=0)
    extent = hi - lo
    centre = (lo + hi) / 2
    n_bg = 2 * num_points
    # floor patch (y-up) around the object, a wall behind it, clutter boxes
    floor = np.column_stack([
        rng.uniform(lo[0] - 0.6 * extent[0], hi[0] + 0.6 * extent[0], n_bg),
        np.full(n_bg, lo[1]) + rng.normal(0, 0.01, n_bg),
        rng.uniform(lo[2] - 0.6 * extent[2], hi[2] + 0.6 * extent[2], n_bg)
    ])
    wall_dir = unit_vectors(np.array([-view[0], 0, -view[2]]))
    wall = floor.copy()
    wall[:, 1] = rng.uniform(lo[1], hi[1] + 0.3 * extent[1], n_bg)
    size = extent.max()
    along = np.outer(rng.uniform(-1, 1, n_bg), [-wall_dir[2], wall_dir[0]])
    wall[:, [0, 2]] = centre[[0, 2]] + wall_dir[[0, 2]] * (0.7 * size) + (
        along * size)
    dx = rng.uniform(-0.6, 0.6) * extent[0]
    dz = rng.uniform(-0.6, 0.6) * extent[2]
    clutter_centre = centre + np.array([dx, 0, dz])
    clutter = clutter_centre + rng.uniform(-0.25, 0.25, (n_bg, 3)) * size
    clutter[:, 1] = np.maximum(clutter[:, 1], lo[1])
    background = np.concatenate([floor, wall, clutter])
    background += rng.normal(0, 0.01, background.shape)

    def crop(obj_pts, bg_pts, box_centre, box_half, rot):
        box_lo, box_hi = box_centre - box_half, box_centre + box_half
        in_box = np.all((bg_pts >= box_lo) & (bg_pts <= box_hi), axis=1)
        obj_in = np.all((obj_pts >= box_lo) & (obj_pts <= box_hi), axis=1)
        bg_pts = bg_pts[in_box]
        obj_pts = obj_pts[obj_in] if obj_in.any() else obj_pts
        n_obj = min(len(obj_pts), int(num_points * rng.uniform(0.55, 0.8)))
        n_obj = max(n_obj, 1)
        n_rest = num_points - n_obj
        obj_idx = rng.choice(len(obj_pts), n_obj, replace=len(obj_pts) < n_obj)
        bg_idx = rng.choice(len(bg_pts), n_rest, replace=len(bg_pts) < n_rest)
        cloud = np.concatenate([obj_pts[obj_idx], bg_pts[bg_idx]])
        mask = np.repeat(np.array([1, 0], np.int8), [n_obj, n_rest])
        order = rng.permutation(num_points)
        cloud, mask = cloud[order] @ rot.T, mask[order]
        cloud = cloud - cloud.mean(axis=0)
        cloud = cloud / np.linalg.norm(cloud, axis=1).max()
        return cloud.astype(np.float32), mask

    half = extent / 2 * 1.15 + 0.05
    obj_bg, obj_bg_mask = crop(obj, background, centre, half, np.eye(3))
    shift = rng.uniform(-0.5, 0.5, 3) * extent * np.array([1, 0, 1])
    pb, pb_mask = crop(obj + shift, background, centre, half,
                       rotation('y', rng.uniform(-math.pi, math.pi)))
    idx = rng.choice(len(obj), num_points, replace=len(obj) < num_points)
    obj_only = obj[idx] - obj[idx].mean(axis=0)
    obj_only = obj_only / np.linalg.norm(obj_only, axis=1).max()
    return dict(
        obj_bg=obj_bg,
        obj_bg_mask=obj_bg_mask,
        obj_only=obj_only.astype(np.float32),
        pb_t50_rs=pb,
        pb_t50_rs_mask=pb_mask)

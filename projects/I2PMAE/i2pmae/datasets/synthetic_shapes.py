"""Parametric synthetic shapes, written in the layouts of the public datasets.

The shapes are compositions of surface primitives (spheres, boxes, frusta,
tori, pyramids) with random proportions, pose, anisotropic scale, surface
noise, non-uniform sampling and (for some layouts) missing regions. Every
primitive carries a part label, which gives per-point part labels for the
ShapeNetPart layout.

:func:`generate_synthetic_datasets` writes, under one folder::

    ShapeNet55-34/                                    (pre-training)
    ModelNet/modelnet40_normal_resampled/             (fine-tuning)
    modelnet40_ply_hdf5_2048/                         (linear SVM)
    ScanObjectNN/main_split{,_nobg}/                  (OBJ-BG, OBJ-ONLY,
                                                       PB-T50-RS)
    ModelNetFewshot/<way>way_<shot>shot/<fold>.pkl    (few-shot)
    shapenetcore_partanno_segmentation_benchmark_v0_normal/   (part seg.)

Every file is written under a temporary name and renamed into place when
complete, so an interrupted run never leaves a truncated file behind.
Generation is deterministic: each shape draws from its own
``numpy.random.Generator`` seeded by (seed, layout, class, index).
Coordinates are y-up, like ShapeNet and ModelNet.
"""
import glob
import json
import math
import os
import os.path as osp
import pickle
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..utils.progress import ProgressReporter
from .class_names import SHAPENETPART_SEG_CLASSES, SHAPENETPART_SYNSETS
from .file_io import atomic_open, atomic_path

Array = np.ndarray
Sampler = Callable[[int, np.random.Generator], Tuple[Array, Array]]

# --------------------------------------------------------------------------
# surface primitives (z-up while composing; converted to y-up at the end)
# --------------------------------------------------------------------------


def rotation(axis: str, angle: float) -> Array:
    """Right-handed rotation matrix about a coordinate axis.

    Args:
        axis (str): ``'x'``, ``'y'`` or ``'z'``.
        angle (float): angle in radians.

    Returns:
        np.ndarray: ``[3, 3]`` rotation.
    """
    c, s = math.cos(angle), math.sin(angle)
    if axis == 'x':
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == 'y':
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    if axis == 'z':
        return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    raise ValueError(f"axis must be 'x', 'y' or 'z', got {axis!r}")


@dataclass
class SurfacePart:
    """One placed primitive surface.

    Args:
        sampler (Callable): ``(n, rng) -> (points [n, 3], normals [n, 3])``
            in the primitive's own frame.
        area (float): surface area (for area-proportional sampling).
        label (int): part label of its points.
        rot (np.ndarray): ``[3, 3]`` rotation into the shape frame.
        at (np.ndarray): ``[3]`` translation into the shape frame.
    """

    sampler: Sampler
    area: float
    label: int = 0
    rot: Array = field(default_factory=lambda: np.eye(3))
    at: Array = field(default_factory=lambda: np.zeros(3))

    def sample(self, n: int, rng: np.random.Generator) -> Tuple[Array, Array]:
        """Sample ``n`` points of the placed surface.

        Args:
            n (int): number of points.
            rng (np.random.Generator): random generator.

        Returns:
            tuple[np.ndarray, np.ndarray]: points and unit normals.
        """
        pts, nrm = self.sampler(n, rng)
        return pts @ self.rot.T + self.at, nrm @ self.rot.T


def _unit(v: Array) -> Array:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def sphere_zone(radius: float,
                theta: Tuple[float, float] = (0.0, math.pi),
                **place) -> SurfacePart:
    """Zone of a sphere between polar angles ``theta`` (from +z).

    ``(0, pi)`` is the whole sphere, ``(0, pi/2)`` the upper hemisphere.

    Args:
        radius (float): sphere radius.
        theta (tuple[float, float]): polar angle range.
        **place: ``label``, ``rot``, ``at`` of :class:`SurfacePart`.

    Returns:
        SurfacePart: the surface.
    """
    z_hi, z_lo = math.cos(theta[0]), math.cos(theta[1])

    def sample(n, rng):
        z = rng.uniform(z_lo, z_hi, n)
        phi = rng.uniform(0, 2 * math.pi, n)
        rho = np.sqrt(np.clip(1 - z**2, 0, None))
        nrm = np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)
        return radius * nrm, nrm

    area = 2 * math.pi * radius**2 * (z_hi - z_lo)
    return SurfacePart(sample, area, **place)


def box(size: Sequence[float], open_faces: Sequence[str] = (),
        **place) -> SurfacePart:
    """Surface of an axis-aligned box centred at the origin.

    Args:
        size (Sequence[float]): edge lengths along x, y, z.
        open_faces (Sequence[str]): faces left out, among ``'+x'``,
            ``'-x'``, ``'+y'``, ``'-y'``, ``'+z'``, ``'-z'``.
        **place: ``label``, ``rot``, ``at`` of :class:`SurfacePart`.

    Returns:
        SurfacePart: the surface.
    """
    size = np.asarray(size, dtype=float)
    faces = []
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        face_area = size[others[0]] * size[others[1]]
        for sign, tag in ((1, '+'), (-1, '-')):
            if tag + 'xyz'[axis] not in open_faces:
                faces.append((axis, sign, face_area))
    areas = np.array([f[2] for f in faces])

    def sample(n, rng):
        which = rng.choice(len(faces), n, p=areas / areas.sum())
        pts = rng.uniform(-0.5, 0.5, (n, 3)) * size
        nrm = np.zeros((n, 3))
        for k, (axis, sign, _) in enumerate(faces):
            sel = which == k
            pts[sel, axis] = sign * size[axis] / 2
            nrm[sel, axis] = sign
        return pts, nrm

    return SurfacePart(sample, float(areas.sum()), **place)


def frustum(r_bottom: float,
            r_top: float,
            height: float,
            cap_bottom: bool = True,
            cap_top: bool = True,
            **place) -> SurfacePart:
    """Cylinder / cone / frustum along z, centred at the origin.

    Args:
        r_bottom (float): radius at ``z = -height / 2``.
        r_top (float): radius at ``z = +height / 2`` (0 for a cone).
        height (float): height.
        cap_bottom (bool): include the bottom disc.
        cap_top (bool): include the top disc.
        **place: ``label``, ``rot``, ``at`` of :class:`SurfacePart`.

    Returns:
        SurfacePart: the surface.
    """
    slant = math.hypot(height, r_bottom - r_top)
    pieces = [
        math.pi * (r_bottom + r_top) * slant,
        math.pi * r_bottom**2 if cap_bottom else 0.0,
        math.pi * r_top**2 if cap_top else 0.0
    ]
    areas = np.array(pieces)

    def sample(n, rng):
        which = rng.choice(3, n, p=areas / areas.sum())
        phi = rng.uniform(0, 2 * math.pi, n)
        u = rng.uniform(0, 1, n)
        # side: radius grows linearly with t; density proportional to radius
        if abs(r_top - r_bottom) < 1e-9:
            t = u
        else:
            t = (np.sqrt(r_bottom**2 + u *
                         (r_top**2 - r_bottom**2)) - r_bottom) / (
                             r_top - r_bottom)
        r = r_bottom + (r_top - r_bottom) * t
        z = (t - 0.5) * height
        nrm = _unit(
            np.stack([
                np.cos(phi) * height,
                np.sin(phi) * height,
                np.full(n, r_bottom - r_top)
            ],
                     axis=1))
        # caps: uniform discs
        for k, (radius, z_cap, sign) in ((1, (r_bottom, -height / 2, -1)),
                                         (2, (r_top, height / 2, 1))):
            sel = which == k
            r[sel] = radius * np.sqrt(u[sel])
            z[sel] = z_cap
            nrm[sel] = (0, 0, sign)
        pts = np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)
        return pts, nrm

    return SurfacePart(sample, float(areas.sum()), **place)


def torus(major: float,
          minor: float,
          arc: float = 2 * math.pi,
          **place) -> SurfacePart:
    """Torus (or an arc of one) around the z axis.

    Args:
        major (float): distance from the axis to the tube centre.
        minor (float): tube radius.
        arc (float): swept angle, from +x towards +y.
        **place: ``label``, ``rot``, ``at`` of :class:`SurfacePart`.

    Returns:
        SurfacePart: the surface.
    """

    def sample(n, rng):
        kept = np.empty(0)
        while len(kept) < n:  # area weight (R + r cos v) by rejection
            v = rng.uniform(0, 2 * math.pi, 2 * n)
            keep = rng.uniform(0, 1, 2 * n) < (major + minor * np.cos(v)) / (
                major + minor)
            kept = np.concatenate([kept, v[keep]])
        v = kept[:n]
        u = rng.uniform(0, arc, n)
        nrm = np.stack(
            [np.cos(v) * np.cos(u),
             np.cos(v) * np.sin(u),
             np.sin(v)], axis=1)
        ring = np.stack([np.cos(u), np.sin(u), np.zeros(n)], axis=1)
        return major * ring + minor * nrm, nrm

    area = 4 * math.pi**2 * major * minor * arc / (2 * math.pi)
    return SurfacePart(sample, area, **place)


def pyramid(base_x: float, base_y: float, height: float,
            **place) -> SurfacePart:
    """Pyramid with a rectangular base at ``z = 0`` and apex at ``height``.

    Args:
        base_x (float): base size along x.
        base_y (float): base size along y.
        height (float): apex height.
        **place: ``label``, ``rot``, ``at`` of :class:`SurfacePart`.

    Returns:
        SurfacePart: the surface.
    """
    hx, hy = base_x / 2, base_y / 2
    corners = np.array([[hx, hy, 0], [-hx, hy, 0], [-hx, -hy, 0], [hx, -hy,
                                                                   0]])
    apex = np.array([0, 0, height])
    tris = [(corners[i], corners[(i + 1) % 4], apex) for i in range(4)]
    tris += [(corners[0], corners[2], corners[1]),
             (corners[0], corners[3], corners[2])]
    tris = np.array(tris, dtype=float)  # [6, 3, 3]
    cross = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    areas = np.linalg.norm(cross, axis=1) / 2
    normals = _unit(cross)
    centre = np.array([0, 0, height / 4])
    flip = ((tris.mean(axis=1) - centre) * normals).sum(axis=1) < 0
    normals[flip] *= -1

    def sample(n, rng):
        which = rng.choice(len(tris), n, p=areas / areas.sum())
        a, b = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
        swap = a + b > 1
        a[swap], b[swap] = 1 - a[swap], 1 - b[swap]
        t = tris[which]
        pts = t[:, 0] + a[:, None] * (t[:, 1] - t[:, 0]) + b[:, None] * (
            t[:, 2] - t[:, 0])
        return pts, normals[which]

    return SurfacePart(sample, float(areas.sum()), **place)


# --------------------------------------------------------------------------
# shape recipes: rng -> list of SurfacePart (part labels local to the shape)
# --------------------------------------------------------------------------

Recipe = Callable[[np.random.Generator], List[SurfacePart]]
_X90 = rotation('x', math.pi / 2)  # z axis -> -y axis (lay along y)
_Y90 = rotation('y', math.pi / 2)  # z axis -> x axis (lay along x)
# local (x, y, z) -> world (y, z, x): an arc in the local xy plane (y >= 0)
# becomes a half ring in the world xz plane on the +x side
_RING_XZ = np.array([[0., 1., 0.], [0., 0., 1.], [1., 0., 0.]])


def _legs(rng, half_x, half_y, height, radius, label, count=4):
    """Vertical cylinder legs standing on z=0 at the corners of a rect."""
    if count == 4:
        spots = [(sx * half_x, sy * half_y) for sx in (-1, 1)
                 for sy in (-1, 1)]
    else:
        spots = [(half_x * math.cos(a), half_x * math.sin(a))
                 for a in np.linspace(0, 2 * math.pi, count, endpoint=False)]
    return [
        frustum(
            radius,
            radius * rng.uniform(0.7, 1.0),
            height,
            label=label,
            at=np.array([x, y, height / 2])) for x, y in spots
    ]


def recipe_sphere(rng):
    return [sphere_zone(1.0)]


def recipe_box(rng):
    return [box(rng.uniform(0.6, 1.4, 3))]


def recipe_cylinder(rng):
    return [frustum(*[rng.uniform(0.3, 0.6)] * 2, rng.uniform(0.8, 2.0))]


def recipe_cone(rng):
    return [
        frustum(
            rng.uniform(0.4, 0.8), 0.0, rng.uniform(0.8, 1.8), cap_top=False)
    ]


def recipe_torus(rng):
    return [torus(1.0, rng.uniform(0.2, 0.45))]


def recipe_capsule(rng):
    r, length = rng.uniform(0.25, 0.5), rng.uniform(0.6, 1.6)
    return [
        frustum(r, r, length, cap_bottom=False, cap_top=False),
        sphere_zone(r, (0, math.pi / 2), at=np.array([0, 0, length / 2])),
        sphere_zone(
            r, (math.pi / 2, math.pi), at=np.array([0, 0, -length / 2]))
    ]


def recipe_pyramid(rng):
    return [pyramid(*rng.uniform(0.8, 1.4, 2), rng.uniform(0.8, 1.6))]


def recipe_bowl(rng):
    rim = rng.uniform(0.42, 0.6) * math.pi
    foot_r = rng.uniform(0.25, 0.4)
    return [
        sphere_zone(1.0, (rim, math.pi)),
        frustum(
            foot_r,
            foot_r * 1.1,
            0.12,
            cap_bottom=True,
            cap_top=False,
            at=np.array([0, 0, -1.0]))
    ]


def recipe_tube(rng):
    r = rng.uniform(0.3, 0.6)
    return [frustum(r, r, rng.uniform(0.8, 2.0), False, False)]


def recipe_table(rng):
    """Top (0), legs (1), stretchers (2)."""
    w, d = rng.uniform(1.2, 2.0), rng.uniform(0.7, 1.2)
    t, h = rng.uniform(0.05, 0.12), rng.uniform(0.6, 1.0)
    inset = rng.uniform(0.05, 0.15)
    parts = [box((w, d, t), label=0, at=np.array([0, 0, h + t / 2]))]
    parts += _legs(rng, w / 2 - inset, d / 2 - inset, h,
                   rng.uniform(0.03, 0.07), 1)
    if rng.uniform() < 0.6:
        z = h * rng.uniform(0.15, 0.4)
        for sy in (-1, 1):
            parts.append(
                box((w - 2 * inset, 0.04, 0.04),
                    label=2,
                    at=np.array([0, sy * (d / 2 - inset), z])))
    return parts


def recipe_chair(rng):
    """Back (0), seat (1), legs (2), arms (3)."""
    w, d = rng.uniform(0.8, 1.1), rng.uniform(0.8, 1.1)
    hs, hb = rng.uniform(0.8, 1.0), rng.uniform(0.7, 1.2)
    t = rng.uniform(0.06, 0.1)
    tilt = rotation('x', -rng.uniform(0.0, 0.25))
    parts = [
        box((w, d, t), label=1, at=np.array([0, 0, hs])),
        box((w, t, hb),
            label=0,
            rot=tilt,
            at=np.array([0, -d / 2, hs + hb / 2]))
    ]
    parts += _legs(rng, w / 2 - 0.06, d / 2 - 0.06, hs - t / 2,
                   rng.uniform(0.03, 0.05), 2)
    if rng.uniform() < 0.5:
        for sx in (-1, 1):
            parts.append(
                box((0.06, d * 0.9, 0.06),
                    label=3,
                    at=np.array([sx * w / 2, 0, hs + 0.3])))
    return parts


def recipe_stool(rng):
    r, h = rng.uniform(0.35, 0.55), rng.uniform(0.8, 1.3)
    parts = [frustum(r, r, 0.08, label=0, at=np.array([0, 0, h + 0.04]))]
    parts += _legs(
        rng,
        r * 0.8,
        r * 0.8,
        h,
        rng.uniform(0.03, 0.05),
        1,
        count=int(rng.integers(3, 5)))
    return parts


def recipe_lamp(rng):
    """Base (0), pole (1), shade (2), bulb (3)."""
    pole = rng.uniform(1.0, 1.8)
    shade_h = rng.uniform(0.3, 0.5)
    return [
        frustum(
            rng.uniform(0.3, 0.5),
            rng.uniform(0.2, 0.3),
            0.06,
            cap_top=True,
            label=0,
            at=np.array([0, 0, 0.03])),
        frustum(
            0.03,
            0.03,
            pole,
            False,
            False,
            label=1,
            at=np.array([0, 0, pole / 2])),
        frustum(
            rng.uniform(0.35, 0.6),
            rng.uniform(0.15, 0.3),
            shade_h,
            False,
            False,
            label=2,
            at=np.array([0, 0, pole + shade_h / 4])),
        sphere_zone(0.12, label=3, at=np.array([0, 0, pole]))
    ]


def recipe_mug(rng):
    """Body (0), handle (1)."""
    r, h = rng.uniform(0.4, 0.55), rng.uniform(0.8, 1.2)
    major = rng.uniform(0.22, 0.32)
    return [
        frustum(r, r * rng.uniform(1.0, 1.15), h, True, False, label=0),
        torus(
            major,
            0.05,
            arc=math.pi,
            label=1,
            rot=_RING_XZ,
            at=np.array([r, 0, 0]))
    ]


def recipe_bottle(rng):
    r, h = rng.uniform(0.3, 0.45), rng.uniform(0.9, 1.4)
    neck_r, neck_h = rng.uniform(0.08, 0.15), rng.uniform(0.2, 0.5)
    shoulder = rng.uniform(0.2, 0.4)
    return [
        frustum(r, r, h, True, False, at=np.array([0, 0, h / 2])),
        frustum(
            r,
            neck_r,
            shoulder,
            False,
            False,
            at=np.array([0, 0, h + shoulder / 2])),
        frustum(
            neck_r,
            neck_r,
            neck_h,
            False,
            False,
            at=np.array([0, 0, h + shoulder + neck_h / 2]))
    ]


def recipe_shelf(rng):
    w, d, h = rng.uniform(0.8, 1.4), rng.uniform(0.3,
                                                 0.5), rng.uniform(1.2, 2.0)
    t = 0.04
    parts = [
        box((t, d, h), at=np.array([sx * w / 2, 0, h / 2])) for sx in (-1, 1)
    ]
    for z in np.linspace(t / 2, h - t / 2, int(rng.integers(3, 6))):
        parts.append(box((w, d, t), at=np.array([0, 0, z])))
    if rng.uniform() < 0.5:
        parts.append(box((w, t, h), at=np.array([0, -d / 2, h / 2])))
    return parts


def recipe_airplane(rng):
    """Body (0), wing (1), tail (2), engine (3)."""
    length, r = rng.uniform(2.0, 3.0), rng.uniform(0.15, 0.25)
    span, chord = rng.uniform(2.0, 3.0), rng.uniform(0.35, 0.6)
    parts = [
        frustum(r, r, length, False, False, label=0, rot=_Y90),
        sphere_zone(
            r, (0, math.pi / 2),
            label=0,
            rot=_Y90,
            at=np.array([length / 2, 0, 0])),
        frustum(
            r,
            0.05,
            0.6,
            False,
            True,
            label=0,
            rot=_Y90 @ rotation('x', math.pi),
            at=np.array([-length / 2 - 0.3, 0, 0])),
        box((chord, span, 0.05), label=1, at=np.array([0.1, 0, -r / 2])),
        box((0.35, 0.04, 0.5),
            label=2,
            at=np.array([-length / 2 - 0.35, 0, 0.3])),
        box((0.3, span * 0.35, 0.04),
            label=2,
            at=np.array([-length / 2 - 0.35, 0, 0.05]))
    ]
    for sy in (-1, 1):
        parts.append(
            frustum(
                0.1,
                0.1,
                0.5,
                label=3,
                rot=_Y90,
                at=np.array([0.2, sy * span * 0.25, -r - 0.1])))
    return parts


def recipe_bag(rng):
    """Body (0), handle (1)."""
    w, d, h = rng.uniform(1.0, 1.6), rng.uniform(0.3,
                                                 0.6), rng.uniform(0.7, 1.1)
    return [
        box((w, d, h), label=0),
        torus(
            rng.uniform(0.2, 0.35),
            0.04,
            arc=math.pi,
            label=1,
            rot=rotation('x', math.pi / 2),
            at=np.array([0, 0, h / 2]))
    ]


def recipe_cap(rng):
    """Dome (0), peak (1)."""
    return [
        sphere_zone(1.0, (0, math.pi / 2 * rng.uniform(0.85, 1.0)), label=0),
        box((rng.uniform(0.6, 0.9), rng.uniform(1.0, 1.5), 0.04),
            label=1,
            rot=rotation('y', rng.uniform(0, 0.3)),
            at=np.array([1.2, 0, 0.05]))
    ]


def recipe_car(rng):
    """Body (0), cabin (1), wheels (2), lights (3)."""
    length, w, h = rng.uniform(2.5,
                               3.5), rng.uniform(1.1,
                                                 1.5), rng.uniform(0.4, 0.6)
    wheel_r = rng.uniform(0.25, 0.35)
    parts = [
        box((length, w, h), label=0, at=np.array([0, 0, wheel_r + h / 2])),
        box((length * rng.uniform(0.4, 0.6), w * 0.9, h * 0.8),
            label=1,
            at=np.array([-0.2, 0, wheel_r + h * 1.4]))
    ]
    for sx in (-1, 1):
        for sy in (-1, 1):
            parts.append(
                frustum(
                    wheel_r,
                    wheel_r,
                    0.2,
                    label=2,
                    rot=_X90,
                    at=np.array([sx * length * 0.32, sy * w / 2, wheel_r])))
        parts.append(
            sphere_zone(
                0.08,
                label=3,
                at=np.array([length / 2, sx * w * 0.35, wheel_r + h * 0.6])))
    return parts


def recipe_earphone(rng):
    """Earcups (0), headband (1), cord (2)."""
    half = rng.uniform(0.6, 0.9)
    parts = [
        torus(
            half,
            0.05,
            arc=math.pi,
            label=1,
            rot=rotation('x', math.pi / 2),
            at=np.array([0, 0, 0]))
    ]
    for sx in (-1, 1):
        parts.append(
            frustum(
                0.3,
                0.3,
                0.15,
                label=0,
                rot=_Y90,
                at=np.array([sx * half, 0, -0.1])))
    cord = rng.uniform(0.6, 1.2)
    parts.append(
        frustum(
            0.03,
            0.03,
            cord,
            False,
            False,
            label=2,
            at=np.array([-half, 0, -0.2 - cord / 2])))
    return parts


def recipe_guitar(rng):
    """Body (0), neck (1), head (2)."""
    r1, r2 = rng.uniform(0.45, 0.6), rng.uniform(0.32, 0.45)
    neck = rng.uniform(1.2, 1.7)
    return [
        frustum(r1, r1, 0.2, label=0, rot=_X90, at=np.array([0, 0, 0])),
        frustum(
            r2, r2, 0.2, label=0, rot=_X90, at=np.array([0, 0,
                                                         r1 + r2 * 0.6])),
        box((0.14, 0.08, neck),
            label=1,
            at=np.array([0, 0, r1 + r2 + neck / 2])),
        box((0.22, 0.08, 0.35),
            label=2,
            at=np.array([0, 0, r1 + r2 + neck + 0.17]))
    ]


def recipe_knife(rng):
    """Blade (0), handle (1)."""
    blade = rng.uniform(1.2, 2.0)
    handle = rng.uniform(0.6, 0.9)
    return [
        pyramid(
            0.03,
            rng.uniform(0.2, 0.35),
            blade,
            label=0,
            rot=rotation('y', math.pi / 2),
            at=np.array([0, 0, 0])),
        frustum(
            0.07,
            0.08,
            handle,
            label=1,
            rot=_Y90,
            at=np.array([-handle / 2, 0, 0]))
    ]


def recipe_laptop(rng):
    """Keyboard (0), screen (1)."""
    w, d = rng.uniform(1.3, 1.7), rng.uniform(0.9, 1.2)
    opening = rng.uniform(-0.5, 0.1)
    return [
        box((w, d, 0.05), label=0),
        box((w, 0.04, d),
            label=1,
            rot=rotation('x', opening),
            at=np.array([0, -d / 2, d / 2]))
    ]


def recipe_motorbike(rng):
    """Wheels (0), body (1), seat (2), handle (3), light (4), exhaust (5)."""
    wheel_r = rng.uniform(0.35, 0.45)
    base = rng.uniform(1.3, 1.7)
    parts = [
        torus(
            wheel_r,
            0.08,
            label=0,
            rot=_X90,
            at=np.array([sx * base / 2, 0, wheel_r])) for sx in (-1, 1)
    ]
    parts += [
        box((base * 0.7, 0.3, 0.35),
            label=1,
            at=np.array([0, 0, wheel_r + 0.25])),
        box((0.55, 0.3, 0.08), label=2, at=np.array([-0.3, 0,
                                                     wheel_r + 0.47])),
        frustum(
            0.03,
            0.03,
            0.7,
            label=3,
            rot=_X90,
            at=np.array([base * 0.4, 0, wheel_r + 0.65])),
        sphere_zone(
            0.1, label=4, at=np.array([base * 0.5, 0, wheel_r + 0.45])),
        frustum(
            0.06,
            0.05,
            0.7,
            label=5,
            rot=_Y90,
            at=np.array([-base * 0.2, 0.22, wheel_r]))
    ]
    return parts


def recipe_pistol(rng):
    """Barrel (0), grip (1), trigger (2)."""
    barrel = rng.uniform(0.9, 1.3)
    grip = rng.uniform(0.6, 0.8)
    return [
        box((barrel, 0.18, 0.25), label=0),
        box((0.25, 0.16, grip),
            label=1,
            rot=rotation('y', -0.3),
            at=np.array([-barrel / 2 + 0.2, 0, -grip / 2])),
        torus(
            0.09,
            0.02,
            arc=math.pi,
            label=2,
            rot=rotation('x', math.pi / 2) @ rotation('z', math.pi),
            at=np.array([-barrel / 2 + 0.45, 0, -0.13]))
    ]


def recipe_rocket(rng):
    """Body (0), nose (1), fins (2)."""
    r, h = rng.uniform(0.2, 0.3), rng.uniform(1.5, 2.5)
    nose = rng.uniform(0.4, 0.7)
    parts = [
        frustum(r, r, h, True, False, label=0, at=np.array([0, 0, h / 2])),
        frustum(
            r,
            0,
            nose,
            False,
            False,
            label=1,
            at=np.array([0, 0, h + nose / 2]))
    ]
    count = int(rng.integers(3, 5))
    for a in np.linspace(0, 2 * math.pi, count, endpoint=False):
        parts.append(
            box((0.35, 0.03, 0.45),
                label=2,
                rot=rotation('z', a),
                at=np.array([(r + 0.15) * math.cos(a),
                             (r + 0.15) * math.sin(a), 0.25])))
    return parts


def recipe_skateboard(rng):
    """Deck (0), wheels (1), trucks (2)."""
    length, w = rng.uniform(2.0, 2.6), rng.uniform(0.5, 0.7)
    parts = [box((length, w, 0.04), label=0, at=np.array([0, 0, 0.3]))]
    for sx in (-1, 1):
        parts.append(
            box((0.12, w * 0.8, 0.1),
                label=2,
                at=np.array([sx * length * 0.33, 0, 0.22])))
        for sy in (-1, 1):
            parts.append(
                frustum(
                    0.08,
                    0.08,
                    0.08,
                    label=1,
                    rot=_X90,
                    at=np.array([sx * length * 0.33, sy * w * 0.45, 0.1])))
    return parts


#: class name -> recipe of the classification layouts (ShapeNet-55,
#: ModelNet40, ScanObjectNN and few-shot use these)
CLASSIFICATION_RECIPES: Dict[str, Recipe] = {
    'sphere': recipe_sphere,
    'box': recipe_box,
    'cylinder': recipe_cylinder,
    'cone': recipe_cone,
    'torus': recipe_torus,
    'capsule': recipe_capsule,
    'pyramid': recipe_pyramid,
    'bowl': recipe_bowl,
    'tube': recipe_tube,
    'table': recipe_table,
    'chair': recipe_chair,
    'stool': recipe_stool,
    'lamp': recipe_lamp,
    'mug': recipe_mug,
    'bottle': recipe_bottle,
    'shelf': recipe_shelf,
}

#: the 16 synthetic classes, in label order
SYNTHETIC_CLASSES = tuple(CLASSIFICATION_RECIPES)

#: ShapeNetPart category -> recipe (local part labels 0..k-1 map onto the
#: category's global part ids)
PART_RECIPES: Dict[str, Recipe] = {
    'Airplane': recipe_airplane,
    'Bag': recipe_bag,
    'Cap': recipe_cap,
    'Car': recipe_car,
    'Chair': recipe_chair,
    'Earphone': recipe_earphone,
    'Guitar': recipe_guitar,
    'Knife': recipe_knife,
    'Lamp': recipe_lamp,
    'Laptop': recipe_laptop,
    'Motorbike': recipe_motorbike,
    'Mug': recipe_mug,
    'Pistol': recipe_pistol,
    'Rocket': recipe_rocket,
    'Skateboard': recipe_skateboard,
    'Table': recipe_table,
}

# --------------------------------------------------------------------------
# sampling a shape
# --------------------------------------------------------------------------


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

# composing frame (z-up) -> dataset frame (y-up)
_Z_UP_TO_Y_UP = rotation('x', -math.pi / 2)


def _random_direction(rng: np.random.Generator) -> Array:
    return _unit(rng.normal(size=3))


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
    pts, nrm, lab = [], [], []
    for part, count in zip(parts, counts):
        if count:
            p, n = part.sample(int(count), rng)
            pts.append(p)
            nrm.append(n)
            lab.append(np.full(int(count), part.label, dtype=np.int64))
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
    pts, nrm = pts * scale, _unit(nrm / scale)
    pose = rotation('z', rng.uniform(-style.yaw, style.yaw)) @ rotation(
        'x', rng.uniform(-style.tilt, style.tilt)) @ rotation(
            'y', rng.uniform(-style.tilt, style.tilt))
    pts, nrm = pts @ pose.T, nrm @ pose.T
    pts = pts - pts.mean(axis=0)
    if rng.uniform() < style.crop_prob:
        proj = pts @ _random_direction(rng)
        keep = proj <= np.quantile(proj, rng.uniform(*style.crop_keep))
        pts, nrm, lab = pts[keep], nrm[keep], lab[keep]
    proj = pts @ _random_direction(rng)
    proj = proj / max(np.abs(proj).max(), 1e-9)
    weight = np.exp(rng.uniform(0, style.density) * proj)
    idx = rng.choice(
        len(pts),
        num_points,
        replace=len(pts) < num_points,
        p=weight / weight.sum())
    pts, nrm, lab = pts[idx], nrm[idx], lab[idx]
    pts, nrm = pts @ _Z_UP_TO_Y_UP.T, nrm @ _Z_UP_TO_Y_UP.T
    pts = pts - pts.mean(axis=0)
    pts = pts / np.linalg.norm(pts, axis=1).max()
    pts = pts + rng.normal(0, rng.uniform(*style.noise), pts.shape)
    return pts.astype(np.float32), nrm.astype(np.float32), lab


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
    view = _unit(np.array([rng.normal(), rng.uniform(0.2, 1.0), rng.normal()]))
    visible = nrm @ view > -0.15
    obj = pts[visible]
    lo, hi = obj.min(axis=0), obj.max(axis=0)
    extent = hi - lo
    centre = (lo + hi) / 2
    n_bg = 2 * num_points
    # floor patch (y-up) around the object, a wall behind it, clutter boxes
    floor = np.stack([
        rng.uniform(lo[0] - 0.6 * extent[0], hi[0] + 0.6 * extent[0], n_bg),
        np.full(n_bg, lo[1]) + rng.normal(0, 0.01, n_bg),
        rng.uniform(lo[2] - 0.6 * extent[2], hi[2] + 0.6 * extent[2], n_bg)
    ],
                     axis=1)
    wall_dir = _unit(np.array([-view[0], 0, -view[2]]))
    wall = floor.copy()
    wall[:, 1] = rng.uniform(lo[1], hi[1] + 0.3 * extent[1], n_bg)
    wall[:, [0, 2]] = centre[[
        0, 2
    ]] + wall_dir[[0, 2]] * (0.7 * extent.max()) + np.outer(
        rng.uniform(-1, 1, n_bg), [-wall_dir[2], wall_dir[0]]) * extent.max()
    clutter_centre = centre + np.array([
        rng.uniform(-0.6, 0.6) * extent[0], 0,
        rng.uniform(-0.6, 0.6) * extent[2]
    ])
    clutter = clutter_centre + rng.uniform(-0.25, 0.25,
                                           (n_bg, 3)) * extent.max()
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
        obj_idx = rng.choice(len(obj_pts), n_obj, replace=len(obj_pts) < n_obj)
        bg_idx = rng.choice(
            len(bg_pts),
            num_points - n_obj,
            replace=len(bg_pts) < num_points - n_obj)
        cloud = np.concatenate([obj_pts[obj_idx], bg_pts[bg_idx]])
        mask = np.concatenate(
            [np.ones(n_obj, np.int8),
             np.zeros(num_points - n_obj, np.int8)])
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


# --------------------------------------------------------------------------
# writers of the dataset layouts
# --------------------------------------------------------------------------

_LAYOUT_IDS = {
    'shapenet55': 1,
    'modelnet_resampled': 2,
    'modelnet_h5': 3,
    'scanobjectnn': 4,
    'fewshot': 5,
    'shapenetpart': 6
}


def _rng(seed: int, layout: str, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, _LAYOUT_IDS[layout], *keys])


def _write_rows(path: str, rows: Array, fmt: str, sep: str) -> None:
    line = sep.join([fmt] * rows.shape[1]) + '\n'
    with atomic_open(path, 'w') as f:
        f.write((line * len(rows)) % tuple(rows.ravel()))


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with atomic_open(path, 'w') as f:
        f.write(''.join(f'{line}\n' for line in lines))


def _write_h5(path: str, arrays: Dict[str, Array]) -> None:
    import h5py
    with atomic_path(path) as tmp_path:
        with h5py.File(tmp_path, 'w') as f:
            for key, value in arrays.items():
                f.create_dataset(key, data=value)


class _Progress:
    """Counts generated shapes (see :class:`ProgressReporter`), or not."""

    def __init__(self, total: int, show: bool) -> None:
        self.reporter = ProgressReporter(
            total, task='synthetic shapes') if show else None

    def update(self, count: int = 1) -> None:
        if self.reporter is not None:
            self.reporter.update(count)

    def finish(self) -> None:
        if self.reporter is not None:
            self.reporter.finish()


def write_shapenet55(root: str, seed: int, per_class: int, test_per_class: int,
                     num_points: int, progress: _Progress) -> str:
    """ShapeNet-55 layout: ``ShapeNet-55/{train,test}.txt`` + ``.npy``.

    Taxonomy ids are ``'9000<class:04d>'`` and model ids ``'m<index>'``.

    Args:
        root (str): output folder (``.../ShapeNet55-34``).
        seed (int): base seed.
        per_class (int): training shapes per class.
        test_per_class (int): test shapes per class.
        num_points (int): points per ``.npy`` cloud (8192 in the real data).
        progress (_Progress): progress counter.

    Returns:
        str: ``root``.
    """
    os.makedirs(osp.join(root, 'ShapeNet-55'), exist_ok=True)
    os.makedirs(osp.join(root, 'shapenet_pc'), exist_ok=True)
    lists = {'train': [], 'test': []}
    for cls, recipe in enumerate(CLASSIFICATION_RECIPES.values()):
        for i in range(per_class + test_per_class):
            split = 'train' if i < per_class else 'test'
            pts, _, _ = generate_shape(recipe, num_points,
                                       _rng(seed, 'shapenet55', cls, i))
            name = f'{9000_0000 + cls:08d}-m{cls:02d}{i:05d}.npy'
            with atomic_open(osp.join(root, 'shapenet_pc', name), 'wb') as f:
                np.save(f, pts)
            lists[split].append(name)
            progress.update()
    for split, names in lists.items():
        _write_lines(osp.join(root, 'ShapeNet-55', f'{split}.txt'), names)
    return root


def write_modelnet_resampled(root: str, seed: int, per_class: int,
                             test_per_class: int, num_points: int,
                             progress: _Progress) -> str:
    """``modelnet40_normal_resampled`` layout (txt clouds with normals).

    Stale processed caches (``*_fps.dat``) in ``root`` are deleted, since
    they would no longer match the regenerated clouds.

    Args:
        root (str): output folder.
        seed (int): base seed.
        per_class (int): training shapes per class.
        test_per_class (int): test shapes per class.
        num_points (int): rows per txt file.
        progress (_Progress): progress counter.

    Returns:
        str: ``root``.
    """
    os.makedirs(root, exist_ok=True)
    for stale in glob.glob(osp.join(root, '*_fps.dat')):
        os.remove(stale)
    lists = {'train': [], 'test': []}
    for cls, (name, recipe) in enumerate(CLASSIFICATION_RECIPES.items()):
        os.makedirs(osp.join(root, name), exist_ok=True)
        for i in range(per_class + test_per_class):
            split = 'train' if i < per_class else 'test'
            pts, nrm, _ = generate_shape(
                recipe, num_points, _rng(seed, 'modelnet_resampled', cls, i))
            shape_id = f'{name}_{i + 1:04d}'
            _write_rows(
                osp.join(root, name, f'{shape_id}.txt'),
                np.concatenate([pts, nrm], axis=1), '%.6f', ',')
            lists[split].append(shape_id)
            progress.update()
    _write_lines(
        osp.join(root, 'modelnet40_shape_names.txt'), SYNTHETIC_CLASSES)
    for split, ids in lists.items():
        _write_lines(osp.join(root, f'modelnet40_{split}.txt'), ids)
    return root


def write_modelnet_h5(root: str, seed: int, per_class: int,
                      test_per_class: int, num_points: int,
                      progress: _Progress) -> str:
    """``modelnet40_ply_hdf5_2048`` layout, two files per split.

    Args:
        root (str): output folder.
        seed (int): base seed.
        per_class (int): training shapes per class.
        test_per_class (int): test shapes per class.
        num_points (int): points per cloud (2048 in the real data).
        progress (_Progress): progress counter.

    Returns:
        str: ``root``.
    """
    os.makedirs(root, exist_ok=True)
    for split, count, offset in (('train', per_class, 0),
                                 ('test', test_per_class, per_class)):
        data, normal, label = [], [], []
        for cls, recipe in enumerate(CLASSIFICATION_RECIPES.values()):
            for i in range(offset, offset + count):
                pts, nrm, _ = generate_shape(recipe, num_points,
                                             _rng(seed, 'modelnet_h5', cls, i))
                data.append(pts)
                normal.append(nrm)
                label.append(cls)
                progress.update()
        order = _rng(seed, 'modelnet_h5', 999, int(split == 'test'))
        order = order.permutation(len(data))
        data, normal = np.stack(data)[order], np.stack(normal)[order]
        label = np.array(label, dtype=np.uint8)[order, None]
        chunks = np.array_split(np.arange(len(data)), min(2, len(data)))
        names = []
        for k, chunk in enumerate(chunks):
            names.append(f'ply_data_{split}{k}.h5')
            _write_h5(
                osp.join(root, names[-1]),
                dict(
                    data=data[chunk], normal=normal[chunk],
                    label=label[chunk]))
        _write_lines(
            osp.join(root, f'{split}_files.txt'),
            [f'data/modelnet40_ply_hdf5_2048/{n}' for n in names])
    _write_lines(osp.join(root, 'shape_names.txt'), SYNTHETIC_CLASSES)
    return root


def write_scanobjectnn(root: str, seed: int, per_class: int,
                       test_per_class: int, num_points: int,
                       progress: _Progress) -> str:
    """ScanObjectNN layout with OBJ-BG, OBJ-ONLY and PB-T50-RS files.

    Uses the first 15 synthetic classes (ScanObjectNN has 15).

    Args:
        root (str): output folder (``.../ScanObjectNN``).
        seed (int): base seed.
        per_class (int): training objects per class.
        test_per_class (int): test objects per class.
        num_points (int): points per cloud (2048 in the real data).
        progress (_Progress): progress counter.

    Returns:
        str: ``root``.
    """
    for folder in ('main_split', 'main_split_nobg'):
        os.makedirs(osp.join(root, folder), exist_ok=True)
    recipes = list(CLASSIFICATION_RECIPES.values())[:15]
    for split, count, offset in (('training', per_class, 0),
                                 ('test', test_per_class, per_class)):
        samples, labels = [], []
        for cls, recipe in enumerate(recipes):
            for i in range(offset, offset + count):
                samples.append(
                    generate_scan_object(recipe, num_points,
                                         _rng(seed, 'scanobjectnn', cls, i)))
                labels.append(cls)
                progress.update()
        order = _rng(seed, 'scanobjectnn', 999, int(split == 'test'))
        order = order.permutation(len(samples))
        labels = np.array(labels, dtype=np.int64)[order]
        files = (('main_split', '_objectdataset.h5', 'obj_bg'),
                 ('main_split_nobg', '_objectdataset.h5', 'obj_only'),
                 ('main_split', '_objectdataset_augmentedrot_scale75.h5',
                  'pb_t50_rs'))
        for folder, suffix, key in files:
            mask = np.stack([
                samples[j].get(f'{key}_mask', np.ones(num_points, np.int8))
                for j in order
            ])
            _write_h5(
                osp.join(root, folder, split + suffix),
                dict(
                    data=np.stack([samples[j][key] for j in order]),
                    label=labels,
                    mask=mask))
    return root


def write_fewshot(root: str, seed: int, num_folds: int, num_queries: int,
                  num_points: int, progress: _Progress) -> str:
    """``ModelNetFewshot`` layout: ``{5,10}way_{10,20}shot/<fold>.pkl``.

    A pool of ``20 + num_queries`` shapes per class is generated once; each
    episode picks ``way`` classes, ``shot`` support and ``num_queries``
    query shapes per class from it.

    Args:
        root (str): output folder.
        seed (int): base seed.
        num_folds (int): episodes per setting (10 in the real data).
        num_queries (int): test shapes per class of an episode (20 in the
            real data).
        num_points (int): points per cloud (with normals).
        progress (_Progress): progress counter.

    Returns:
        str: ``root``.
    """
    max_shot = 20
    pools = []
    for cls, recipe in enumerate(CLASSIFICATION_RECIPES.values()):
        pool = []
        for i in range(max_shot + num_queries):
            pts, nrm, _ = generate_shape(recipe, num_points,
                                         _rng(seed, 'fewshot', cls, i))
            pool.append(np.concatenate([pts, nrm], axis=1))
            progress.update()
        pools.append(pool)
    for way in (5, 10):
        for shot in (10, 20):
            folder = osp.join(root, f'{way}way_{shot}shot')
            os.makedirs(folder, exist_ok=True)
            for fold in range(num_folds):
                rng = _rng(seed, 'fewshot', 1000 + way, shot, fold)
                classes = rng.permutation(len(pools))[:way]
                train, test = [], []
                for new_label, cls in enumerate(classes):
                    order = rng.permutation(max_shot + num_queries)
                    pool = pools[cls]
                    train += [(pool[j], new_label, int(cls))
                              for j in order[:shot]]
                    test += [(pool[j], new_label, int(cls))
                             for j in order[max_shot:]]
                train = [train[j] for j in rng.permutation(len(train))]
                test = [test[j] for j in rng.permutation(len(test))]
                with atomic_open(osp.join(folder, f'{fold}.pkl'), 'wb') as f:
                    pickle.dump(dict(train=train, test=test), f)
    return root


def write_shapenetpart(root: str, seed: int, per_class: int,
                       test_per_class: int, num_points: int,
                       progress: _Progress) -> str:
    """ShapeNetPart layout with per-point part labels.

    Uses the 16 real categories, synset offsets and global part ids;
    ``per_class`` shapes go to train, ``max(1, per_class // 4)`` to val and
    ``test_per_class`` to test.

    Args:
        root (str): output folder.
        seed (int): base seed.
        per_class (int): training shapes per category.
        test_per_class (int): test shapes per category.
        num_points (int): rows per shape file.
        progress (_Progress): progress counter.

    Returns:
        str: ``root``.
    """
    os.makedirs(osp.join(root, 'train_test_split'), exist_ok=True)
    val_per_class = max(1, per_class // 4)
    splits = {'train': [], 'val': [], 'test': []}
    for cat_idx, (category, recipe) in enumerate(PART_RECIPES.items()):
        synset = SHAPENETPART_SYNSETS[category]
        part_ids = np.asarray(SHAPENETPART_SEG_CLASSES[category])
        os.makedirs(osp.join(root, synset), exist_ok=True)
        total = per_class + val_per_class + test_per_class
        for i in range(total):
            split = ('train' if i < per_class else 'val' if i < per_class +
                     val_per_class else 'test')
            pts, nrm, lab = generate_shape(
                recipe, num_points, _rng(seed, 'shapenetpart', cat_idx, i),
                PART_STYLE)
            token = f's{cat_idx:02d}{i:06d}'
            rows = np.concatenate(
                [pts, nrm, part_ids[lab][:, None].astype(np.float32)], axis=1)
            line = ' '.join(['%.6f'] * 6 + ['%d']) + '\n'
            with atomic_open(osp.join(root, synset, f'{token}.txt'), 'w') as f:
                f.write((line * len(rows)) % tuple(rows.ravel()))
            splits[split].append(f'shape_data/{synset}/{token}')
            progress.update()
    _write_lines(
        osp.join(root, 'synsetoffset2category.txt'),
        [f'{c}\t{SHAPENETPART_SYNSETS[c]}' for c in PART_RECIPES])
    for split, entries in splits.items():
        order = _rng(seed, 'shapenetpart', 999,
                     len(split)).permutation(len(entries))
        with atomic_open(
                osp.join(root, 'train_test_split',
                         f'shuffled_{split}_file_list.json'), 'w') as f:
            json.dump([entries[j] for j in order], f)
    return root


#: sub-folders written by :func:`generate_synthetic_datasets`
SYNTHETIC_LAYOUT = {
    'shapenet55': 'ShapeNet55-34',
    'modelnet_resampled': 'ModelNet/modelnet40_normal_resampled',
    'modelnet_h5': 'modelnet40_ply_hdf5_2048',
    'scanobjectnn': 'ScanObjectNN',
    'fewshot': 'ModelNetFewshot',
    'shapenetpart': 'shapenetcore_partanno_segmentation_benchmark_v0_normal',
}


def generate_synthetic_datasets(out_dir: str,
                                seed: int = 0,
                                per_class: int = 8,
                                test_per_class: Optional[int] = None,
                                num_points: int = 2048,
                                shapenet_points: int = 8192,
                                fewshot_points: int = 1024,
                                fewshot_folds: int = 2,
                                fewshot_queries: int = 10,
                                layouts: Optional[Sequence[str]] = None,
                                show_progress: bool = True) -> Dict[str, str]:
    """Write small synthetic datasets in the layouts of the public ones.

    Args:
        out_dir (str): output folder (e.g. ``data/synthetic``).
        seed (int): base seed; the output is a function of the arguments.
        per_class (int): training shapes per class / category.
        test_per_class (int, optional): test shapes per class; defaults to
            ``max(10, per_class // 2)``, so that one test cloud moves a
            15- or 16-class accuracy by under one point.
        num_points (int): points per cloud of the ModelNet40 (txt and h5),
            ScanObjectNN and ShapeNetPart layouts.
        shapenet_points (int): points per ShapeNet-55 ``.npy`` cloud.
        fewshot_points (int): points per few-shot cloud.
        fewshot_folds (int): episodes per few-shot setting.
        fewshot_queries (int): query shapes per class of an episode.
        layouts (Sequence[str], optional): subset of
            :data:`SYNTHETIC_LAYOUT` keys to write; None writes all.
        show_progress (bool): report progress on stdout: a live bar on a
            terminal, at most ten plain lines otherwise.

    Returns:
        dict[str, str]: layout key -> folder written.
    """
    layouts = list(SYNTHETIC_LAYOUT) if layouts is None else list(layouts)
    unknown = set(layouts) - set(SYNTHETIC_LAYOUT)
    if unknown:
        raise ValueError(f'unknown layouts {sorted(unknown)}; choose from '
                         f'{list(SYNTHETIC_LAYOUT)}')
    for name, value in (('per_class', per_class), ('num_points', num_points),
                        ('shapenet_points',
                         shapenet_points), ('fewshot_points', fewshot_points),
                        ('fewshot_folds', fewshot_folds), ('fewshot_queries',
                                                           fewshot_queries)):
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f'{name} must be a positive int, got {value!r}')
    if test_per_class is None:
        test_per_class = max(10, per_class // 2)
    if not isinstance(test_per_class, int) or test_per_class <= 0:
        raise ValueError('test_per_class must be a positive int, got '
                         f'{test_per_class!r}')
    num_cls = len(CLASSIFICATION_RECIPES)
    counts = {
        'shapenet55':
        num_cls * (per_class + test_per_class),
        'modelnet_resampled':
        num_cls * (per_class + test_per_class),
        'modelnet_h5':
        num_cls * (per_class + test_per_class),
        'scanobjectnn':
        15 * (per_class + test_per_class),
        'fewshot':
        num_cls * (20 + fewshot_queries),
        'shapenetpart':
        len(PART_RECIPES) *
        (per_class + max(1, per_class // 4) + test_per_class),
    }
    progress = _Progress(sum(counts[k] for k in layouts), show_progress)
    folders = {k: osp.join(out_dir, SYNTHETIC_LAYOUT[k]) for k in layouts}
    common = dict(
        seed=seed,
        per_class=per_class,
        test_per_class=test_per_class,
        progress=progress)
    writers = {
        'shapenet55':
        lambda root: write_shapenet55(
            root, num_points=shapenet_points, **common),
        'modelnet_resampled':
        lambda root: write_modelnet_resampled(
            root, num_points=num_points, **common),
        'modelnet_h5':
        lambda root: write_modelnet_h5(root, num_points=num_points, **common),
        'scanobjectnn':
        lambda root: write_scanobjectnn(root, num_points=num_points, **common),
        'fewshot':
        lambda root: write_fewshot(
            root,
            seed=seed,
            num_folds=fewshot_folds,
            num_queries=fewshot_queries,
            num_points=fewshot_points,
            progress=progress),
        'shapenetpart':
        lambda root: write_shapenetpart(root, num_points=num_points, **common),
    }
    for key in layouts:
        writers[key](folders[key])
    progress.finish()
    return folders

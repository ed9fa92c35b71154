"""Surface primitives of the synthetic shapes.

Each primitive (sphere zone, box, frustum, torus, pyramid) is a placed
:class:`SurfacePart` with a part label. Shapes are composed z-up;
:mod:`.sampling` turns them y-up at the end.
"""
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence, Tuple

import numpy as np

Array = np.ndarray


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
        at (Sequence[float]): ``[3]`` translation into the shape frame.
    """

    sampler: Callable[[int, np.random.Generator], Tuple[Array, Array]]
    area: float
    label: int = 0
    rot: Array = field(default_factory=lambda: np.eye(3))
    at: Sequence[float] = field(default_factory=lambda: np.zeros(3))

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


def unit_vectors(v: Array) -> Array:
    """Scale vectors to unit length (zero vectors stay near zero).

    Args:
        v (np.ndarray): ``[..., 3]`` vectors.

    Returns:
        np.ndarray: ``v`` divided by its norm along the last axis.
    """
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


def box(size: Sequence[float], **place) -> SurfacePart:
    """Surface of an axis-aligned box centred at the origin.

    Args:
        size (Sequence[float]): edge lengths along x, y, z.
        **place: ``label``, ``rot``, ``at`` of :class:`SurfacePart`.

    Returns:
        SurfacePart: the surface.
    """
    size = np.asarray(size, dtype=float)
    faces = [(axis, sign) for axis in range(3) for sign in (1, -1)]
    areas = np.array([np.prod(np.delete(size, axis)) for axis, _ in faces])

    def sample(n, rng):
        which = rng.choice(len(faces), n, p=areas / areas.sum())
        pts = rng.uniform(-0.5, 0.5, (n, 3)) * size
        nrm = np.zeros((n, 3))
        for k, (axis, sign) in enumerate(faces):
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
    areas = np.array([
        math.pi * (r_bottom + r_top) * slant,
        math.pi * r_bottom**2 if cap_bottom else 0.0,
        math.pi * r_top**2 if cap_top else 0.0
    ])

    def sample(n, rng):
        which = rng.choice(3, n, p=areas / areas.sum())
        phi = rng.uniform(0, 2 * math.pi, n)
        u = rng.uniform(0, 1, n)
        # side: radius grows linearly with t; density proportional to radius
        t = u
        if abs(r_top - r_bottom) >= 1e-9:
            t = np.sqrt(r_bottom**2 + u * (r_top**2 - r_bottom**2)) - r_bottom
            t = t / (r_top - r_bottom)
        r = r_bottom + (r_top - r_bottom) * t
        z = (t - 0.5) * height
        side = [np.cos(phi) * height, np.sin(phi) * height]
        nrm = unit_vectors(np.stack(side + [np.full(n, r_bottom - r_top)], 1))
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
        cos_v = np.cos(v)
        nrm = np.stack([cos_v * np.cos(u), cos_v * np.sin(u), np.sin(v)], 1)
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
    normals = unit_vectors(cross)
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

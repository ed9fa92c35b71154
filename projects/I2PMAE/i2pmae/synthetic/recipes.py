"""Shape recipes: a random generator -> the placed primitives of a shape.

A recipe draws its proportions from the generator it is given and returns
a list of :class:`~.primitives.SurfacePart` (z-up). Part labels are local to
the shape (``0..k-1``); the class tables in :mod:`.class_tables` name the
recipes and map local part labels onto ShapeNetPart's global part ids.
The order of the draws is part of the output: reordering them changes the
generated data.
"""
import math
from typing import Callable, List

import numpy as np

from .primitives import (SurfacePart, box, frustum, pyramid, rotation,
                         sphere_zone, torus)

#: a shape recipe: random generator -> placed primitives (z-up)
Recipe = Callable[[np.random.Generator], List[SurfacePart]]
_X90 = rotation('x', math.pi / 2)  # z axis -> -y axis (lay along y)
_Y90 = rotation('y', math.pi / 2)  # z axis -> x axis (lay along x)
# local (x, y, z) -> world (y, z, x): an arc in the local xy plane (y >= 0)
# becomes a half ring in the world xz plane on the +x side
_RING_XZ = np.array([[0., 1., 0.], [0., 0., 1.], [1., 0., 0.]])
_UPPER, _LOWER = (0, math.pi / 2), (math.pi / 2, math.pi)  # hemispheres


def _legs(rng, half_x, half_y, height, radius, label, count=4):
    """Vertical cylinder legs standing on z=0 at the corners of a rect."""
    if count == 4:
        spots = [(sx * half_x, sy * half_y) for sx in (-1, 1)
                 for sy in (-1, 1)]
    else:
        spots = [(half_x * math.cos(a), half_x * math.sin(a))
                 for a in np.linspace(0, 2 * math.pi, count, endpoint=False)]
    legs = []
    for x, y in spots:
        r_top = radius * rng.uniform(0.7, 1.0)
        legs.append(
            frustum(radius, r_top, height, label=label, at=(x, y, height / 2)))
    return legs


def _rod(radius, height, **place):
    """Open cylinder along z (no caps)."""
    return frustum(radius, radius, height, False, False, **place)


def recipe_sphere(rng):
    return [sphere_zone(1.0)]


def recipe_box(rng):
    return [box(rng.uniform(0.6, 1.4, 3))]


def recipe_cylinder(rng):
    return [frustum(*[rng.uniform(0.3, 0.6)] * 2, rng.uniform(0.8, 2.0))]


def recipe_cone(rng):
    r, h = rng.uniform(0.4, 0.8), rng.uniform(0.8, 1.8)
    return [frustum(r, 0.0, h, cap_top=False)]


def recipe_torus(rng):
    return [torus(1.0, rng.uniform(0.2, 0.45))]


def recipe_capsule(rng):
    r, length = rng.uniform(0.25, 0.5), rng.uniform(0.6, 1.6)
    return [
        _rod(r, length),
        sphere_zone(r, _UPPER, at=(0, 0, length / 2)),
        sphere_zone(r, _LOWER, at=(0, 0, -length / 2))
    ]


def recipe_pyramid(rng):
    return [pyramid(*rng.uniform(0.8, 1.4, 2), rng.uniform(0.8, 1.6))]


def recipe_bowl(rng):
    rim, foot_r = rng.uniform(0.42, 0.6) * math.pi, rng.uniform(0.25, 0.4)
    return [
        sphere_zone(1.0, (rim, math.pi)),
        frustum(foot_r, foot_r * 1.1, 0.12, cap_top=False, at=(0, 0, -1.0))
    ]


def recipe_tube(rng):
    r = rng.uniform(0.3, 0.6)
    return [_rod(r, rng.uniform(0.8, 2.0))]


def recipe_table(rng):
    """Top (0), legs (1), stretchers (2)."""
    w, d = rng.uniform(1.2, 2.0), rng.uniform(0.7, 1.2)
    t, h = rng.uniform(0.05, 0.12), rng.uniform(0.6, 1.0)
    inset = rng.uniform(0.05, 0.15)
    parts = [box((w, d, t), label=0, at=(0, 0, h + t / 2))]
    parts += _legs(rng, w / 2 - inset, d / 2 - inset, h,
                   rng.uniform(0.03, 0.07), 1)
    if rng.uniform() < 0.6:
        z, y = h * rng.uniform(0.15, 0.4), d / 2 - inset
        bar = (w - 2 * inset, 0.04, 0.04)
        parts += [box(bar, label=2, at=(0, sy * y, z)) for sy in (-1, 1)]
    return parts


def recipe_chair(rng):
    """Back (0), seat (1), legs (2), arms (3)."""
    w, d = rng.uniform(0.8, 1.1), rng.uniform(0.8, 1.1)
    hs, hb = rng.uniform(0.8, 1.0), rng.uniform(0.7, 1.2)
    t = rng.uniform(0.06, 0.1)
    tilt = rotation('x', -rng.uniform(0.0, 0.25))
    parts = [
        box((w, d, t), label=1, at=(0, 0, hs)),
        box((w, t, hb), label=0, rot=tilt, at=(0, -d / 2, hs + hb / 2))
    ]
    parts += _legs(rng, w / 2 - 0.06, d / 2 - 0.06, hs - t / 2,
                   rng.uniform(0.03, 0.05), 2)
    if rng.uniform() < 0.5:
        parts += [
            box((0.06, d * 0.9, 0.06), label=3, at=(sx * w / 2, 0, hs + 0.3))
            for sx in (-1, 1)
        ]
    return parts


def recipe_stool(rng):
    r, h = rng.uniform(0.35, 0.55), rng.uniform(0.8, 1.3)
    return [frustum(r, r, 0.08, label=0, at=(0, 0, h + 0.04))] + _legs(
        rng, r * 0.8, r * 0.8, h, rng.uniform(0.03, 0.05), 1,
        int(rng.integers(3, 5)))


def recipe_lamp(rng):
    """Base (0), pole (1), shade (2), bulb (3)."""
    pole, shade_h = rng.uniform(1.0, 1.8), rng.uniform(0.3, 0.5)
    base = rng.uniform(0.3, 0.5), rng.uniform(0.2, 0.3)
    shade = rng.uniform(0.35, 0.6), rng.uniform(0.15, 0.3)
    shade_z = pole + shade_h / 4
    return [
        frustum(*base, 0.06, label=0, at=(0, 0, 0.03)),
        _rod(0.03, pole, label=1, at=(0, 0, pole / 2)),
        frustum(*shade, shade_h, False, False, label=2, at=(0, 0, shade_z)),
        sphere_zone(0.12, label=3, at=(0, 0, pole))
    ]


def recipe_mug(rng):
    """Body (0), handle (1)."""
    r, h = rng.uniform(0.4, 0.55), rng.uniform(0.8, 1.2)
    major = rng.uniform(0.22, 0.32)
    return [
        frustum(r, r * rng.uniform(1.0, 1.15), h, True, False, label=0),
        torus(major, 0.05, math.pi, label=1, rot=_RING_XZ, at=(r, 0, 0))
    ]


def recipe_bottle(rng):
    r, h = rng.uniform(0.3, 0.45), rng.uniform(0.9, 1.4)
    neck_r, neck_h = rng.uniform(0.08, 0.15), rng.uniform(0.2, 0.5)
    shoulder = rng.uniform(0.2, 0.4)
    shoulder_z, neck_z = h + shoulder / 2, h + shoulder + neck_h / 2
    return [
        frustum(r, r, h, True, False, at=(0, 0, h / 2)),
        frustum(r, neck_r, shoulder, False, False, at=(0, 0, shoulder_z)),
        _rod(neck_r, neck_h, at=(0, 0, neck_z))
    ]


def recipe_shelf(rng):
    w, d = rng.uniform(0.8, 1.4), rng.uniform(0.3, 0.5)
    h, t = rng.uniform(1.2, 2.0), 0.04
    parts = [box((t, d, h), at=(sx * w / 2, 0, h / 2)) for sx in (-1, 1)]
    for z in np.linspace(t / 2, h - t / 2, int(rng.integers(3, 6))):
        parts.append(box((w, d, t), at=(0, 0, z)))
    if rng.uniform() < 0.5:
        parts.append(box((w, t, h), at=(0, -d / 2, h / 2)))
    return parts


def recipe_airplane(rng):
    """Body (0), wing (1), tail (2), engine (3)."""
    length, r = rng.uniform(2.0, 3.0), rng.uniform(0.15, 0.25)
    span, chord = rng.uniform(2.0, 3.0), rng.uniform(0.35, 0.6)
    back, tail_rot = -length / 2, _Y90 @ rotation('x', math.pi)
    parts = [
        _rod(r, length, label=0, rot=_Y90),
        sphere_zone(r, _UPPER, label=0, rot=_Y90, at=(length / 2, 0, 0)),
        frustum(
            r,
            0.05,
            0.6,
            False,
            True,
            label=0,
            rot=tail_rot,
            at=(back - 0.3, 0, 0)),
        box((chord, span, 0.05), label=1, at=(0.1, 0, -r / 2)),
        box((0.35, 0.04, 0.5), label=2, at=(back - 0.35, 0, 0.3)),
        box((0.3, span * 0.35, 0.04), label=2, at=(back - 0.35, 0, 0.05))
    ]
    for sy in (-1, 1):
        engine = (0.2, sy * span * 0.25, -r - 0.1)
        parts.append(frustum(0.1, 0.1, 0.5, label=3, rot=_Y90, at=engine))
    return parts


def recipe_bag(rng):
    """Body (0), handle (1)."""
    w, d = rng.uniform(1.0, 1.6), rng.uniform(0.3, 0.6)
    h, handle = rng.uniform(0.7, 1.1), rng.uniform(0.2, 0.35)
    return [
        box((w, d, h), label=0),
        torus(handle, 0.04, math.pi, label=1, rot=_X90, at=(0, 0, h / 2))
    ]


def recipe_cap(rng):
    """Dome (0), peak (1)."""
    dome = (0, math.pi / 2 * rng.uniform(0.85, 1.0))
    peak = (rng.uniform(0.6, 0.9), rng.uniform(1.0, 1.5), 0.04)
    peak_rot = rotation('y', rng.uniform(0, 0.3))
    return [
        sphere_zone(1.0, dome, label=0),
        box(peak, label=1, rot=peak_rot, at=(1.2, 0, 0.05))
    ]


def recipe_car(rng):
    """Body (0), cabin (1), wheels (2), lights (3)."""
    length, w = rng.uniform(2.5, 3.5), rng.uniform(1.1, 1.5)
    h, wheel_r = rng.uniform(0.4, 0.6), rng.uniform(0.25, 0.35)
    cabin = (length * rng.uniform(0.4, 0.6), w * 0.9, h * 0.8)
    parts = [
        box((length, w, h), label=0, at=(0, 0, wheel_r + h / 2)),
        box(cabin, label=1, at=(-0.2, 0, wheel_r + h * 1.4))
    ]
    for sx in (-1, 1):
        for sy in (-1, 1):
            wheel = (sx * length * 0.32, sy * w / 2, wheel_r)
            parts.append(
                frustum(wheel_r, wheel_r, 0.2, label=2, rot=_X90, at=wheel))
        light = (length / 2, sx * w * 0.35, wheel_r + h * 0.6)
        parts.append(sphere_zone(0.08, label=3, at=light))
    return parts


def recipe_earphone(rng):
    """Earcups (0), headband (1), cord (2)."""
    half = rng.uniform(0.6, 0.9)
    parts = [torus(half, 0.05, math.pi, label=1, rot=_X90)]
    parts += [
        frustum(0.3, 0.3, 0.15, label=0, rot=_Y90, at=(sx * half, 0, -0.1))
        for sx in (-1, 1)
    ]
    cord = rng.uniform(0.6, 1.2)
    parts.append(_rod(0.03, cord, label=2, at=(-half, 0, -0.2 - cord / 2)))
    return parts


def recipe_guitar(rng):
    """Body (0), neck (1), head (2)."""
    r1, r2 = rng.uniform(0.45, 0.6), rng.uniform(0.32, 0.45)
    neck = rng.uniform(1.2, 1.7)
    return [
        frustum(r1, r1, 0.2, label=0, rot=_X90),
        frustum(r2, r2, 0.2, label=0, rot=_X90, at=(0, 0, r1 + r2 * 0.6)),
        box((0.14, 0.08, neck), label=1, at=(0, 0, r1 + r2 + neck / 2)),
        box((0.22, 0.08, 0.35), label=2, at=(0, 0, r1 + r2 + neck + 0.17))
    ]


def recipe_knife(rng):
    """Blade (0), handle (1)."""
    blade, handle = rng.uniform(1.2, 2.0), rng.uniform(0.6, 0.9)
    return [
        pyramid(0.03, rng.uniform(0.2, 0.35), blade, label=0, rot=_Y90),
        frustum(0.07, 0.08, handle, label=1, rot=_Y90, at=(-handle / 2, 0, 0))
    ]


def recipe_laptop(rng):
    """Keyboard (0), screen (1)."""
    w, d = rng.uniform(1.3, 1.7), rng.uniform(0.9, 1.2)
    opening = rotation('x', rng.uniform(-0.5, 0.1))
    return [
        box((w, d, 0.05), label=0),
        box((w, 0.04, d), label=1, rot=opening, at=(0, -d / 2, d / 2))
    ]


def recipe_motorbike(rng):
    """Wheels (0), body (1), seat (2), handle (3), light (4), exhaust (5)."""
    wheel_r, base = rng.uniform(0.35, 0.45), rng.uniform(1.3, 1.7)
    parts = [
        torus(wheel_r, 0.08, label=0, rot=_X90, at=(x, 0, wheel_r))
        for x in (-base / 2, base / 2)
    ]
    handle = (base * 0.4, 0, wheel_r + 0.65)
    exhaust = (-base * 0.2, 0.22, wheel_r)
    return parts + [
        box((base * 0.7, 0.3, 0.35), label=1, at=(0, 0, wheel_r + 0.25)),
        box((0.55, 0.3, 0.08), label=2, at=(-0.3, 0, wheel_r + 0.47)),
        frustum(0.03, 0.03, 0.7, label=3, rot=_X90, at=handle),
        sphere_zone(0.1, label=4, at=(base * 0.5, 0, wheel_r + 0.45)),
        frustum(0.06, 0.05, 0.7, label=5, rot=_Y90, at=exhaust)
    ]


def recipe_pistol(rng):
    """Barrel (0), grip (1), trigger (2)."""
    barrel, grip = rng.uniform(0.9, 1.3), rng.uniform(0.6, 0.8)
    grip_at = (-barrel / 2 + 0.2, 0, -grip / 2)
    trigger_at = (-barrel / 2 + 0.45, 0, -0.13)
    trigger_rot = _X90 @ rotation('z', math.pi)
    return [
        box((barrel, 0.18, 0.25), label=0),
        box((0.25, 0.16, grip), label=1, rot=rotation('y', -0.3), at=grip_at),
        torus(0.09, 0.02, math.pi, label=2, rot=trigger_rot, at=trigger_at)
    ]


def recipe_rocket(rng):
    """Body (0), nose (1), fins (2)."""
    r, h = rng.uniform(0.2, 0.3), rng.uniform(1.5, 2.5)
    nose = rng.uniform(0.4, 0.7)
    parts = [
        frustum(r, r, h, True, False, label=0, at=(0, 0, h / 2)),
        frustum(r, 0, nose, False, False, label=1, at=(0, 0, h + nose / 2))
    ]
    count = int(rng.integers(3, 5))
    for a in np.linspace(0, 2 * math.pi, count, endpoint=False):
        at = ((r + 0.15) * math.cos(a), (r + 0.15) * math.sin(a), 0.25)
        parts.append(
            box((0.35, 0.03, 0.45), label=2, rot=rotation('z', a), at=at))
    return parts


def recipe_skateboard(rng):
    """Deck (0), wheels (1), trucks (2)."""
    length, w = rng.uniform(2.0, 2.6), rng.uniform(0.5, 0.7)
    parts = [box((length, w, 0.04), label=0, at=(0, 0, 0.3))]
    for sx in (-1, 1):
        x = sx * length * 0.33
        parts.append(box((0.12, w * 0.8, 0.1), label=2, at=(x, 0, 0.22)))
        for sy in (-1, 1):
            wheel = (x, sy * w * 0.45, 0.1)
            parts.append(
                frustum(0.08, 0.08, 0.08, label=1, rot=_X90, at=wheel))
    return parts

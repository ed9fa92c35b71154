"""Synthetic shapes: the generated data is pinned for fixed seeds.

Any change of the data (a reordered random draw, a changed recipe or file
format) fails here. Floats are compared through order-sensitive weighted
sums with a small tolerance (for last-bit differences of math libraries),
integer and text content through exact SHA-256 digests. When a change is
intended, print the new values with ``PYTHONPATH=. python
tests/test_synthetic_pinned_output.py``, paste them here and say so in the
commit.
"""
import glob
import hashlib
import json
import os.path as osp
import pickle
import re

import h5py
import numpy as np
import pytest
from conftest import TINY_SYNTHETIC

from projects.I2PMAE.i2pmae.synthetic import (CLASSIFICATION_RECIPES,
                                              CLASSIFICATION_STYLE,
                                              PART_RECIPES, PART_STYLE,
                                              SYNTHETIC_LAYOUT, generate_shape,
                                              generate_synthetic_datasets)

TINY = dict(TINY_SYNTHETIC, seed=3)

#: (style name, recipe name) -> (points digest, normals digest, part label
#: counts) of ``generate_shape(recipe, 64, default_rng([11, index]), style)``
PINNED_SHAPES = {
    'classification/sphere': [-2.113184476953916, -20.220707355728443, [64]],
    'classification/box': [-0.41127861120021203, -20.202709743509274, [64]],
    'classification/cylinder': [-1.749522618491067, -2.529058356172679, [64]],
    'classification/cone': [2.7195470713573284, -19.090838233155264, [64]],
    'classification/torus': [-0.8117206750257178, 11.770461153930189, [64]],
    'classification/capsule': [-1.8818678862880924, -4.316444011602591, [64]],
    'classification/pyramid': [2.5945172108818317, 1.229078142430768, [64]],
    'classification/bowl': [-0.965000042590801, -42.908798028768594, [64]],
    'classification/tube': [4.33164810726702, 7.525888273160884, [64]],
    'classification/table': [2.053871498331724, -1.2499974306614305, [51, 13]],
    'classification/chair':
    [1.143247180579641, -12.544236119012519, [18, 28, 13, 5]],
    'classification/stool': [-1.142277744821766, -9.29809964963123, [43, 21]],
    'classification/lamp':
    [1.4099813587549122, 14.446465772240183, [29, 5, 25, 5]],
    'classification/mug': [0.40578269524163124, -2.2811015549491294, [61, 3]],
    'classification/bottle': [-4.178958674873279, 8.955244240616155, [64]],
    'classification/shelf': [0.4291713976634036, -10.048588893269015, [64]],
    'part/Airplane':
    [-0.6522481842307819, -1.86400978845003, [23, 14, 15, 12]],
    'part/Bag': [-0.4126276941689606, -0.34178503794858806, [62, 2]],
    'part/Cap': [0.6941818867295657, 14.53527455338087, [50, 14]],
    'part/Car': [0.461061601808626, -12.418765823927306, [39, 18, 7]],
    'part/Chair': [0.7383209325968054, 4.166277071778936, [24, 27, 13]],
    'part/Earphone': [0.7212525784136741, 11.408893381112566, [48, 9, 7]],
    'part/Guitar': [1.4223303312467634, -6.390555161997403, [54, 7, 3]],
    'part/Knife': [1.9054537547477364, -1.3684545929119443, [38, 26]],
    'part/Lamp': [-2.0751417182198186, 12.17726102204114, [36, 5, 17, 6]],
    'part/Laptop': [1.356346975174533, 16.284370444071392, [29, 35]],
    'part/Motorbike':
    [1.7061930157161007, -10.730328508052997, [29, 22, 8, 1, 2, 2]],
    'part/Mug': [-1.1361608028897052, -39.666787316998295, [60, 4]],
    'part/Pistol': [-0.4543371376037817, -6.667299245852315, [38, 26]],
    'part/Rocket': [-0.30662094584802735, -6.566019805940598, [38, 12, 14]],
    'part/Skateboard': [2.4617257387979516, 4.132070192452814, [47, 5, 12]],
    'part/Table': [-3.449043041573293, 23.597527678145333, [56, 8]]
}

#: layout key -> (SHA-256 of the exact content, weighted sum of the floats)
#: of the folders ``generate_synthetic_datasets(root, **TINY)`` writes
PINNED_LAYOUTS = {
    'shapenet55':
    ('ddb4749767a564e7f5da331937ed714b474ed2b3d2950aebf078a2b18b2efd29',
     30.538978564303264),
    'modelnet_resampled':
    ('884f35c1c556d4ef23084229b0e50d1c704dca742eed62c18d8149c4d6650545',
     122.57854215625468),
    'modelnet_h5':
    ('50eefdfd9a5e0c72a3475f65820e92f4e227adad0d1c432f5e4bbfc8168d356a',
     -2038.028556573614),
    'scanobjectnn':
    ('a5c5b7c81e72cd5349894d1ebfd7bdb3180f69c05370be46243686240ab10134',
     0.7868001383569958),
    'fewshot':
    ('8c24effce32587965e6171df2d88111c5d0265ca37a70252d94d7ca6c83b3743',
     -624.8186165698601),
    'shapenetpart':
    ('c4446a4f0ca1f5d207f28b661d4e3efbddcd9df9742b7c9de200d24dea69b536',
     609.2668003675614),
}


def weighted_sum(values: np.ndarray) -> float:
    """Order-sensitive digest: ``sum(values * linspace(1, 2, size))``."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    return float(flat @ np.linspace(1, 2, flat.size))


def shape_digests() -> dict:
    """Digests of one cloud per recipe and style (see ``PINNED_SHAPES``)."""
    out = {}
    styles = {
        'classification': (CLASSIFICATION_RECIPES, CLASSIFICATION_STYLE),
        'part': (PART_RECIPES, PART_STYLE)
    }
    for style_name, (recipes, style) in styles.items():
        for index, (name, recipe) in enumerate(recipes.items()):
            rng = np.random.default_rng([11, index])
            pts, nrm, lab = generate_shape(recipe, 64, rng, style)
            digest = [weighted_sum(pts), weighted_sum(nrm)]
            out[f'{style_name}/{name}'] = digest + [np.bincount(lab).tolist()]
    return out


def _file_content(path: str, exact: 'hashlib._Hash') -> list:
    """Feed a file's exact content to ``exact``; return its float digests."""
    if path.endswith('.npy'):
        return [weighted_sum(np.load(path))]
    if path.endswith('.h5'):
        with h5py.File(path, 'r') as f:
            arrays = [(key, f[key][()]) for key in sorted(f)]
        for key, array in arrays:
            exact.update(f'{key} {array.dtype} {array.shape};'.encode())
            if array.dtype.kind != 'f':
                exact.update(array.tobytes())
        return [weighted_sum(a) for _, a in arrays if a.dtype.kind == 'f']
    if path.endswith('.pkl'):
        with open(path, 'rb') as f:
            episode = pickle.load(f)
        items = [(split, *item) for split in sorted(episode)
                 for item in episode[split]]
        for split, cloud, label, source_label in items:
            exact.update(f'{split} {cloud.dtype} {cloud.shape} {label} '
                         f'{source_label};'.encode())
        return [weighted_sum(item[1]) for item in items]
    with open(path) as f:
        text = f.read()
    first_line = text.split('\n', 1)[0]
    # point rows hold numbers only; names and file lists hold letters
    if path.endswith('.txt') and re.fullmatch(r'[-\d., ]+', first_line):
        rows = np.array(
            [line.replace(',', ' ').split() for line in text.splitlines()],
            dtype=np.float64)
        if ',' not in text:  # ShapeNetPart rows end with the part id
            exact.update(rows[:, 6].astype(np.int64).tobytes())
            rows = rows[:, :6]
        exact.update(f'{rows.shape};'.encode())
        return [weighted_sum(rows)]
    if path.endswith('.json'):
        text = json.dumps(json.loads(text))
    exact.update(text.encode())
    return []


def layout_digests(root: str) -> dict:
    """Digests of every layout folder under ``root`` (``PINNED_LAYOUTS``)."""
    out = {}
    for key, folder in SYNTHETIC_LAYOUT.items():
        exact = hashlib.sha256()
        floats = []
        folder = osp.join(root, folder)
        for path in sorted(
                glob.glob(osp.join(folder, '**', '*.*'), recursive=True)):
            exact.update(osp.relpath(path, folder).encode() + b'\0')
            floats += _file_content(path, exact)
        out[key] = [exact.hexdigest(), weighted_sum(floats)]
    return out


def test_generated_shapes_are_pinned():
    digests = shape_digests()
    assert set(digests) == set(PINNED_SHAPES)
    for key, (pts, nrm, counts) in PINNED_SHAPES.items():
        got_pts, got_nrm, got_counts = digests[key]
        assert got_counts == counts, key
        assert got_pts == pytest.approx(pts, abs=1e-4), key
        assert got_nrm == pytest.approx(nrm, abs=1e-4), key


def test_written_layouts_are_pinned(tmp_path):
    generate_synthetic_datasets(str(tmp_path), **TINY)
    digests = layout_digests(str(tmp_path))
    assert set(digests) == set(PINNED_LAYOUTS)
    for key, (exact, floats) in PINNED_LAYOUTS.items():
        got_exact, got_floats = digests[key]
        assert got_exact == exact, f'{key}: integer or text content changed'
        assert got_floats == pytest.approx(floats, rel=1e-6, abs=1e-3), \
            f'{key}: float content changed'


if __name__ == '__main__':
    import tempfile
    print('PINNED_SHAPES =', shape_digests())
    with tempfile.TemporaryDirectory() as tmp:
        generate_synthetic_datasets(tmp, **TINY)
        print('PINNED_LAYOUTS =', layout_digests(tmp))

"""Dataset readers: tiny files in each public layout, read back; bad input."""
import json
import os
import os.path as osp
import pickle

import h5py
import numpy as np
import pytest
import torch
from mmdet3d.registry import DATASETS

import projects.I2PMAE.i2pmae  # noqa: F401  (registers the components)
from projects.I2PMAE.i2pmae import datasets
from projects.I2PMAE.i2pmae.datasets import file_io, point_sampling
from projects.I2PMAE.i2pmae.datasets.converters import modelnet40_fps_cache

PACK = [dict(type='PackPointCloudInputs')]


def cloud(n, seed, cols=3):
    return np.random.default_rng(seed).normal(size=(n,
                                                    cols)).astype(np.float32)


@pytest.fixture
def logged(monkeypatch):
    """Messages the point sampling and ModelNet40 cache modules log."""
    messages = []
    for module in (point_sampling, modelnet40_fps_cache):
        monkeypatch.setattr(module, 'print_log',
                            lambda msg, **kwargs: messages.append(msg))
    return messages


# ----------------------------------------------------------------- ShapeNet-55
def make_shapenet55(root, n_points=32):
    os.makedirs(osp.join(root, 'ShapeNet-55'))
    os.makedirs(osp.join(root, 'shapenet_pc'))
    lists = dict(
        train=['02691156-aaa.npy', '03001627-bbb.npy', '02691156-ccc.npy'],
        test=['04379243-ddd.npy'])
    for split, names in lists.items():
        with open(osp.join(root, 'ShapeNet-55', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
        for name in names:
            path = osp.join(root, 'shapenet_pc', name)
            np.save(path, cloud(n_points, hash(name) % 1000))
    return lists


def test_shapenet55_reads_back(tmp_path):
    root = str(tmp_path)
    lists = make_shapenet55(root)
    ds = datasets.ShapeNet55Dataset(
        data_root=root, split='train', pipeline=PACK)
    assert len(ds) == 3
    # classes span train and test taxonomies, sorted
    assert ds.metainfo['classes'] == ('02691156', '03001627', '04379243')
    out = ds[1]
    expected = np.load(osp.join(root, 'shapenet_pc', lists['train'][1]))
    assert torch.equal(out['inputs']['points'], torch.from_numpy(expected))
    sample = out['data_samples']
    assert sample.gt_label.tolist() == [1]
    assert sample.metainfo['taxonomy_id'] == '03001627'
    assert sample.metainfo['model_id'] == 'bbb'
    whole = datasets.ShapeNet55Dataset(
        data_root=root, split='train', whole=True)
    assert len(whole) == 4
    assert whole.get_data_info(3)['gt_label'] == 2


def test_shapenet55_bad_input(tmp_path):
    root = str(tmp_path / 'sn')
    with pytest.raises(FileNotFoundError, match='expected layout') as err:
        datasets.ShapeNet55Dataset(data_root=root)
    # the layout first; the last line (a traceback's last) names the path
    assert str(err.value).splitlines()[-1] == \
        f'ShapeNet55Dataset data_root not found: {root!r}'
    lists = make_shapenet55(root)
    os.remove(osp.join(root, 'ShapeNet-55', 'test.txt'))
    with pytest.raises(FileNotFoundError, match=r'test\.txt'):
        datasets.ShapeNet55Dataset(data_root=root, split='test')
    with pytest.raises(ValueError, match='split must be one of'):
        datasets.ShapeNet55Dataset(data_root=root, split='val')
    pc = osp.join(root, 'shapenet_pc')
    # a listed cloud is missing
    os.rename(osp.join(pc, lists['train'][2]), osp.join(pc, 'gone.npy'))
    with pytest.raises(FileNotFoundError, match='ccc.npy'):
        datasets.ShapeNet55Dataset(data_root=root)
    os.rename(osp.join(pc, 'gone.npy'), osp.join(pc, lists['train'][2]))
    ds = datasets.ShapeNet55Dataset(data_root=root, pipeline=PACK)
    path = osp.join(pc, lists['train'][0])
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:100])  # truncated
    with pytest.raises(ValueError, match='aaa.npy'):
        ds[0]
    np.save(path, np.zeros((10, 2), np.float32))
    with pytest.raises(ValueError, match=r'aaa\.npy.*\[N, 3\]'):
        ds[0]
    bad = cloud(8, 0)
    bad[3, 1] = np.nan
    np.save(path, bad)
    with pytest.raises(ValueError, match=r'aaa\.npy.*NaN'):
        ds[0]
    open(osp.join(root, 'ShapeNet-55', 'train.txt'), 'a').write('nodash.npy\n')
    with pytest.raises(ValueError, match='row 4'):
        datasets.ShapeNet55Dataset(data_root=root)


# ------------------------------------------------- ModelNet40 (resampled txt)
def make_modelnet(root, n_points=40, per_class=2):
    classes = ['airplane', 'flower_pot', 'chair']
    os.makedirs(root)
    with open(osp.join(root, 'modelnet40_shape_names.txt'), 'w') as f:
        f.write('\n'.join(classes) + '\n')
    clouds = {}
    for split, offset in (('train', 0), ('test', per_class)):
        ids = []
        for c, name in enumerate(classes):
            os.makedirs(osp.join(root, name), exist_ok=True)
            for i in range(offset, offset + per_class):
                shape_id = f'{name}_{i + 1:04d}'
                path = osp.join(root, name, shape_id + '.txt')
                rows = cloud(n_points, 10 * c + i, cols=6)
                np.savetxt(path, rows, fmt='%.6f', delimiter=',')
                rows = np.loadtxt(path, delimiter=',')
                clouds[shape_id] = rows.astype(np.float32)
                ids.append(shape_id)
        with open(osp.join(root, f'modelnet40_{split}.txt'), 'w') as f:
            f.write('\n'.join(ids) + '\n')
    return classes, clouds


def test_modelnet40_builds_and_reuses_cache(tmp_path):
    root = str(tmp_path / 'mn')
    classes, clouds = make_modelnet(root)
    ds = datasets.ModelNet40Dataset(
        data_root=root, split='train', cache_points=16, pipeline=PACK)
    cache = osp.join(root, 'modelnet40_train_16pts_fps.dat')
    assert ds.cache_file == cache and osp.isfile(cache)
    assert not [f for f in os.listdir(root) if f.endswith('.tmp')]
    with open(cache, 'rb') as f:
        points, labels = pickle.load(f)
    assert len(points) == len(labels) == 6
    assert points[0].shape == (16, 6) and points[0].dtype == np.float32
    assert labels[2].dtype == np.int32 and labels[2].tolist() == [1]
    # FPS picks distinct rows of the source file, starting at row 0
    src = clouds['flower_pot_0001']
    rows = [int(np.flatnonzero((src == p).all(axis=1))[0]) for p in points[2]]
    assert rows[0] == 0 and len(set(rows)) == 16
    out = ds[2]
    assert out['data_samples'].gt_label.tolist() == [1]
    assert out['inputs']['points'].shape == (16, 3)
    assert ds.metainfo['classes'] == tuple(classes)
    # a separate cache folder (for read-only data roots)
    elsewhere = str(tmp_path / 'cache')
    moved = datasets.ModelNet40Dataset(
        data_root=root, cache_points=16, cache_dir=elsewhere)
    assert osp.isfile(osp.join(elsewhere, 'modelnet40_train_16pts_fps.dat'))
    assert np.array_equal(moved._clouds[2], points[2])
    # the cache is used once it exists: the txt files are no longer needed
    for name in classes:
        for f in os.listdir(osp.join(root, name)):
            os.remove(osp.join(root, name, f))
    again = datasets.ModelNet40Dataset(
        data_root=root, cache_points=16, use_normals=True, pipeline=PACK)
    assert torch.equal(again[2]['inputs']['points'],
                       torch.from_numpy(points[2]))


def test_modelnet40_cache_converter_runs_on_its_own(tmp_path):
    """The converter writes the cache the dataset then reads unchanged."""
    root = str(tmp_path / 'mn')
    classes, clouds = make_modelnet(root)
    shape_ids = [f'{name}_{i:04d}' for name in classes for i in (1, 2)]
    labels = [classes.index(s.rsplit('_', 1)[0]) for s in shape_ids]
    name = modelnet40_fps_cache.modelnet40_fps_cache_name(40, 'train', 16)
    assert name == 'modelnet40_train_16pts_fps.dat'
    prepared = str(tmp_path / 'prepared')  # the folder is created
    cache = osp.join(prepared, name)
    paths = [
        osp.join(root, classes[c], f'{s}.txt')
        for s, c in zip(shape_ids, labels)
    ]
    points = modelnet40_fps_cache.build_modelnet40_fps_cache(
        paths, labels, cache, 16, batch_size=4)
    with open(cache, 'rb') as f:
        stored, stored_labels = pickle.load(f)
    assert [label.tolist() for label in stored_labels] == [[c] for c in labels]
    assert all(p.dtype == np.float32 and p.shape == (16, 6) for p in stored)
    for got, shape_id in zip(stored, shape_ids):
        src = clouds[shape_id]  # FPS keeps distinct rows of the source
        rows = {int(np.flatnonzero((src == q).all(axis=1))[0]) for q in got}
        assert len(rows) == 16
    # the dataset reads it (no build) and serves the same clouds
    ds = datasets.ModelNet40Dataset(
        data_root=root, cache_points=16, cache_dir=prepared, build_cache=False)
    assert [ds.get_data_info(i)['shape_id']
            for i in range(len(ds))] == shape_ids
    assert all(np.array_equal(a, b) for a, b in zip(ds._clouds, points))


def test_modelnet40_small_clouds_resampled_with_one_warning(tmp_path, logged):
    root = str(tmp_path / 'mn')
    make_modelnet(root, n_points=10)
    ds = datasets.ModelNet40Dataset(data_root=root, cache_points=16)
    warnings = [m for m in logged if 'fewer points' in m]
    assert len(warnings) == 1
    assert '6 of 6 point files' in warnings[0]
    assert 'expected at least cache_points=16' in warnings[0]
    assert 'fewer than 16 points are resampled' in warnings[0]
    assert 'truncated' not in warnings[0]  # all files are alike
    assert all(ds._clouds[i].shape == (16, 6) for i in range(len(ds)))


def test_modelnet40_truncated_txt_is_named(tmp_path, logged):
    """A txt file cut at a line boundary parses; the warning names it."""
    root = str(tmp_path / 'mn')
    make_modelnet(root, n_points=40)
    cut = osp.join(root, 'chair', 'chair_0002.txt')
    rows = open(cut).read().splitlines(keepends=True)

    def build_with_rows(num_rows):
        """The dataset built from a cut file; its 'fewer points' warnings."""
        open(cut, 'w').write(''.join(rows[:num_rows]))
        logged.clear()
        ds = datasets.ModelNet40Dataset(data_root=root, cache_points=16)
        os.remove(ds.cache_file)
        return ds, [m for m in logged if 'fewer points' in m]

    ds, warnings = build_with_rows(25)
    assert len(ds) == 6 and len(warnings) == 1
    assert f"{cut!r} has 25 points, expected 40 like most files" \
        in warnings[0]
    assert '1 of 6 point files' in warnings[0]
    assert 'truncated' in warnings[0] and 'resampled' not in warnings[0]
    # cut below cache_points: also resampled, and said so
    ds, warnings = build_with_rows(9)
    assert len(warnings) == 1
    assert f"{cut!r} has 9 points, expected 40" in warnings[0]
    assert 'fewer than 16 points are resampled' in warnings[0]
    assert ds._clouds[5].shape == (16, 6)  # chair_0002
    assert not build_with_rows(None)[1]  # whole files: no warning


def test_describe_short_files_names_at_most_five():
    sizes = [(f'f{i}.txt', 100) for i in range(10)]
    sizes += [(f'short{i}.txt', 50 + i) for i in range(7)]
    message = modelnet40_fps_cache.describe_short_files(sizes, 64)
    assert message.startswith('7 of 17 point files have fewer points')
    assert "'short4.txt' has 54 points, expected 100" in message
    assert 'short5' not in message and 'and 2 more' in message
    assert modelnet40_fps_cache.describe_short_files(sizes[:10], 64) is None


def test_modelnet40_crashed_build_leaves_no_cache(tmp_path, monkeypatch):
    root = str(tmp_path / 'mn')
    make_modelnet(root)
    real_read = modelnet40_fps_cache.read_point_txt
    calls = []

    def flaky_read(path, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt('simulated crash')
        return real_read(path, **kwargs)

    monkeypatch.setattr(modelnet40_fps_cache, 'read_point_txt', flaky_read)
    with pytest.raises(KeyboardInterrupt):
        datasets.ModelNet40Dataset(
            data_root=root, cache_points=8, fps_batch_size=2)
    assert not [f for f in os.listdir(root) if '.dat' in f]
    monkeypatch.setattr(modelnet40_fps_cache, 'read_point_txt', real_read)
    ds = datasets.ModelNet40Dataset(data_root=root, cache_points=8)
    assert len(ds) == 6


def test_modelnet40_bad_input(tmp_path):
    root = str(tmp_path / 'mn')
    with pytest.raises(FileNotFoundError, match='expected layout'):
        datasets.ModelNet40Dataset(data_root=root)
    make_modelnet(root)
    with pytest.raises(FileNotFoundError, match=r'8192pts_fps\.dat'):
        datasets.ModelNet40Dataset(data_root=root, build_cache=False)
    bad_file = osp.join(root, 'chair', 'chair_0001.txt')
    good = open(bad_file).read()
    lines = good.splitlines()
    for row_5, match in (('0.1,abc,0.3,0,0,1', r'chair_0001\.txt.*row 5'),
                         ('0.1,0.2,0.3', r'row 5: expected 6 values'),
                         (None, r'chair_0001\.txt.*empty'),
                         ('0.1,nan,0.3,0,0,1', r'chair_0001\.txt.*NaN')):
        rows = [] if row_5 is None else lines[:4] + [row_5] + lines[5:]
        open(bad_file, 'w').write('\n'.join(rows))
        with pytest.raises(ValueError, match=match):
            datasets.ModelNet40Dataset(data_root=root, cache_points=8)
    open(bad_file, 'w').write(good)
    open(osp.join(root, 'modelnet40_test.txt'), 'a').write('sofa_0001\n')
    with pytest.raises(ValueError, match="class 'sofa'.*not in the class"):
        datasets.ModelNet40Dataset(
            data_root=root, split='test', cache_points=8)
    # a truncated cache names the file
    datasets.ModelNet40Dataset(data_root=root, cache_points=8)
    cache = osp.join(root, 'modelnet40_train_8pts_fps.dat')
    data = open(cache, 'rb').read()
    open(cache, 'wb').write(data[:len(data) // 2])
    with pytest.raises(ValueError, match=r'8pts_fps\.dat.*corrupt'):
        datasets.ModelNet40Dataset(data_root=root, cache_points=8)
    # a cache with a label outside the class list
    points, labels = pickle.loads(data)
    labels[1] = np.array([7], np.int32)
    open(cache, 'wb').write(pickle.dumps([points, labels]))
    with pytest.raises(ValueError, match='label 7, outside the 3 classes'):
        datasets.ModelNet40Dataset(data_root=root, cache_points=8)


# --------------------------------------------------------- ModelNet40 (h5)
def write_h5(path, **arrays):
    with h5py.File(path, 'w') as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v)


def test_modelnet40_h5_reads_all_files(tmp_path, logged):
    root = str(tmp_path)
    data0 = cloud(3 * 20, 0).reshape(3, 20, 3)
    data1 = cloud(40, 1).reshape(2, 20, 3)
    labels = ([[0], [5], [39]], [[1], [2]])
    for i, (data, label) in enumerate(zip((data0, data1), labels)):
        path = osp.join(root, f'ply_data_train{i}.h5')
        write_h5(path, data=data, label=np.array(label, np.uint8))
    ds = datasets.ModelNet40H5Dataset(
        data_root=root, split='train', num_points=8, pipeline=PACK)
    assert len(ds) == 5 and len(ds.metainfo['classes']) == 40
    assert [ds.get_data_info(i)['gt_label']
            for i in range(5)] == [0, 5, 39, 1, 2]
    out = ds[3]
    assert torch.equal(out['inputs']['points'], torch.from_numpy(data1[0, :8]))
    assert out['data_samples'].metainfo['h5_file'] == 'ply_data_train1.h5'
    assert not logged
    big = datasets.ModelNet40H5Dataset(data_root=root, num_points=32)
    assert len(logged) == 1
    assert len(big[0]['points']) == 32


def test_modelnet40_h5_bad_input(tmp_path):
    root = str(tmp_path)
    with pytest.raises(FileNotFoundError, match=r'ply_data_test\*\.h5'):
        datasets.ModelNet40H5Dataset(data_root=root, split='test')
    path = osp.join(root, 'ply_data_train0.h5')
    write_h5(
        path, data=cloud(40, 0).reshape(2, 20, 3), label=np.array([[0], [40]]))
    with pytest.raises(ValueError, match=r'train0\.h5.*sample 1.*label 40'):
        datasets.ModelNet40H5Dataset(data_root=root)
    write_h5(path, data=np.zeros((2, 20, 2)), label=np.array([[0], [1]]))
    with pytest.raises(ValueError, match=r'train0\.h5.*\[n, N, 3\]'):
        datasets.ModelNet40H5Dataset(data_root=root)
    bad = cloud(40, 0).reshape(2, 20, 3)
    bad[1, 4, 2] = np.inf
    write_h5(path, data=bad, label=np.array([[0], [1]]))
    with pytest.raises(ValueError, match=r'train0\.h5.*sample 1 .*NaN or inf'):
        datasets.ModelNet40H5Dataset(data_root=root)
    write_h5(path, data=np.zeros((2, 20, 3)), label=np.array([[0], [1]]))
    content = open(path, 'rb').read()
    open(path, 'wb').write(content[:len(content) // 3])
    with pytest.raises(ValueError, match=r'cannot read HDF5 file.*train0'):
        datasets.ModelNet40H5Dataset(data_root=root)
    write_h5(path, points=bad)
    with pytest.raises(ValueError, match=r"train0\.h5.*'data', 'label'"):
        datasets.ModelNet40H5Dataset(data_root=root)


# ------------------------------------------------------------- ScanObjectNN
def make_scanobjectnn(root, n=4, n_points=16):
    files = {
        ('main_split', 'training_objectdataset.h5'): 0,
        ('main_split', 'test_objectdataset.h5'): 1,
        ('main_split', 'training_objectdataset_augmentedrot_scale75.h5'): 2,
        ('main_split', 'test_objectdataset_augmentedrot_scale75.h5'): 3,
        ('main_split_nobg', 'training_objectdataset.h5'): 4,
        ('main_split_nobg', 'test_objectdataset.h5'): 5,
    }
    out = {}
    for (folder, name), seed in files.items():
        os.makedirs(osp.join(root, folder), exist_ok=True)
        data = cloud(n * n_points, seed).reshape(n, n_points, 3)
        label = (np.arange(n) * 4 + seed) % 15
        write_h5(osp.join(root, folder, name), data=data, label=label)
        out[(folder, name)] = (data, label)
    return out


@pytest.mark.parametrize('variant,split,key', [
    ('obj_bg', 'train', ('main_split', 'training_objectdataset.h5')),
    ('obj_bg', 'test', ('main_split', 'test_objectdataset.h5')),
    ('obj_only', 'train', ('main_split_nobg', 'training_objectdataset.h5')),
    ('pb_t50_rs', 'test',
     ('main_split', 'test_objectdataset_augmentedrot_scale75.h5')),
])
def test_scanobjectnn_variants(tmp_path, variant, split, key):
    written = make_scanobjectnn(str(tmp_path))
    ds = datasets.ScanObjectNNDataset(
        data_root=str(tmp_path), variant=variant, split=split, pipeline=PACK)
    data, label = written[key]
    assert len(ds) == len(data) and ds.metainfo['classes'][1] == 'bin'
    for i in range(len(ds)):
        out = ds[i]
        assert torch.equal(out['inputs']['points'], torch.from_numpy(data[i]))
        assert out['data_samples'].gt_label.tolist() == [label[i]]


def test_scanobjectnn_bad_input(tmp_path):
    root = str(tmp_path)
    with pytest.raises(ValueError, match='variant must be one of'):
        datasets.ScanObjectNNDataset(data_root=root, variant='OBJ')
    make_scanobjectnn(root)
    os.remove(osp.join(root, 'main_split_nobg', 'test_objectdataset.h5'))
    with pytest.raises(
            FileNotFoundError,
            match=r'main_split_nobg.test_objectdataset\.h5'):
        datasets.ScanObjectNNDataset(
            data_root=root, variant='obj_only', split='test')
    path = osp.join(root, 'main_split', 'training_objectdataset.h5')
    open(path, 'wb').close()
    with pytest.raises(ValueError, match=r'training_objectdataset\.h5'):
        datasets.ScanObjectNNDataset(data_root=root)
    clouds = cloud(32, 0).reshape(2, 16, 3)
    write_h5(path, data=clouds, label=np.array([3, 15]))
    with pytest.raises(ValueError, match='label 15, outside the 15 classes'):
        datasets.ScanObjectNNDataset(data_root=root)
    write_h5(path, data=clouds, label=np.array([3]))
    with pytest.raises(ValueError, match='expected label of shape'):
        datasets.ScanObjectNNDataset(data_root=root)


# ------------------------------------------------------- ModelNet40 few-shot
def make_fewshot(root, way=5, shot=2, fold=0, n_points=12):
    folder = osp.join(root, f'{way}way_{shot}shot')
    os.makedirs(folder, exist_ok=True)
    episode = {
        'train': [(cloud(n_points, i, 6), i % way, 10 + i % way)
                  for i in range(way * shot)],
        'test': [(cloud(n_points, 100 + i, 6), i % way, 10 + i % way)
                 for i in range(way * 3)],
    }
    with open(osp.join(folder, f'{fold}.pkl'), 'wb') as f:
        pickle.dump(episode, f)
    return episode


def test_fewshot_reads_episode(tmp_path):
    episode = make_fewshot(str(tmp_path), way=5, shot=2, fold=3)
    args = dict(data_root=str(tmp_path), way=5, shot=2, fold=3, pipeline=PACK)
    ds = datasets.ModelNet40FewShotDataset(
        split='test', use_normals=True, **args)
    assert len(ds) == 15 and ds.metainfo['classes'][4] == 'way4'
    out = ds[7]
    assert torch.equal(out['inputs']['points'],
                       torch.from_numpy(episode['test'][7][0]))
    assert out['data_samples'].gt_label.tolist() == [2]
    assert out['data_samples'].metainfo['original_label'] == 12
    train = datasets.ModelNet40FewShotDataset(**args)
    assert len(train) == 10 and train[0]['inputs']['points'].shape == (12, 3)


def test_fewshot_bad_input(tmp_path):
    root = str(tmp_path)
    with pytest.raises(FileNotFoundError, match=r'5way_10shot.0\.pkl'):
        datasets.ModelNet40FewShotDataset(data_root=root)
    episode = make_fewshot(root, way=5, shot=10)
    path = osp.join(root, '5way_10shot', '0.pkl')
    episode['train'][3] = (episode['train'][3][0], 5, 0)
    open(path, 'wb').write(pickle.dumps(episode))
    with pytest.raises(ValueError, match='sample 3 has label 5'):
        datasets.ModelNet40FewShotDataset(data_root=root)
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:50])
    with pytest.raises(ValueError, match=r'0\.pkl.*corrupt'):
        datasets.ModelNet40FewShotDataset(data_root=root)
    episode['train'][3] = (episode['train'][3][0][:, :2], 1, 0)
    open(path, 'wb').write(pickle.dumps(episode))
    with pytest.raises(ValueError, match=r'train sample 3 .*\[N, 6\]'):
        datasets.ModelNet40FewShotDataset(data_root=root)
    with pytest.raises(ValueError, match='way must be a positive int'):
        datasets.ModelNet40FewShotDataset(data_root=root, way=0)


# --------------------------------------------------------------- ShapeNetPart
PART_FMT = ['%.6f'] * 6 + ['%d']  # xyz, normal, part label


def make_shapenetpart(root, n_points=20):
    cats = [('Airplane', '02691156', (0, 1, 2, 3)),
            ('Bag', '02773838', (4, 5)), ('Cap', '02954340', (6, 7))]
    os.makedirs(osp.join(root, 'train_test_split'))
    with open(osp.join(root, 'synsetoffset2category.txt'), 'w') as f:
        f.write(''.join(f'{c}\t{s}\n' for c, s, _ in cats))
    splits = {'train': [], 'val': [], 'test': []}
    rows_of = {}
    for k, (cat, synset, parts) in enumerate(cats):
        os.makedirs(osp.join(root, synset))
        for i, split in enumerate(['train', 'train', 'val', 'test']):
            token = f'tok{k}{i}'
            labels = np.array(parts)[np.arange(n_points) % len(parts)]
            rows = np.column_stack([cloud(n_points, 10 * k + i, 6), labels])
            np.savetxt(osp.join(root, synset, token + '.txt'), rows, PART_FMT)
            rows_of[token] = rows
            splits[split].append(f'shape_data/{synset}/{token}')
    for split, entries in splits.items():
        name = f'shuffled_{split}_file_list.json'
        with open(osp.join(root, 'train_test_split', name), 'w') as f:
            json.dump(entries[::-1], f)
    return rows_of


def test_shapenetpart_reads_points_and_parts(tmp_path):
    root = str(tmp_path)
    rows_of = make_shapenetpart(root)
    ds = datasets.ShapeNetPartDataset(
        data_root=root, split='trainval', use_normals=True, pipeline=PACK)
    assert len(ds) == 9
    assert ds.metainfo['classes'] == ('Airplane', 'Bag', 'Cap')
    assert ds.metainfo['seg_classes']['Bag'] == (4, 5)
    # ordered by category then token
    assert [ds.get_data_info(i)['token']
            for i in range(3)] == ['tok00', 'tok01', 'tok02']
    out = ds[4]  # Bag, tok11
    rows = rows_of['tok11']
    assert out['inputs']['points'].shape == (20, 6)
    assert np.allclose(out['inputs']['points'].numpy(), rows[:, :6], atol=1e-6)
    mask = out['data_samples'].gt_pts_seg.pts_semantic_mask
    assert mask.dtype == torch.long and mask.tolist() == rows[:, 6].tolist()
    assert out['data_samples'].gt_label.tolist() == [1]
    assert out['data_samples'].metainfo['category_id'] == 1
    test = datasets.ShapeNetPartDataset(
        data_root=root, split='test', pipeline=PACK)
    assert len(test) == 3 and test[0]['inputs']['points'].shape == (20, 3)
    only_cap = datasets.ShapeNetPartDataset(
        data_root=root, split='train', class_choice=['Cap'])
    assert len(only_cap) == 2
    assert only_cap.get_data_info(0)['category_id'] == 2


def test_shapenetpart_bad_input(tmp_path):
    root = str(tmp_path)
    make_shapenetpart(root)
    path = osp.join(root, '02773838', 'tok10.txt')
    rows = np.loadtxt(path)
    rows[6, 6] = 7  # a Cap part in a Bag
    np.savetxt(path, rows, PART_FMT)
    ds = datasets.ShapeNetPartDataset(
        data_root=root, split='train', pipeline=PACK)
    with pytest.raises(ValueError, match=r"tok10\.txt', row 7: part label 7"):
        ds[2]
    lines = open(path).read().splitlines()
    lines[2] = lines[2].replace(lines[2].split()[1], 'x')
    open(path, 'w').write('\n'.join(lines))
    with pytest.raises(ValueError, match=r"tok10\.txt', row 3: non-numeric"):
        ds[2]
    os.remove(
        osp.join(root, 'train_test_split', 'shuffled_val_file_list.json'))
    with pytest.raises(FileNotFoundError, match=r'shuffled_val_file_list'):
        datasets.ShapeNetPartDataset(data_root=root, split='trainval')
    categories = osp.join(root, 'synsetoffset2category.txt')
    open(categories, 'a').write('Spaceship\t99999999\n')
    with pytest.raises(ValueError, match="'Spaceship' is not in the class"):
        datasets.ShapeNetPartDataset(data_root=root, split='train')


def test_datasets_build_from_registry(tmp_path):
    make_scanobjectnn(str(tmp_path))
    ds = DATASETS.build(
        dict(
            type='ScanObjectNNDataset',
            data_root=str(tmp_path),
            variant='pb_t50_rs',
            pipeline=[
                dict(type='PointCloudRandomSample', num_points=8),
                dict(type='PackPointCloudInputs')
            ]))
    assert ds[0]['inputs']['points'].shape == (8, 3)


def test_seeded_dataloader_is_reproducible(tmp_path):
    """mmengine's seeding (sampler + worker init) fixes the augmentations."""
    from mmengine.runner import Runner
    make_scanobjectnn(str(tmp_path), n=8)

    def batches(seed):
        dataset = DATASETS.build(
            dict(
                type='ScanObjectNNDataset',
                data_root=str(tmp_path),
                pipeline=[
                    dict(type='PointCloudRandomSample', num_points=8),
                    dict(type='PointCloudRandomRotate'),
                    dict(type='PointCloudJitter'),
                    dict(type='PackPointCloudInputs')
                ]))
        loader = Runner.build_dataloader(
            dict(
                batch_size=4,
                num_workers=2,
                sampler=dict(type='DefaultSampler', shuffle=True),
                collate_fn=dict(type='default_collate'),
                dataset=dataset),
            seed=seed)
        return [b['inputs']['points'] for b in loader]

    first, second, other = batches(1), batches(1), batches(2)
    assert first[0].shape == (4, 8, 3)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))


# ------------------------------------------------------------ atomic writes
def test_atomic_open_replaces_only_complete_files(tmp_path):
    path = tmp_path / 'rows.txt'
    # a write that raises midway leaves no file under the final name
    with pytest.raises(RuntimeError, match='midway'):
        with file_io.atomic_open(str(path), 'w') as f:
            f.write('1,2,3\n')
            raise RuntimeError('midway')
    assert os.listdir(tmp_path) == []
    with file_io.atomic_open(str(path), 'w') as f:
        f.write('1,2,3\n')
    assert path.read_text() == '1,2,3\n'
    # ... and an existing file keeps its content (Ctrl-C included)
    with pytest.raises(KeyboardInterrupt):
        with file_io.atomic_open(str(path), 'wb') as f:
            f.write(b'4,5')
            raise KeyboardInterrupt
    assert path.read_text() == '1,2,3\n'
    assert os.listdir(tmp_path) == ['rows.txt']
    # same permissions as a file created with open()
    plain = tmp_path / 'plain.txt'
    plain.write_text('x')
    assert path.stat().st_mode == plain.stat().st_mode
    with pytest.raises(ValueError, match='mode'):
        with file_io.atomic_open(str(path), 'a'):
            pass


def test_atomic_path_for_writers_that_take_a_path(tmp_path):
    path = str(tmp_path / 'data.h5')
    with pytest.raises(ValueError, match='bad'):
        with file_io.atomic_path(path) as tmp:
            assert osp.dirname(tmp) == str(tmp_path)
            assert osp.basename(tmp).startswith('.data.h5.')
            with h5py.File(tmp, 'w') as f:
                f.create_dataset('data', data=np.ones(3))
            raise ValueError('bad')
    assert os.listdir(tmp_path) == []
    with file_io.atomic_path(path, fsync=True) as tmp:
        with h5py.File(tmp, 'w') as f:
            f.create_dataset('data', data=np.ones(3))
    assert os.listdir(tmp_path) == ['data.h5']
    assert file_io.read_h5_arrays(path, ['data'])['data'].tolist() == [1] * 3
    with pytest.raises(FileNotFoundError, match='nothing was written'):
        with file_io.atomic_path(path):
            pass

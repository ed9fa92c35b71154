"""The comparison of I2P-MAE with a depth-trained teacher, with a random
teacher, the 3D-only baseline and random init (CPU, tiny runs)."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from tools import train_depth_teacher
from tools.analysis_tools import teacher_comparison

#: the demo model with fewer tokens and layers, one short epoch
TINY_OPTIONS = [
    'model.tokenizer.num_groups=[64,32,8]', 'model.backbone.depths=[1,1,1]',
    'model.neck.depths=[1,1]', 'train_dataloader.batch_size=8',
    'train_dataloader.num_workers=0', 'svm_train_dataloader.num_workers=0',
    'svm_test_dataloader.num_workers=0', 'train_cfg.max_epochs=1'
]


def test_table_has_mean_std_and_every_seed():
    table, rows = teacher_comparison.summarise(
        {
            'a': [50.0, 60.0, 70.0],
            'b': [10.0, 10.0, 10.0]
        }, [0, 1, 2],
        digits=1)
    assert table.splitlines() == [
        '| encoder | svm/accuracy (mean ± std) | seed 0 | seed 1 | seed 2 |',
        '|---|---|---|---|---|',
        '| a | 60.0 ± 10.0 | 50.0 | 60.0 | 70.0 |',
        '| b | 10.0 ± 0.0 | 10.0 | 10.0 | 10.0 |',
    ]
    assert rows[0]['per_seed'] == {'0': 50.0, '1': 60.0, '2': 70.0}
    assert rows[0]['mean'] == 60.0 and rows[0]['std'] == 10.0


@pytest.fixture(scope='module')
def data_root(synthetic_data):
    """ShapeNet-55 (2 + 1 clouds per class), ModelNet40 h5 (32 + 16)."""
    return synthetic_data(['shapenet55', 'modelnet_h5'],
                          per_class=2,
                          test_per_class=1,
                          num_points=1024)


@pytest.fixture(scope='module')
def teacher(synthetic_data, tmp_path_factory):
    """A teacher of the config's sizes trained for one epoch (other data)."""
    root = synthetic_data(['modelnet_h5'],
                          seed=1,
                          per_class=2,
                          test_per_class=1,
                          num_points=256)
    out = str(tmp_path_factory.mktemp('teacher') / 'teacher.pt')
    cfg = Config.fromfile(
        osp.join(teacher_comparison.REPO_ROOT,
                 teacher_comparison.DEPTH_TEACHER_CONFIG)).model.teacher
    vision = cfg.vision_cfg
    train_depth_teacher.main([
        '--data-root',
        osp.join(root, 'modelnet40_ply_hdf5_2048'), '--out', out, '--epochs',
        '1', '--image-size',
        str(vision.image_size), '--patch-size',
        str(vision.patch_size), '--width',
        str(vision.width), '--layers',
        str(vision.layers), '--heads',
        str(vision.heads), '--embed-dim',
        str(cfg.embed_dim)
    ])
    return out


def test_comparison_runs_every_row_and_reuses_finished_runs(
        data_root, teacher, synthetic_data, tmp_path, capsys):
    args = [
        '--seeds', '0', '--work-root',
        str(tmp_path), '--data-root', data_root, '--teacher', teacher,
        '--cfg-options', *TINY_OPTIONS
    ]
    result = teacher_comparison.main(args)
    names = [row['name'] for row in result['rows']]
    assert names == [teacher_comparison.RANDOM_INIT
                     ] + [row.name for row in teacher_comparison.PRETRAININGS]
    for row in result['rows']:
        assert list(row['per_seed']) == ['0']
        assert 0 <= row['per_seed']['0'] <= 100
    with open(tmp_path / 'teacher_comparison.json') as f:
        assert json.load(f)['rows'] == result['rows']
    out = capsys.readouterr().out
    assert '| encoder | svm/accuracy (mean ± std) | seed 0 |' in out

    # each run used its row's teacher, data and the user's options
    def run_cfg(key, config):
        return Config.fromfile(
            osp.join(tmp_path, key, 'seed_0', osp.basename(config)))

    rows = {row.key: row for row in teacher_comparison.PRETRAININGS}
    cfgs = {key: run_cfg(key, row.config) for key, row in rows.items()}
    assert cfgs['point_m2ae'].model.teacher is None
    assert cfgs['i2pmae_random_teacher'].model.teacher.pretrained is None
    assert cfgs['i2pmae_depth_teacher'].model.teacher.pretrained == teacher
    for cfg in cfgs.values():
        assert cfg.randomness.seed == 0 and cfg.train_cfg.max_epochs == 1
        assert cfg.train_dataloader.dataset.data_root == osp.join(
            data_root, 'ShapeNet55-34')
    # the random row is the baseline run's untrained encoder
    with open(tmp_path / 'point_m2ae' / 'seed_0' / 'svm_vs_random' /
              'svm_vs_random.json') as f:
        scored = json.load(f)
    assert result['rows'][0]['per_seed']['0'] == scored[1]['svm/accuracy']
    assert result['rows'][1]['per_seed']['0'] == scored[0]['svm/accuracy']

    # a second call reads the finished runs instead of training again
    checkpoint = osp.join(tmp_path, 'point_m2ae', 'seed_0', 'epoch_1.pth')
    before = os.stat(checkpoint).st_mtime_ns
    assert teacher_comparison.main(args)['rows'] == result['rows']
    assert os.stat(checkpoint).st_mtime_ns == before

    # another SVM data root scores the finished pretraining without training
    # it again (its own score folder), and an ablation row trains its own
    dev = synthetic_data(['modelnet_h5'],
                         seed=2,
                         per_class=2,
                         test_per_class=1,
                         num_points=1024)
    dev_svm = osp.join(dev, 'modelnet40_ply_hdf5_2048')
    ablation = 'i2pmae_depth_teacher_no_2d_loss'
    result = teacher_comparison.main(
        args + ['--svm-data-root', dev_svm, '--rows', 'point_m2ae', ablation])
    assert os.stat(checkpoint).st_mtime_ns == before
    assert result['svm_data_root'] == dev_svm
    assert [row['name'] for row in result['rows']] == [
        teacher_comparison.RANDOM_INIT, 'Point-M2AE (3D only, random masking)',
        teacher_comparison.ROWS[ablation].name
    ]
    folders = os.listdir(tmp_path / 'point_m2ae' / 'seed_0')
    assert 'svm_vs_random' in folders
    assert teacher_comparison.score_folder(
        teacher_comparison.parse_args(['--svm-data-root', dev_svm])) in folders
    cfg = run_cfg(ablation, teacher_comparison.DEPTH_TEACHER_CONFIG)
    assert cfg.model.head.loss_2d.loss_weight == 0.0
    assert cfg.model.teacher.pretrained == teacher


@pytest.mark.parametrize('make_args, message', [
    (lambda root, tmp: ['--teacher', str(tmp / 'none.pt')],
     'the depth-trained teacher {tmp}/none.pt does not exist'),
    (lambda root, tmp: ['--data-root', str(tmp / 'nodata')],
     '{tmp}/nodata/ShapeNet55-34 does not exist'),
    (lambda root, tmp: ['--svm-data-root', str(tmp / 'dev')],
     '{tmp}/dev does not exist'),
])
def test_missing_inputs_fail_before_training(make_args, message, data_root,
                                             teacher, tmp_path):
    args = [
        '--work-root',
        str(tmp_path), '--teacher', teacher, '--data-root', data_root
    ]
    with pytest.raises(SystemExit) as info:
        teacher_comparison.main(args + make_args(data_root, tmp_path))
    assert message.format(tmp=tmp_path) in str(info.value)
    assert os.listdir(tmp_path) == []


def test_a_run_before_its_last_epoch_is_not_finished(tmp_path):
    config = tmp_path / 'run.py'
    config.write_text('train_cfg = dict(max_epochs=2)\n')
    last = tmp_path / 'last_checkpoint'
    assert teacher_comparison.finished_checkpoint(str(tmp_path),
                                                  str(config)) is None
    last.write_text(str(tmp_path / 'epoch_1.pth'))
    assert teacher_comparison.finished_checkpoint(str(tmp_path),
                                                  str(config)) is None
    last.write_text(str(tmp_path / 'epoch_2.pth'))
    assert teacher_comparison.finished_checkpoint(
        str(tmp_path), str(config)) == str(tmp_path / 'epoch_2.pth')


def test_seed_option_is_refused(capsys):
    with pytest.raises(SystemExit):
        teacher_comparison.parse_args(['--cfg-options', 'randomness.seed=3'])
    assert 'must not set randomness.seed' in capsys.readouterr().err


def test_teacher_feature_svm_scores_both_towers(data_root, teacher):
    from projects.I2PMAE.i2pmae.models import MultiViewDepthProjector
    from tools.analysis_tools import teacher_feature_svm
    from tools.train_depth_teacher import PIPELINE, batch_of, load_split
    h5 = osp.join(data_root, 'modelnet40_ply_hdf5_2048')
    results = teacher_feature_svm.main(
        ['--data-root', h5, '--teacher', teacher])
    assert list(results) == ['trained', 'random']
    for scores in results.values():
        assert 0 <= scores['accuracy'] <= 100 and scores['C'] > 0
        assert 0 <= scores['cv_accuracy'] <= 100
    # the feature of a cloud: max over patches, mean over the three views
    cfg = teacher_feature_svm.teacher_config(teacher)
    tower = teacher_feature_svm.CLIPTeacher(pretrained=teacher, **cfg)
    projector = MultiViewDepthProjector(
        image_size=cfg['vision_cfg']['image_size'])
    # fixed items: the pipeline samples the points at random
    dataset = load_split(h5, 'test', PIPELINE)
    items = [dataset[i] for i in range(7)]
    features, labels = teacher_feature_svm.teacher_features(
        tower, projector, items, batch_size=5)
    assert features.shape == (7, cfg['embed_dim'])
    points, label = batch_of(items, [6])
    patch_feats = tower(projector(points)[0])[0]
    expected = patch_feats.flatten(2).amax(-1).mean(0)
    assert labels[6] == label.item()
    assert np.allclose(features[6], expected.numpy(), atol=1e-5)


def test_teacher_feature_svm_names_a_missing_teacher(data_root, tmp_path):
    from tools.analysis_tools import teacher_feature_svm
    missing = str(tmp_path / 'none.pt')
    with pytest.raises(SystemExit) as info:
        teacher_feature_svm.main([
            '--data-root',
            osp.join(data_root, 'modelnet40_ply_hdf5_2048'), '--teacher',
            missing
        ])
    assert f'{missing}.json not found' in str(info.value)


@pytest.mark.parametrize('key', list(teacher_comparison.ROWS))
def test_every_row_builds_the_model_it_names(key):
    """Every row's overrides fit its config, and the model they build has
    the row's mask generator and 2D loss weight."""
    import argparse

    from mmdet3d.registry import MODELS
    from mmengine.config import DictAction
    from mmengine.registry import DefaultScope

    from projects.I2PMAE.i2pmae.engine.config_checks import apply_cfg_options
    row = teacher_comparison.ROWS[key]
    cfg = Config.fromfile(osp.join(teacher_comparison.REPO_ROOT, row.config))
    parser = argparse.ArgumentParser()
    parser.add_argument('--options', nargs='+', action=DictAction)
    options = parser.parse_args(['--options', *row.options
                                 ]).options if row.options else {}
    apply_cfg_options(cfg, options)
    if cfg.model.teacher is not None:
        # the trained rows read --teacher; the architecture is the config's
        cfg.model.teacher.pretrained = None
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg.model)
    masking = type(model.mask_generator).__name__
    assert masking == ('RandomMaskGenerator' if 'random_mask' in key
                       or key == 'point_m2ae' else 'GuidedMaskGenerator')
    if key == 'point_m2ae':
        assert model.teacher is None and model.head.loss_2d is None
        return
    weight = model.head.loss_2d.loss_weight
    assert weight == (0.0 if 'no_2d_loss' in key else
                      0.03 if '0.03' in key else 1.0)
    ratio = 0.6 if 'mask_0.6' in key else 0.8
    assert model.mask_generator.mask_ratio == ratio

"""The demo's tools: the reconstruction figure, the linear SVM of a
pretrained encoder beside the untrained one, the demo's data check (CPU).
"""
import copy
import json
import os.path as osp
import subprocess

import pytest
import torch
from mmdet3d.registry import MODELS, RUNNERS
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import DefaultScope
from reference_implementations import chamfer_l2

from tools import visualize_masking
from tools.analysis_tools import svm_vs_random

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'i2pmae_pretrain_synthetic.py')
# the demo model with fewer tokens and layers
SMALL_MODEL = dict(
    tokenizer=dict(num_groups=[64, 32, 8]),
    backbone=dict(depths=[1, 1, 1]),
    neck=dict(depths=[1, 1]))
SMALL_OPTIONS = [
    'model.tokenizer.num_groups=[64,32,8]', 'model.backbone.depths=[1,1,1]',
    'model.neck.depths=[1,1]'
]


@pytest.fixture(scope='module')
def synthetic_root(synthetic_data):
    """ShapeNet-55 (2 + 1 clouds per class) and ModelNet40 h5 (32 + 16)."""
    return synthetic_data(['shapenet55', 'modelnet_h5'],
                          per_class=2,
                          test_per_class=1,
                          num_points=1024)


def _svm_options(root):
    h5 = osp.join(root, 'modelnet40_ply_hdf5_2048')
    return {
        f'svm_{split}_dataloader.{key}': value
        for split in ('train', 'test')
        for key, value in (('dataset.data_root', h5), ('num_workers', 0))
    }


def test_reconstruction_sets_are_what_the_3d_loss_scores():
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(dict(model=SMALL_MODEL))
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    points = torch.rand(2, 1024, 3) * 2 - 1
    with torch.no_grad():
        out = model.forward_pretrain(points)
        sets = visualize_masking.reconstruction_sets(out, model)
    s = model.decoded_scale
    assert s == 1 and len(sets) == 2
    for b, item in enumerate(sets):
        masked = out['masks'][s][b]
        group = model.head.group_size
        assert item['target'].shape == item['predicted'].shape == (int(
            masked.sum()), group, 3)
        centers = out['scales'][s].centers[b][masked]
        assert torch.equal(item['centers'], centers)
        assert torch.allclose(item['target'] - centers[:, None],
                              out['scales'][s].neighborhoods[b][masked])
        # the visible input: distinct points of the cloud, from the visible
        # finest-scale tokens only
        fine_visible = ~out['masks'][0][b]
        assert int(item['visible_tokens']) == int(fine_visible.sum())
        assert int(item['fine_tokens']) == 64
        assert 0 < len(item['visible']) <= int(fine_visible.sum()) * 16
        assert len(torch.unique(item['visible'],
                                dim=0)) == len(item['visible'])
        same = item['visible'][:, None] == points[b][None]
        assert same.all(-1).any(1).all()
        assert torch.allclose(
            item['chamfer'],
            chamfer_l2(item['predicted'] - centers[:, None],
                       item['target'] - centers[:, None]))
    # the plotted predictions are the ones the Chamfer-L2 loss scores
    pred = torch.cat([i['predicted'] - i['centers'][:, None] for i in sets])
    target = torch.cat([i['target'] - i['centers'][:, None] for i in sets])
    assert model.head.loss_3d.loss_src_weight == 1.0
    assert model.head.loss_3d.loss_dst_weight == 1.0
    assert torch.allclose(
        chamfer_l2(pred, target), out['losses']['loss_3d'], atol=1e-6)


def test_visualize_masking_writes_both_figures(synthetic_root, tmp_path,
                                               capsys):
    masking = tmp_path / 'masking.png'
    recon = tmp_path / 'pictures' / 'reconstruction.png'
    visualize_masking.main([
        CONFIG, '--out',
        str(masking), '--reconstruction',
        str(recon), '--samples', '2', '--cfg-options', *SMALL_OPTIONS,
        'train_dataloader.dataset.data_root=' +
        osp.join(synthetic_root, 'ShapeNet55-34')
    ])
    out = capsys.readouterr().out
    assert f'wrote {masking}' in out and f'wrote {recon}' in out
    for png in (masking, recon):
        assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # no temporary file is left beside the pictures
    assert sorted(p.name for p in recon.parent.iterdir()) == [recon.name]
    # one row per cloud: a taller picture than one row would be
    from matplotlib.image import imread
    height, width = imread(str(recon)).shape[:2]
    assert height > width * 0.55


def test_reconstruction_clouds_spread_over_the_dataset(synthetic_root):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root':
        osp.join(synthetic_root, 'ShapeNet55-34')
    })
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        points, indices = visualize_masking.load_points(cfg, 'train', 20, 3)
    # 32 clouds: 20, then every 32 // 3 further, wrapping around the end
    assert indices == [20, 30, 9]
    assert points.shape == (3, 2048, 3)


@pytest.mark.parametrize(
    'args, message', [
        (['--samples', '0'], '--samples must be at least 1'),
        (['--index', '32'], '--index 32 is outside the dataset (0..31)'),
        (['--samples', '33', '--reconstruction', '{tmp}/r.png'
          ], '--samples 33 is more than the 32 clouds of the dataset'),
        (['--cfg-options', 'model.tokenizer.num_groupz=[8]'
          ], 'model.tokenizer.num_groupz'),
    ],
    ids=['samples', 'index', 'too-many', 'cfg-options'])
def test_visualize_masking_bad_input(args, message, synthetic_root, tmp_path,
                                     capsys):
    args = [a.format(tmp=tmp_path) for a in args]
    if '--cfg-options' not in args:
        args += [
            '--cfg-options', 'train_dataloader.dataset.data_root=' +
            osp.join(synthetic_root, 'ShapeNet55-34')
        ]
    with pytest.raises(SystemExit) as exc:
        visualize_masking.main(
            [CONFIG, '--out', str(tmp_path / 'm.png')] + args)
    text = str(exc.value) + capsys.readouterr().err
    assert message in text, text
    assert not list(tmp_path.iterdir())


def _small_cfg(work_dir, **extra):
    """The demo config with the small model, logging into ``work_dir``."""
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(
        dict(
            model=SMALL_MODEL,
            work_dir=str(work_dir),
            experiment_name=work_dir.name,
            **extra))
    return cfg


def _initial_checkpoint(seed, path):
    """The weights a run of the small demo model with ``seed`` starts from,
    saved as a checkpoint (built by the config's Runner like training)."""
    cfg = _small_cfg(path.parent / f'build_{seed}', randomness=dict(seed=seed))
    runner = RUNNERS.build(cfg)
    runner.model.init_weights()
    torch.save({'state_dict': runner.model.state_dict(), 'meta': {}}, path)
    return str(path)


class _TrainingStarted(Exception):
    pass


class _StopAtTrainStart(Hook):
    """Keeps the model's weights when training starts, then stops."""

    def before_train(self, runner):
        self.state = copy.deepcopy(runner.model.state_dict())
        raise _TrainingStarted


def test_random_row_weights_are_where_training_starts(synthetic_root,
                                                      tmp_path):
    initial = _initial_checkpoint(3, tmp_path / 'init.pth')
    cfg = _small_cfg(tmp_path / 'train', randomness=dict(seed=3))
    cfg.train_dataloader.update(
        num_workers=0,
        persistent_workers=False,
        dataset=dict(data_root=osp.join(synthetic_root, 'ShapeNet55-34')))
    runner = RUNNERS.build(cfg)
    hook = _StopAtTrainStart()
    runner.register_hook(hook)
    with pytest.raises(_TrainingStarted):
        runner.train()
    state = torch.load(initial, weights_only=True)['state_dict']
    assert state.keys() == hook.state.keys()
    for key, value in state.items():
        assert torch.equal(value, hook.state[key]), key


def _compare(root, checkpoint, work_dir, capsys):
    rows = svm_vs_random.main([
        CONFIG, checkpoint, '--work-dir',
        str(work_dir), '--cfg-options', *SMALL_OPTIONS,
        *[f'{k}={v}' for k, v in _svm_options(root).items()],
        f'experiment_name={osp.basename(work_dir)}'
    ])
    return rows, capsys.readouterr().out


def test_svm_vs_random_rows(synthetic_root, tmp_path, capsys):
    # a checkpoint of the run's own initial weights scores like the random
    # row: both rows evaluate the same weights
    initial = _initial_checkpoint(0, tmp_path / 'init0.pth')
    rows, out = _compare(synthetic_root, initial, tmp_path / 'same', capsys)
    assert [r['encoder'] for r in rows] == [
        f'pretrained ({initial})', 'random init (seed 0, no training)'
    ]
    assert rows[0]['svm/accuracy'] == rows[1]['svm/accuracy']
    assert rows[0]['svm/C'] == rows[1]['svm/C']
    table = out[out.index('| encoder |'):].splitlines()
    assert table[0] == '| encoder | svm/accuracy | svm/C |'
    assert len(table) == 4 and table[2].startswith(f'| pretrained ({initial})')
    acc = rows[1]['svm/accuracy']
    assert table[3] == (f'| random init (seed 0, no training) | {acc:.2f} | '
                        f'{rows[1]["svm/C"]:g} |')
    saved = json.loads((tmp_path / 'same' / 'svm_vs_random.json').read_text())
    assert saved == rows

    # other weights: the first row is what tools/test.py reports for them,
    # the second row does not depend on the checkpoint
    other = _initial_checkpoint(1, tmp_path / 'init1.pth')
    rows2, _ = _compare(synthetic_root, other, tmp_path / 'other', capsys)
    assert rows2[1] == dict(rows[1], encoder=rows2[1]['encoder'])
    cfg = _small_cfg(tmp_path / 'test_py', load_from=other)
    cfg.merge_from_dict(_svm_options(synthetic_root))
    metrics = RUNNERS.build(cfg).test()
    assert rows2[0]['svm/accuracy'] == metrics['svm/accuracy']
    assert rows2[0]['svm/C'] == metrics['svm/C']
    # the two checkpoints hold different encoders
    state0 = torch.load(initial, weights_only=True)['state_dict']
    state1 = torch.load(other, weights_only=True)['state_dict']
    assert not all(
        torch.equal(value, state1[key])
        for key, value in state0.items() if key.startswith('backbone.'))


@pytest.mark.parametrize(
    'config, checkpoint, message', [
        ('{tmp}/nope.py', '{tmp}/ckpt.pth',
         'config file not found: {tmp}/nope.py'),
        (CONFIG, '{tmp}/missing.pth',
         'checkpoint not found: {tmp}/missing.pth'),
        (osp.join(REPO, 'configs', 'i2pmae_finetune_synthetic_modelnet40.py'),
         '{tmp}/ckpt.pth', "test_cfg.type of {config} is 'TestLoop'"),
    ],
    ids=['config', 'checkpoint', 'not-svm'])
def test_svm_vs_random_bad_input(config, checkpoint, message, tmp_path):
    torch.save({'state_dict': {}, 'meta': {}}, tmp_path / 'ckpt.pth')
    config = config.format(tmp=tmp_path)
    checkpoint = checkpoint.format(tmp=tmp_path)
    with pytest.raises(SystemExit) as exc:
        svm_vs_random.main([config, checkpoint])
    assert str(exc.value).startswith(
        'error: ' + message.format(tmp=tmp_path, config=config)), str(
            exc.value)
    assert not (tmp_path / 'svm_vs_random').exists()


def _run_demo(*args, cwd=REPO):
    return subprocess.run(
        ['bash', osp.join(REPO, 'tools', 'run_demo.sh'), *args],
        cwd=cwd,
        capture_output=True,
        text=True)


def test_run_demo_refuses_incomplete_data(tmp_path):
    data = tmp_path / 'data'
    shapenet = data / 'ShapeNet55-34'
    h5 = data / 'modelnet40_ply_hdf5_2048'
    last = (
        data / 'shapenetcore_partanno_segmentation_benchmark_v0_normal' /
        'train_test_split' / 'shuffled_test_file_list.json')
    files = {
        shapenet / 'ShapeNet-55' / 'train.txt': 'a.npy\nb.npy\n',
        shapenet / 'ShapeNet-55' / 'test.txt': 'c.npy\n',
        shapenet / 'shapenet_pc' / 'a.npy': '',
        shapenet / 'shapenet_pc' / 'b.npy': '',
        shapenet / 'shapenet_pc' / 'c.npy': '',
        last: '[]',
    }
    for split in ('train', 'test'):
        files[h5 / f'{split}_files.txt'] = (
            f'data/modelnet40_ply_hdf5_2048/ply_data_{split}0.h5\n')
        files[h5 / f'ply_data_{split}0.h5'] = ''
    work = tmp_path / 'work'

    def refused(missing, cwd=REPO, data_arg=str(data)):
        proc = _run_demo(
            '--data-root', data_arg, '--work-dir', str(work), cwd=cwd)
        assert proc.returncode != 0
        assert proc.stderr.startswith(
            f'error: the synthetic data in {data} is incomplete: {missing} '
            'is missing.'), proc.stderr[-2000:]
        # nothing ran: no set-up output, no run folder
        assert proc.stdout == '' and not work.exists()

    # each file missing from the otherwise complete data is named
    for missing in (shapenet / 'shapenet_pc' / 'b.npy',
                    h5 / 'ply_data_test0.h5',
                    shapenet / 'ShapeNet-55' / 'test.txt', last):
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        missing.unlink()
        refused(missing)
        if missing.name == 'b.npy':
            # a relative --data-root is relative to the current folder
            refused(missing, cwd=tmp_path, data_arg='data')

    proc = _run_demo('--data-root', str(h5 / 'train_files.txt'))
    assert proc.returncode != 0
    assert proc.stderr == (f'error: --data-root {h5 / "train_files.txt"} is '
                           'not a folder\n')

"""The depth-trained 2D teacher: its training tool, loading it as the
CLIPTeacher through the local-checkpoint path, and the errors of a teacher
checkpoint that does not fit the config (CPU)."""
import json
import os.path as osp

import pytest
import torch

from projects.I2PMAE.i2pmae.models import CLIPTeacher
from tools import train_depth_teacher

#: a tiny tower: 32 x 32 images, 2 x 2 patches
TINY_TOWER = dict(image_size=32, patch_size=16, width=32, layers=1, heads=2)


@pytest.fixture(scope='module')
def teacher_data(synthetic_data):
    """ModelNet40 h5 of 4 + 1 clouds per class (16 classes)."""
    root = synthetic_data(['modelnet_h5'],
                          seed=1,
                          per_class=4,
                          test_per_class=1,
                          num_points=256)
    return osp.join(root, 'modelnet40_ply_hdf5_2048')


def _tower_args(cfg=TINY_TOWER, embed_dim=16):
    return [
        '--image-size',
        str(cfg['image_size']), '--patch-size',
        str(cfg['patch_size']), '--width',
        str(cfg['width']), '--layers',
        str(cfg['layers']), '--heads',
        str(cfg['heads']), '--embed-dim',
        str(embed_dim)
    ]


@pytest.fixture(scope='module')
def trained(teacher_data, tmp_path_factory):
    """A teacher trained for 6 epochs of 4 steps; its path and log."""
    out = str(tmp_path_factory.mktemp('teacher') / 'teacher.pt')
    log = train_depth_teacher.main([
        '--data-root', teacher_data, '--out', out, '--epochs', '6',
        '--batch-size', '16', '--lr', '3e-3', *_tower_args()
    ])
    return out, log


def test_training_writes_a_checkpoint_the_teacher_loads(trained):
    out, log = trained
    assert log['vision_cfg'] == dict(TINY_TOWER, embed_dim=16)
    with open(out + '.json') as f:
        assert json.load(f)['epochs'] == log['epochs']
    # an open_clip-style training checkpoint of the image tower, the
    # classifier apart
    checkpoint = torch.load(out, map_location='cpu')
    assert checkpoint['epoch'] == 6
    state = checkpoint['state_dict']
    assert all(key.startswith('visual.') for key in state)
    assert checkpoint['classifier']['weight'].shape == (16, 16)
    assert checkpoint['classes'] == log['classes']
    # the teacher config of the log loads it through the local-file path
    cfg = dict(log['vision_cfg'])
    embed_dim = cfg.pop('embed_dim')
    teacher = CLIPTeacher(
        log['model_name'], pretrained=out, vision_cfg=cfg, embed_dim=embed_dim)
    for key, value in teacher.visual.state_dict().items():
        assert torch.equal(value, state[f'visual.{key}']), key
    feats, attn = teacher(torch.randn(2, 3, 32, 32))
    assert feats.shape == (2, 16, 2, 2) and attn.shape == (2, 4)


def test_training_lowers_the_loss(trained):
    epochs = trained[1]['epochs']
    assert len(epochs) == 6
    # chance level of 16 classes is ln 16 = 2.77
    assert epochs[-1]['loss'] < epochs[0]['first_loss'] - 0.3
    assert all(0 <= e['cloud_accuracy'] <= 100 for e in epochs)


@pytest.mark.parametrize('args, message', [
    (['--data-root', 'no_such_folder'], '--data-root no_such_folder is not'),
    (['--heads', '3'], '--heads 3 must divide --width 32'),
    (['--patch-size', '12'], '--patch-size 12 must divide --image-size 32'),
    (['--epochs', '0'], '--epochs must be positive, got 0'),
    (['--model-name', 'ViT-Q-99'], "unknown open_clip --model-name 'ViT-Q"),
])
def test_training_bad_input(args, message, teacher_data, tmp_path, capsys):
    with pytest.raises(SystemExit):
        train_depth_teacher.parse_args([
            '--data-root', teacher_data, '--out',
            str(tmp_path / 't.pt'), *_tower_args(), *args
        ])
    assert message in capsys.readouterr().err


def test_teacher_that_does_not_fit_names_file_and_config(trained):
    out = trained[0]
    wider = dict(TINY_TOWER, width=64)
    with pytest.raises(ValueError) as info:
        CLIPTeacher('ViT-B-16', pretrained=out, vision_cfg=wider, embed_dim=16)
    message = str(info.value)
    assert f'pretrained file {out!r}' in message
    assert "model_name='ViT-B-16' (image_size=32, patch_size=16, " \
        'width=64, layers=1, heads=2, embed_dim=16)' in message
    assert "{'width': (64, 32)}" in message
    missing = out + '.missing'
    with pytest.raises(FileNotFoundError) as info:
        CLIPTeacher(
            'ViT-B-16', pretrained=missing, vision_cfg=wider, embed_dim=16)
    message = str(info.value)
    assert repr(missing) in message
    assert "model_name='ViT-B-16' (image_size=32, patch_size=16, " \
        'width=64, layers=1, heads=2, embed_dim=16)' in message

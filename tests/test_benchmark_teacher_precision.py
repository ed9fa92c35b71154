"""tools/benchmark.py teacher_precision: half vs float32 teacher."""
import os.path as osp
import re
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools'))

import benchmark  # noqa: E402

ROW = re.compile(
    r'^bf16 +([\d.]+) +([\d.]+)x +([\d.e+-]+) +([\d.e+-]+) +'
    r'([\d.e+-]+) +([\d.]+)% +([\d.]+) +([\d.e+-]+) +'
    r'([\d.e+-]+)$', re.M)


def test_bf16_row_against_fp32(capsys):
    benchmark.main([
        'teacher_precision', '--config',
        osp.join(REPO, 'configs', 'i2pmae_pretrain_synthetic.py'),
        '--batch-size', '2', '--repeats', '1', '--device', 'cpu',
        '--cfg-options', 'model.teacher.vision_cfg.layers=1'
    ])
    out = capsys.readouterr().out
    assert re.search(r'^fp32 +[\d.]+ +1\.00x', out, re.M)
    row = ROW.search(out)
    assert row, out
    feats_err, attn_err, saliency_err = map(float, row.group(3, 4, 5))
    # bfloat16 keeps 8 bits of mantissa: errors of a few 1e-3, never zero
    for err in (feats_err, attn_err, saliency_err):
        assert 0 < err < 5e-2
    assert 0 <= float(row[6]) <= 100
    loss_2d_err, loss_3d_err = float(row[8]), float(row[9])
    assert loss_2d_err < 5e-2
    # with the fp32 run's mask injected, the 3D branch does not depend on
    # the teacher at all: the same loss to the last bit
    assert loss_3d_err == 0


def test_config_without_teacher_is_named():
    config = osp.join(REPO, 'configs', 'point_m2ae_pretrain_synthetic.py')
    with pytest.raises(SystemExit, match='builds no 2D teacher'):
        benchmark.main(
            ['teacher_precision', '--config', config, '--batch-size', '2'])

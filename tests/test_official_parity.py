"""Parity with the official implementation on the shared fixture."""
import copy
import os.path as osp
import subprocess
import sys

import pytest
import torch

from projects.I2PMAE.i2pmae.utils.official_checkpoint import \
    convert_official_state_dict
from tools.parity_check import build_classifier, build_pretrain_model

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL = osp.join(REPO, 'tools', 'parity_check.py')


def _run_tool(path):
    return subprocess.run([sys.executable, TOOL, path],
                          capture_output=True,
                          text=True,
                          cwd=REPO)


def test_parity_check_passes_on_shared_fixture(parity_fixture_path):
    proc = _run_tool(parity_fixture_path)
    print(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == 'parity: PASS'
    for key in ('view_images', 'img_feats', 'img_attn_cls', 'spatial_sals',
                'centers[2]', 'neighborhoods[0]', 'x_vis[0]', 'loss_3d',
                'loss_2d', 'svm_feature', 'modelnet40.logits',
                'scanobjectnn.logits'):
        assert any(line.startswith(key + ' ') for line in lines), key


def test_parity_check_fails_on_tampered_fixture(parity_fixture, tmp_path):
    bad = copy.deepcopy(parity_fixture)
    bad['records']['loss_2d'] = bad['records']['loss_2d'] * 1.01
    path = str(tmp_path / 'tampered.pt')
    torch.save(bad, path)
    proc = _run_tool(path)
    assert proc.returncode == 1
    assert proc.stdout.strip().splitlines()[-1] == 'parity: FAIL'
    assert any(
        line.startswith('loss_2d') and line.endswith('NO')
        for line in proc.stdout.splitlines())


def test_converter_handles_ddp_prefixes_and_clip(parity_fixture):
    sd = parity_fixture['official_state_dict']
    wrapped = {'module.' + k: v for k, v in sd.items()}
    wrapped['module.clip_model.visual.proj'] = torch.zeros(2, 2)
    converted, kind = convert_official_state_dict(dict(base_model=wrapped))
    assert kind == 'pretrain'
    model = build_pretrain_model(parity_fixture['config'],
                                 parity_fixture['clip_openai_state_dict'])
    missing, unexpected = model.load_state_dict(converted, strict=False)
    assert not missing and not unexpected
    for name, pooling in (('modelnet40', 'mean+max'), ('scanobjectnn',
                                                       'concat')):
        entry = parity_fixture['finetune'][name]
        converted, kind = convert_official_state_dict(entry['state_dict'])
        assert kind == 'classifier'
        clf = build_classifier(entry['config'], entry['num_classes'], pooling)
        missing, unexpected = clf.load_state_dict(converted, strict=False)
        assert not missing and not unexpected


def test_converter_rejects_foreign_keys():
    with pytest.raises(ValueError, match='no official I2P-MAE keys'):
        convert_official_state_dict({'backbone.conv.weight': torch.zeros(1)})
    with pytest.raises(ValueError, match='unrecognised official keys'):
        convert_official_state_dict({
            'h_encoder.token_embed.0.w': torch.zeros(1),
            'rec_head_3d.weight': torch.zeros(1),
            'something_else': torch.zeros(1)
        })


def test_converter_tool_writes_loadable_checkpoint(parity_fixture, tmp_path):
    src = tmp_path / 'official.pth'
    torch.save(dict(base_model=parity_fixture['official_state_dict']), src)
    dst = tmp_path / 'converted.pth'
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'model_converters',
                 'i2pmae_official_to_mm.py'),
        str(src),
        str(dst)
    ],
                          capture_output=True,
                          text=True,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['official_model'] == 'pretrain'
    assert 'backbone.token_embeds.0.first_conv.0.weight' in ckpt['state_dict']

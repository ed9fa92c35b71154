"""Every config parses and builds its model and datasets' components."""
import glob
import os.path as osp

import pytest
from mmdet3d.registry import MODELS
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '*.py')))
DATASET_CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', '_base_', 'datasets', '*.py')))


def test_configs_are_found():
    assert len(CONFIGS) >= 8 and len(DATASET_CONFIGS) >= 8


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_model(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet3d'
    assert 'projects.I2PMAE.i2pmae' in cfg.custom_imports['imports']
    model_cfg = cfg.model
    if model_cfg.get('teacher'):
        # a random teacher of the configured architecture: no weights file
        model_cfg.teacher.pretrained = None
    model = MODELS.build(model_cfg)
    assert not any(k.startswith('teacher.') for k in model.state_dict())
    assert cfg.train_dataloader.dataset.type


@pytest.mark.parametrize('path', DATASET_CONFIGS, ids=osp.basename)
def test_dataset_config_parses(path):
    cfg = Config.fromfile(path)
    loaders = [k for k in cfg if k.endswith('_dataloader')]
    assert loaders
    for key in loaders:
        assert cfg[key]['dataset']['type'].endswith('Dataset')

"""The shared ``forward(mode=...)`` dispatch of the plugin's models."""
import pytest
import torch
from mmdet3d.registry import MODELS
from mmengine.registry import DefaultScope
from test_finetune_voting import tiny_classifier_cfg
from test_i2pmae_model import tiny_cfg

from projects.I2PMAE.i2pmae.models import (I2PMAE, BasePointModel,
                                           PointClassifier,
                                           PointCloudDataPreprocessor)


class RecordingModel(BasePointModel):
    """Returns which method ``forward`` called, with its arguments."""

    def loss(self, inputs, data_samples):
        return dict(called='loss', inputs=inputs, data_samples=data_samples)

    def predict(self, inputs, data_samples=None):
        return ['predict', inputs, data_samples]

    def _forward(self, inputs, data_samples=None):
        return ('tensor', inputs, data_samples)


def _points(b=2, n=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, n, 3, generator=g) - 0.5


def test_forward_routes_each_mode_with_its_arguments():
    model = RecordingModel()
    inputs, samples = dict(points=_points()), ['a', 'b']
    out = model(inputs, samples, mode='loss')
    assert out['called'] == 'loss'
    assert out['inputs'] is inputs and out['data_samples'] is samples
    assert model(
        inputs, samples, mode='predict') == ['predict', inputs, samples]
    assert model(inputs, samples, mode='tensor') == ('tensor', inputs, samples)
    # mmengine's default mode
    assert model(inputs)[0] == 'tensor'


def test_unknown_mode_is_one_error_naming_the_modes():
    with pytest.raises(
            ValueError,
            match='mode must be loss, predict or '
            'tensor, got logits'):
        RecordingModel()(dict(points=_points()), mode='logits')


def test_incomplete_subclass_cannot_be_built():

    class NoTensorMode(BasePointModel):

        def loss(self, inputs, data_samples):
            return {}

        def predict(self, inputs, data_samples=None):
            return []

    with pytest.raises(TypeError, match='_forward'):
        NoTensorMode()


def test_default_and_configured_data_preprocessor_in_any_scope():
    model = RecordingModel()
    assert isinstance(model.data_preprocessor, PointCloudDataPreprocessor)
    assert model.data_preprocessor.num_channels == 3
    # built from mmdet3d's registry even when another scope is current
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = RecordingModel(
            data_preprocessor=dict(
                type='PointCloudDataPreprocessor', num_channels=None))
    assert model.data_preprocessor.num_channels is None
    given = PointCloudDataPreprocessor(num_channels=4)
    assert RecordingModel(data_preprocessor=given).data_preprocessor is given


@pytest.mark.parametrize('name', ['I2PMAE', 'PointClassifier'])
def test_plugin_models_share_the_dispatch(name):
    torch.manual_seed(0)
    cfg = tiny_cfg(
        with_teacher=False) if name == 'I2PMAE' else (tiny_classifier_cfg())
    model = MODELS.build(cfg).eval()
    assert isinstance(model, BasePointModel)
    assert type(model).forward is BasePointModel.forward
    inputs = dict(points=_points())
    with torch.no_grad():
        out = model(inputs, mode='tensor')
        feats = model.extract_feat(inputs['points'])
        expected = feats if isinstance(model, I2PMAE) else model.head(feats)
    assert isinstance(model, (I2PMAE, PointClassifier))
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    with pytest.raises(ValueError, match='got logits'):
        model(inputs, mode='logits')

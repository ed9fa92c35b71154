"""MixedPrecisionOptimWrapper: autocast and loss scaling on CPU and CUDA."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from torch import nn

import projects.I2PMAE.i2pmae  # noqa: F401


def _wrapper(model: nn.Module, **kwargs):
    cfg = dict(
        type='MixedPrecisionOptimWrapper',
        optimizer=dict(type='SGD', lr=0.1),
        **kwargs)
    return build_optim_wrapper(model, cfg)


def test_cpu_autocasts_to_bfloat16_without_loss_scaling():
    model = nn.Linear(4, 2)
    wrapper = _wrapper(model)
    assert wrapper.cast_dtype == torch.bfloat16
    assert wrapper.loss_scaler is None
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(8, 4))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert model.weight.dtype == torch.float32
    assert not torch.equal(model.weight, before)


def test_float16_scales_the_loss_and_saves_the_scale():
    model = nn.Linear(4, 2)
    wrapper = _wrapper(model, dtype='fp16', loss_scale=dict(init_scale=8.))
    assert wrapper.cast_dtype == torch.float16
    with wrapper.optim_context(model):
        loss = model(torch.randn(8, 4)).float().pow(2).mean()
    wrapper.backward(loss, retain_graph=True)
    # the gradient is held scaled until the step unscales it
    grad = model.weight.grad.clone()
    model.zero_grad()
    loss.backward()
    torch.testing.assert_close(grad, 8. * model.weight.grad)
    state = wrapper.state_dict()
    assert state['loss_scaler']['scale'] == 8.
    other = _wrapper(nn.Linear(4, 2), dtype='fp16')
    other.load_state_dict(state)
    assert other.loss_scaler.get_scale() == 8.


def test_non_finite_loss_raises():
    model = nn.Linear(4, 2)
    wrapper = _wrapper(model)
    loss = model(torch.randn(2, 4)).sum() * float('nan')
    with pytest.raises(FloatingPointError, match='non-finite loss nan'):
        wrapper.update_params(loss)


def test_bad_dtype_raises():
    with pytest.raises(ValueError, match="dtype must be one of"):
        _wrapper(nn.Linear(4, 2), dtype='fp8')


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_auto_is_float16_with_dynamic_scaling():
    model = nn.Linear(4, 2).cuda()
    wrapper = _wrapper(model)
    assert wrapper.cast_dtype == torch.float16
    assert wrapper.loss_scaler is not None
    with wrapper.optim_context(model):
        loss = model(torch.randn(8, 4, device='cuda')).float().pow(2).mean()
    wrapper.update_params(loss)

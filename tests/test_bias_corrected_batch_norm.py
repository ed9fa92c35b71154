"""BiasCorrectedBatchNorm1d: running statistics that start from the data."""
import pytest
import torch
from torch import nn

from projects.I2PMAE.i2pmae.models.layers import BiasCorrectedBatchNorm1d


def _batches(n, scale=1e-3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(16, 4, 8, generator=gen) * scale + 0.5 * scale * i
        for i in range(n)
    ]


def _batch_stats(x):
    flat = x.transpose(0, 1).reshape(x.shape[1], -1)
    return flat.mean(1), flat.var(1, unbiased=True)


def test_first_batches_are_averaged_then_moving_average():
    bn = BiasCorrectedBatchNorm1d(4).train()
    batches = _batches(15)
    means, variances = [], []
    for n, x in enumerate(batches, start=1):
        bn(x)
        mean, var = _batch_stats(x)
        means.append(mean)
        variances.append(var)
        if n <= 10:  # 1 / momentum batches: the plain average
            torch.testing.assert_close(bn.running_mean,
                                       torch.stack(means).mean(0))
            torch.testing.assert_close(bn.running_var,
                                       torch.stack(variances).mean(0))
    # afterwards the usual moving average with momentum 0.1
    expect_mean = torch.stack(means[:10]).mean(0)
    expect_var = torch.stack(variances[:10]).mean(0)
    for mean, var in zip(means[10:], variances[10:]):
        expect_mean = 0.9 * expect_mean + 0.1 * mean
        expect_var = 0.9 * expect_var + 0.1 * var
    torch.testing.assert_close(bn.running_mean, expect_mean)
    torch.testing.assert_close(bn.running_var, expect_var)
    assert int(bn.num_batches_tracked) == 15


def test_small_activations_keep_their_signal_in_eval_mode():
    """The defect it fixes: 3 batches of ~1e-2 activations, then eval."""
    torch.manual_seed(0)
    fixed, plain = BiasCorrectedBatchNorm1d(4), nn.BatchNorm1d(4)
    batches = _batches(3, scale=1e-2)
    for x in batches:
        fixed.train()(x)
        plain.train()(x)
    x = batches[-1]
    train_out = nn.functional.batch_norm(x, None, None, training=True)
    fixed_out = fixed.eval()(x)
    plain_out = plain.eval()(x)
    # plain BatchNorm still divides by a running variance near 0.73:
    # the evaluation-mode output keeps almost none of the signal
    assert plain_out.std() < 0.02
    assert fixed_out.std() > 0.8
    assert (fixed_out - train_out).abs().mean() < 0.5


def test_same_outputs_and_state_dict_as_batch_norm():
    torch.manual_seed(0)
    fixed, plain = BiasCorrectedBatchNorm1d(4), nn.BatchNorm1d(4)
    plain.load_state_dict(fixed.state_dict())
    assert list(fixed.state_dict()) == list(plain.state_dict())
    x = torch.randn(8, 4, 5)
    torch.testing.assert_close(fixed.train()(x), plain.train()(x))
    # evaluation with given statistics is plain BatchNorm
    fixed.load_state_dict(plain.state_dict())
    torch.testing.assert_close(fixed.eval()(x), plain.eval()(x))


@pytest.mark.parametrize('tracked', [0, 3, 50])
def test_loaded_statistics_continue_from_their_batch_count(tracked):
    src = BiasCorrectedBatchNorm1d(4)
    src.running_mean.fill_(2.0)
    src.running_var.fill_(3.0)
    src.num_batches_tracked.fill_(tracked)
    bn = BiasCorrectedBatchNorm1d(4)
    bn.load_state_dict(src.state_dict())
    x = torch.randn(16, 4, 8) * 1e-3
    mean, var = _batch_stats(x)
    bn.train()(x)
    factor = max(0.1, 1.0 / (tracked + 1))
    torch.testing.assert_close(bn.running_mean,
                               (1 - factor) * 2.0 + factor * mean)
    torch.testing.assert_close(bn.running_var,
                               (1 - factor) * 3.0 + factor * var)

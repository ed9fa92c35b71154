"""The chunked TokenEmbedding path: same tokens, gradients and statistics."""
import copy

import pytest
import torch

from projects.I2PMAE.i2pmae.models.layers import TokenEmbedding

#: biases of convolutions whose outputs only reach the tokens through a
#: batch norm (directly or through another convolution)
PRE_NORM_BIASES = ('first_conv.0.bias', 'first_conv.3.bias',
                   'second_conv.0.bias')


def _pair(in_channels, out_channels, chunk_points, dtype, std=0.5, seed=0):
    """A plain-autograd embedding and a chunked copy of it."""
    torch.manual_seed(seed)
    plain = TokenEmbedding(in_channels, out_channels, chunk_points=None)
    for p in plain.parameters():
        torch.nn.init.normal_(p, std=std)
    for bn in (plain.first_conv[1], plain.second_conv[1]):
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
    plain = plain.to(dtype)
    chunked = copy.deepcopy(plain)
    chunked.chunk_points = chunk_points
    return plain, chunked


def _step(model, groups, grad_out):
    """Tokens and the gradient of <tokens, grad_out> w.r.t. the groups."""
    groups = groups.clone().requires_grad_()
    tokens = model(groups)
    (tokens * grad_out).sum().backward()
    return tokens.detach(), groups.grad


def _assert_same(plain, chunked, groups, grad_out, atol, rtol):
    tokens, grad = _step(plain, groups, grad_out)
    tokens_c, grad_c = _step(chunked, groups, grad_out)
    torch.testing.assert_close(tokens_c, tokens, atol=atol, rtol=rtol)
    torch.testing.assert_close(grad_c, grad, atol=atol, rtol=rtol)
    largest = max(p.grad.abs().max() for p in plain.parameters())
    for (name, p), p_c in zip(plain.named_parameters(), chunked.parameters()):
        # relative to the gradient's scale; the biases in front of a batch
        # norm get exactly 0 in training mode (rounding noise here): their
        # noise is compared with the largest gradient
        noise = plain.training and name in PRE_NORM_BIASES
        scale = largest if noise else p.grad.abs().max()
        torch.testing.assert_close(
            p_c.grad / scale, p.grad / scale, atol=atol, rtol=0, msg=name)
    for (name, b), b_c in zip(plain.named_buffers(), chunked.buffers()):
        torch.testing.assert_close(b_c, b, atol=atol, rtol=rtol, msg=name)


@pytest.mark.parametrize('in_channels,out_channels', [(3, 16), (8, 12)])
@pytest.mark.parametrize('training', [True, False])
def test_matches_plain_autograd_in_float64(in_channels, out_channels,
                                           training):
    # 7 members per chunk with K=4: one group per chunk, the last one short
    plain, chunked = _pair(in_channels, out_channels, 7, torch.float64)
    plain.train(training)
    chunked.train(training)
    gen = torch.Generator().manual_seed(1)
    for _ in range(2):  # the second step sees updated running statistics
        groups = torch.randn(
            2, 5, 4, in_channels, generator=gen, dtype=torch.float64)
        grad_out = torch.randn(
            2, 5, out_channels, generator=gen, dtype=torch.float64)
        _assert_same(plain, chunked, groups, grad_out, atol=1e-10, rtol=1e-10)
        plain.zero_grad()
        chunked.zero_grad()


def test_matches_plain_autograd_in_float32_at_the_official_init_scale():
    # first scale as pretrained: centred neighbourhoods of a unit cloud and
    # std-0.02 convolutions give batch variances down to ~1e-6
    plain, chunked = _pair(3, 32, 100, torch.float32, std=0.02)
    for bn in (plain.first_conv[1], plain.second_conv[1],
               chunked.first_conv[1], chunked.second_conv[1]):
        torch.nn.init.ones_(bn.weight)
        torch.nn.init.zeros_(bn.bias)
    gen = torch.Generator().manual_seed(2)
    groups = torch.randn(3, 16, 16, 3, generator=gen) * 0.05
    grad_out = torch.randn(3, 16, 32, generator=gen)
    _assert_same(plain, chunked, groups, grad_out, atol=1e-4, rtol=1e-4)


def test_cumulative_moving_average_without_momentum():
    plain, chunked = _pair(3, 8, 10, torch.float64)
    for model in (plain, chunked):
        model.first_conv[1].momentum = None
        model.second_conv[1].momentum = None
    gen = torch.Generator().manual_seed(3)
    for _ in range(3):
        groups = torch.randn(2, 3, 4, 3, generator=gen, dtype=torch.float64)
        grad_out = torch.randn(2, 3, 8, generator=gen, dtype=torch.float64)
        _assert_same(plain, chunked, groups, grad_out, atol=1e-10, rtol=1e-10)


def test_keeps_no_per_member_activation_for_backward():
    plain, chunked = _pair(3, 16, 64, torch.float32)
    groups = torch.randn(4, 32, 16, 3, requires_grad=True)
    per_member = groups.numel() // 3  # B * G * K

    def largest_saved(model):
        """The largest tensor autograd keeps that is not a parameter."""
        params = {p.untyped_storage().data_ptr() for p in model.parameters()}
        sizes = []

        def pack(t):
            if t.untyped_storage().data_ptr() not in params:
                sizes.append(t.numel())
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(groups)
        return max(sizes)

    # plain autograd keeps [B*G, 512, K] activations; the chunked path at
    # most one [B*G, 256] pooled feature (16 rows of it per member here)
    assert largest_saved(plain) >= 512 * per_member
    assert largest_saved(chunked) <= 256 * per_member // 16


def test_plain_modules_without_gradients():
    plain, chunked = _pair(3, 8, 10, torch.float32)
    groups = torch.randn(2, 3, 4, 3)
    with torch.no_grad():
        assert not chunked._runs_chunked(groups)
        torch.testing.assert_close(chunked(groups), plain(groups))
    assert chunked._runs_chunked(groups)


def test_rejects_non_positive_chunk_points():
    with pytest.raises(ValueError, match='chunk_points'):
        TokenEmbedding(3, 8, chunk_points=0)


def test_single_member_batch_is_rejected_in_training():
    plain, chunked = _pair(3, 8, 10, torch.float32)
    groups = torch.randn(1, 1, 1, 3, requires_grad=True)
    for model in (plain, chunked):
        with pytest.raises(
                ValueError, match='more than 1 value|more than one'):
            model(groups)
    chunked.eval()
    assert chunked(groups).shape == (1, 1, 8)

"""TokenEmbedding(with_cp=True): same results, a fraction of the memory."""
import copy

import torch

from projects.I2PMAE.i2pmae.models.layers import TokenEmbedding


def _saved_bytes(fn):
    """Run ``fn`` and count the bytes autograd keeps for backward."""
    total = [0]

    def pack(t):
        total[0] += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, total[0]


def test_checkpointing_keeps_results_and_frees_activations():
    torch.manual_seed(0)
    plain = TokenEmbedding(3, 24).train()
    ckpt = copy.deepcopy(plain)
    ckpt.with_cp = True
    groups = torch.randn(2, 32, 16, 3) * 0.05
    results = {}
    for name, model in (('plain', plain), ('ckpt', ckpt)):
        x = groups.clone().requires_grad_()
        out, saved = _saved_bytes(lambda: model(x))
        out.square().sum().backward()
        results[name] = (out, x.grad, saved, {
            k: v.grad
            for k, v in model.named_parameters()
        })
    out, grad, saved, param_grads = results['plain']
    out_cp, grad_cp, saved_cp, param_grads_cp = results['ckpt']
    assert torch.equal(out, out_cp)
    assert torch.equal(grad_cp, grad)
    for key, value in param_grads.items():
        assert torch.equal(param_grads_cp[key], value), key
    # the recomputation in backward leaves the running statistics alone
    for key, value in plain.state_dict().items():
        assert torch.equal(ckpt.state_dict()[key], value), key
    # only the [B, G, K, 3] input is kept instead of every 512-wide feature
    assert saved_cp == groups.numel() * 4
    assert saved > 100 * saved_cp


def test_checkpointing_is_off_in_eval_and_without_grad():
    model = TokenEmbedding(3, 24, with_cp=True).eval()
    groups = torch.randn(2, 8, 16, 3)
    _, saved = _saved_bytes(lambda: model(groups))
    assert saved > 0  # plain forward (parameters require grad)
    with torch.no_grad():
        _, saved = _saved_bytes(lambda: model.train()(groups))
    assert saved == 0

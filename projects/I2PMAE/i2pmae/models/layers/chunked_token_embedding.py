"""Token embedding forward/backward in chunks, saving no per-point tensor.

The mini-PointNet of :class:`~.token_embedding.TokenEmbedding` widens every
group member to hundreds of channels (512 at the first scale), so plain
autograd keeps several ``[B * G, C, K]`` activations for the backward pass
(about 1.8 GiB at batch 32 with 512 groups of 16 points). The autograd
function here keeps only the input, the pooled hidden feature of each
group, the arg-max of the output pooling and the batch-norm statistics,
and recomputes the rest chunk by chunk (a few groups at a time) in both
passes. Batch normalisation needs statistics over the whole batch, so the
forward pass first accumulates them (one sweep per norm) and the backward
pass first accumulates the two per-channel sums its gradient formula needs.

The concatenation ``[pooled feature expanded to every member; member
feature]`` fed to the second point-wise convolution is never built: a 1x1
convolution of it is ``W_global @ pooled + W_local @ member``, the first
term computed once per group.

All point-wise convolutions act on channels-last rows (``[n, K, C]``), the
input layout of the groups.
"""
from typing import List, NamedTuple, Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


class NormStats(NamedTuple):
    """Per-channel statistics a batch norm normalises with.

    Attributes:
        mean (Tensor): ``[C]`` mean.
        var (Tensor): ``[C]`` biased variance.
    """
    mean: Tensor
    var: Tensor


class _ChunkedMoments:
    """Per-channel mean and biased variance accumulated over chunks.

    Each chunk's mean and variance come from ``torch.var_mean`` (two-pass,
    so small variances around a large mean keep their precision); chunks
    are combined in float64 with Chan et al.'s pairwise update.
    """

    def __init__(self) -> None:
        self.count = 0
        self.mean = None
        self.m2 = None

    def add(self, x: Tensor) -> None:
        """Add the rows of ``x`` (``[..., C]``)."""
        x = x.reshape(-1, x.shape[-1])
        var, mean = torch.var_mean(x, 0, correction=0)
        n, mean, m2 = x.shape[0], mean.double(), var.double() * x.shape[0]
        if self.mean is None:
            self.count, self.mean, self.m2 = n, mean, m2
            return
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta * delta * (self.count * n / total)
        self.count = total

    def result(self, dtype: torch.dtype) -> NormStats:
        """Mean and biased variance, in ``dtype``."""
        return NormStats(self.mean.to(dtype), (self.m2 / self.count).to(dtype))


def _affine(x: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """``x * scale + shift`` per channel (last dim), in place."""
    return x.mul_(scale).add_(shift)


def _chunks(n: int, rows: int) -> List[slice]:
    return [slice(i, min(i + rows, n)) for i in range(0, n, rows)]


def _linear(x: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    """A 1x1 convolution of channels-last ``x`` (``weight``: ``[O, I]``)."""
    flat = torch.addmm(bias, x.reshape(-1, x.shape[-1]), weight.t())
    return flat.reshape(*x.shape[:-1], weight.shape[0])


class ChunkedTokenEmbeddingFunction(torch.autograd.Function):
    """Memory-lean ``TokenEmbedding`` forward and backward (see module doc).

    The computation, per group of ``K`` members (channels last)::

        h1 = relu(bn1(x @ w1.T + b1)) @ w2.T + b2        # [K, M]
        pooled = max_K(h1)                                # [M]
        a3 = h1 @ w3l.T + pooled @ w3g.T + b3             # [K, H2]
        out = max_K(relu(bn2(a3)) @ w4.T + b4)            # [C_out]

    with ``w3 = [w3g, w3l]`` split along its input channels. A norm given
    ``stats`` normalises with them (evaluation mode); otherwise with the
    batch's statistics over all ``B * G * K`` members, which are returned.
    """

    @staticmethod
    def forward(ctx, x: Tensor, rows: int, stats1: Optional[NormStats],
                stats2: Optional[NormStats], eps1: float, eps2: float,
                w1: Tensor, b1: Tensor, g1: Tensor, be1: Tensor, w2: Tensor,
                b2: Tensor, w3: Tensor, b3: Tensor, g2: Tensor, be2: Tensor,
                w4: Tensor, b4: Tensor) -> Tuple[Tensor, ...]:
        """See the class docstring.

        Args:
            x (Tensor): ``[N, K, C_in]`` group members (N = B * G).
            rows (int): groups per chunk.
            stats1, stats2 (tuple[Tensor, Tensor] | None): fixed mean and
                variance of the two norms; None = the batch's.
            eps1, eps2 (float): the norms' epsilons.
            w1 ... b4 (Tensor): parameters; convolution weights as
                ``[O, I]`` matrices.

        Returns:
            tuple[Tensor, ...]: ``[N, C_out]`` tokens, then the mean and
            biased variance each norm used.
        """
        n = x.shape[0]
        chunks = _chunks(n, rows)
        batch1, batch2 = stats1 is None, stats2 is None
        stats1 = stats1 if batch1 else NormStats(*stats1)
        stats2 = stats2 if batch2 else NormStats(*stats2)
        if batch1:
            acc = _ChunkedMoments()
            for c in chunks:
                acc.add(_linear(x[c], w1, b1))
            stats1 = acc.result(x.dtype)
        s1 = torch.rsqrt(stats1.var + eps1)
        w3g, w3l = w3.split([w2.shape[0], w3.shape[1] - w2.shape[0]], 1)
        prm = (w1, b1, stats1.mean, s1, g1, be1, w2, b2)
        # each group's pooled feature (and bn2's statistics: a group's
        # pre-norm features only need its own pooled feature)
        pooled = x.new_empty(n, w2.shape[0])
        glob = x.new_empty(n, w3.shape[0])
        acc = _ChunkedMoments()
        for c in chunks:
            h1 = _hidden(x[c], *prm)[1]
            pooled[c] = h1.amax(1)
            glob[c] = _linear(pooled[c], w3g, b3)
            if batch2:
                acc.add((h1 @ w3l.t()).add_(glob[c, None]))
        stats2 = acc.result(x.dtype) if batch2 else stats2
        s2 = torch.rsqrt(stats2.var + eps2)
        out = x.new_empty(n, w4.shape[0])
        arg = torch.empty(n, w4.shape[0], dtype=torch.long, device=x.device)
        alpha2 = s2 * g2
        beta2 = be2 - stats2.mean * alpha2
        for c in chunks:
            a3 = (_hidden(x[c], *prm)[1] @ w3l.t()).add_(glob[c, None])
            r3 = _affine(a3, alpha2, beta2).relu_()
            out[c], arg[c] = _linear(r3, w4, b4).max(1)
        ctx.save_for_backward(x, pooled, arg, stats1.mean, s1, stats2.mean, s2,
                              w1, b1, g1, be1, w2, b2, w3, b3, g2, be2, w4)
        ctx.rows, ctx.batch1, ctx.batch2 = rows, batch1, batch2
        # fresh tensors: given statistics are the norms' buffers
        used = [t.clone() for t in (*stats1, *stats2)]
        ctx.mark_non_differentiable(*used)
        return (out, *used)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor, *unused) -> Tuple:
        """Gradients of the inputs and parameters, chunk by chunk."""
        (x, pooled, arg, m1, s1, m2, s2, w1, b1, g1, be1, w2, b2, w3, b3, g2,
         be2, w4) = ctx.saved_tensors
        n, k = x.shape[:2]
        count = n * k
        chunks = _chunks(n, ctx.rows)
        w3g, w3l = w3.split([w2.shape[0], w3.shape[1] - w2.shape[0]], 1)
        prm = (w1, b1, m1, s1, g1, be1, w2, b2)
        glob = _linear(pooled, w3g, b3)
        grad_out = grad_out.contiguous()

        shift3 = -m2 * s2

        def second(c: slice) -> tuple:
            """Recompute chunk ``c`` up to the gradient at bn2's output."""
            r1, h1 = _hidden(x[c], *prm)
            xhat3 = _affine((h1 @ w3l.t()).add_(glob[c, None]), s2, shift3)
            r3 = torch.addcmul(be2, xhat3, g2).relu_()
            g_o = grad_out.new_zeros(r3.shape[0], k, w4.shape[0])
            g_o.scatter_(1, arg[c, None], grad_out[c, None])
            g_n3 = (g_o @ w4).masked_fill_(r3 <= 0, 0)
            return r1, h1, xhat3, r3, g_o, g_n3

        # sweep 1: bn2's sums (and w4's gradient)
        gw4 = torch.zeros_like(w4)
        sum3 = torch.zeros_like(m2, dtype=torch.float64)
        dot3 = torch.zeros_like(sum3)
        for c in chunks:
            _, _, xhat3, r3, g_o, g_n3 = second(c)
            gw4 += g_o.reshape(-1, g_o.shape[-1]).t() @ r3.reshape(
                -1, r3.shape[-1])
            sum3 += g_n3.sum((0, 1))
            dot3 += xhat3.mul_(g_n3).sum((0, 1))
        # sweep 2: through bn2, the second convolution, pooling, w2
        gw3l, gw2 = torch.zeros_like(w3l), torch.zeros_like(w2)
        shift1 = -m1 * s1
        gb2 = torch.zeros_like(b2)
        g_glob = torch.empty_like(glob)
        g_n1 = x.new_empty(n, k, w1.shape[0])
        sum1 = torch.zeros_like(m1, dtype=torch.float64)
        dot1 = torch.zeros_like(sum1)
        scale3 = g2 * s2
        # bn2's input gradient: scale3 * (g - mean(g) - xhat * mean(g xhat))
        shift_g3 = (-scale3 * sum3 / count).to(x.dtype)
        coef3 = (-scale3 * dot3 / count).to(x.dtype)
        for c in chunks:
            r1, h1, xhat3, _, _, g_n3 = second(c)
            g_a3 = g_n3.mul_(scale3)
            if ctx.batch2:
                g_a3.addcmul_(xhat3, coef3).add_(shift_g3)
            del xhat3
            gw3l += g_a3.reshape(-1, g_a3.shape[-1]).t() @ h1.reshape(
                -1, h1.shape[-1])
            g_glob[c] = g_a3.sum(1)
            g_h1 = g_a3 @ w3l
            del g_a3
            # the pooled feature's gradient reaches each group's arg-max
            g_h1.scatter_add_(1,
                              h1.max(1, keepdim=True)[1],
                              (g_glob[c] @ w3g).unsqueeze(1))
            gw2 += g_h1.reshape(-1, g_h1.shape[-1]).t() @ r1.reshape(
                -1, r1.shape[-1])
            gb2 += g_h1.sum((0, 1))
            g = (g_h1 @ w2).masked_fill_(r1 <= 0, 0)
            g_n1[c] = g
            xhat1 = _affine(_linear(x[c], w1, b1), s1, shift1)
            sum1 += g.sum((0, 1))
            dot1 += xhat1.mul_(g).sum((0, 1))
        gw3 = torch.cat([g_glob.t() @ pooled, gw3l], 1)
        # sweep 3: through bn1 and the first convolution
        gw1 = torch.zeros_like(w1)
        gb1 = torch.zeros_like(b1)
        gx = torch.empty_like(x) if ctx.needs_input_grad[0] else None
        scale1 = g1 * s1
        shift_g1 = (-scale1 * sum1 / count).to(x.dtype)
        coef1 = (-scale1 * dot1 / count).to(x.dtype)
        for c in chunks:
            g = g_n1[c].mul_(scale1)
            if ctx.batch1:
                xhat1 = _affine(_linear(x[c], w1, b1), s1, shift1)
                g.addcmul_(xhat1, coef1).add_(shift_g1)
            gw1 += g.reshape(-1, g.shape[-1]).t() @ x[c].reshape(
                -1, x.shape[-1])
            gb1 += g.sum((0, 1))
            if gx is not None:
                gx[c] = g @ w1
        return (gx, None, None, None, None, None, gw1, gb1, dot1.to(x.dtype),
                sum1.to(x.dtype), gw2, gb2, gw3, g_glob.sum(0),
                dot3.to(x.dtype), sum3.to(x.dtype), gw4, grad_out.sum(0))


def _hidden(x: Tensor, w1: Tensor, b1: Tensor, m1: Tensor, s1: Tensor,
            g1: Tensor, be1: Tensor, w2: Tensor,
            b2: Tensor) -> Tuple[Tensor, Tensor]:
    """``relu(bn1(conv1(x)))`` and the first MLP's output, channels last."""
    alpha = s1 * g1
    r1 = _affine(_linear(x, w1, b1), alpha, be1 - m1 * alpha).relu_()
    return r1, _linear(r1, w2, b2)

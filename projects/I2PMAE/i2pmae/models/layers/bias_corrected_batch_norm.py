"""BatchNorm whose running statistics start from the data, not from 0/1."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class BiasCorrectedBatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` with bias-corrected running statistics.

    PyTorch starts the running mean and variance at 0 and 1 and moves them
    towards each training batch's statistics by ``momentum`` (0.1). The
    I2P-MAE token embeddings see batch variances of 1e-6 to 1e-3 (centred
    neighbourhoods of a unit cloud, convolutions initialised with std 0.02,
    as officially), so the stale unit variance dominates the running value for
    100+ iterations: until then an evaluation-mode forward shrinks every
    sample's signal by 10-1000x and features collapse to one vector. Long
    official schedules hide this; short ones (and every early validation)
    do not.

    Here the ``n``-th training batch updates the statistics with factor
    ``max(momentum, 1 / n)``, the bias correction of an exponential moving
    average: the running statistics are the plain average of the batches seen
    while ``n <= 1 / momentum``, then the usual moving average. Training-mode
    outputs, the state-dict layout and evaluation with given statistics are
    exactly those of ``nn.BatchNorm1d``; statistics loaded from a checkpoint
    (with their ``num_batches_tracked``) are updated as a moving average.

    The batch count is mirrored in a Python integer so that no device-to-host
    synchronisation happens in the forward pass.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._batches_seen = 0

    def _load_from_state_dict(self, state_dict, prefix, *args,
                              **kwargs) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        tracked = state_dict.get(prefix + 'num_batches_tracked')
        if tracked is not None:
            self._batches_seen = int(tracked)

    def fixed_stats(self) -> Optional[Tuple[Tensor, Tensor]]:
        """The statistics :meth:`forward` would normalise with, if fixed.

        Returns:
            tuple[Tensor, Tensor] | None: the running mean and variance in
            evaluation mode with tracked statistics; None when the forward
            pass normalises with the batch's statistics.
        """
        if self.training or self.running_mean is None:
            return None
        return self.running_mean, self.running_var

    def record_batch(self, mean: Tensor, var: Tensor, count: int) -> None:
        """Update the statistics as :meth:`forward` does for a batch.

        For code that normalises with batch statistics it computed itself
        (see :mod:`.chunked_token_embedding`); call it only when
        :meth:`fixed_stats` is None, once per batch.

        Args:
            mean (Tensor): ``[C]`` the batch mean.
            var (Tensor): ``[C]`` the batch's biased variance.
            count (int): values per channel in the batch (``N * L``).
        """
        if not (self.training and self.track_running_stats):
            return
        self.num_batches_tracked.add_(1)
        if self.momentum is None:
            # nn.BatchNorm's cumulative average
            factor = 1.0 / float(self.num_batches_tracked)
        else:
            self._batches_seen += 1
            factor = max(self.momentum, 1.0 / self._batches_seen)
        unbiased = var * (count / max(count - 1, 1))
        with torch.no_grad():
            self.running_mean.lerp_(mean.detach(), factor)
            self.running_var.lerp_(unbiased.detach(), factor)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x``; see ``nn.BatchNorm1d``.

        Args:
            x (Tensor): ``[N, C]`` or ``[N, C, L]``.

        Returns:
            Tensor: the normalised input, same shape.
        """
        if not (self.training and self.track_running_stats
                and self.momentum is not None):
            return super().forward(x)
        self._check_input_dim(x)
        self._batches_seen += 1
        self.num_batches_tracked.add_(1)
        factor = max(self.momentum, 1.0 / self._batches_seen)
        return F.batch_norm(x, self.running_mean, self.running_var,
                            self.weight, self.bias, True, factor, self.eps)

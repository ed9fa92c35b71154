"""Plain reference implementations that the tests compare the plugin with.

They favour clarity over memory and speed and are not part of the package.
"""
from torch import Tensor


def chamfer_l2(pred: Tensor, target: Tensor) -> Tensor:
    """Symmetric Chamfer distance with squared Euclidean distances.

    ``mean_i min_j |p_i - t_j|^2 + mean_j min_i |p_i - t_j|^2`` where the
    means run over every point of every set in the batch (the official
    I2P-MAE 3D loss).

    Args:
        pred (Tensor): ``[L, K1, 3]`` predicted point sets.
        target (Tensor): ``[L, K2, 3]`` ground-truth point sets.

    Returns:
        Tensor: scalar loss.
    """
    if pred.dim() != 3 or target.dim() != 3 or pred.shape[0] != (
            target.shape[0]) or pred.shape[-1] != target.shape[-1]:
        raise ValueError('pred and target must be [L, K, C] sets with the '
                         f'same L and C, got {tuple(pred.shape)} and '
                         f'{tuple(target.shape)}')
    dist = (pred.unsqueeze(2) - target.unsqueeze(1)).pow(2).sum(-1)
    return dist.min(dim=2)[0].mean() + dist.min(dim=1)[0].mean()

"""Pieces every benchmark mode may use (not a mode: the name starts with _)."""
import torch


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on ``device`` (a no-op off CUDA).

    Args:
        device (torch.device): the device the measured work runs on.
    """
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def random_unit_clouds(batch_size: int, num_points: int,
                       device: torch.device) -> torch.Tensor:
    """Gaussian clouds scaled so that each fits the unit sphere.

    Args:
        batch_size (int): clouds.
        num_points (int): points per cloud.
        device (torch.device): where they are made.

    Returns:
        Tensor: ``[batch_size, num_points, 3]``, the farthest point of each
        cloud at distance 1 from the origin.
    """
    pts = torch.randn(batch_size, num_points, 3, device=device)
    return pts / pts.norm(dim=-1, keepdim=True).amax(1, keepdim=True)

"""Random per-axis scaling and translation of a batch on its device."""
from mmdet3d.registry import MODELS
from torch import Tensor, nn

from ...datasets.transforms.augmentation import PointCloudScaleAndTranslate


@MODELS.register_module()
class PointCloudBatchScaleAndTranslate(nn.Module):
    """:class:`~...datasets.transforms.PointCloudScaleAndTranslate` for a
    batch.

    Each cloud gets its own draw, from torch's global generator of the
    points' device: xyz becomes ``xyz * s + t`` with ``s ~ U(scale_low,
    scale_high)`` and ``t ~ U(-translate_range, translate_range)`` per axis
    (one ``s`` for all axes when ``isotropic``); other channels (normals)
    are unchanged. The official fine-tuning applies it on the GPU after the
    FPS sampling (the order matters: FPS is not invariant to anisotropic
    scaling).

    Args:
        **kwargs: the arguments of ``PointCloudScaleAndTranslate``, with
            its defaults and checks (``scale_low=2/3``, ``scale_high=3/2``,
            ``translate_range=0.2``, ``isotropic=False``).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__()
        # the per-sample transform checks the arguments and holds the ranges
        self.ranges = PointCloudScaleAndTranslate(**kwargs)

    def forward(self, points: Tensor) -> Tensor:
        """Scale and translate every cloud of ``points``.

        Args:
            points (Tensor): ``[B, N, C]`` clouds, xyz first.

        Returns:
            Tensor: the augmented ``[B, N, C]`` clouds (a new tensor).
        """
        ranges = self.ranges
        batch_size = points.shape[0]
        scale = points.new_empty(batch_size, 1,
                                 1 if ranges.isotropic else 3).uniform_(
                                     ranges.scale_low, ranges.scale_high)
        shift = points.new_empty(batch_size, 1,
                                 3).uniform_(-ranges.translate_range,
                                             ranges.translate_range)
        out = points.clone()
        out[..., :3] = points[..., :3] * scale + shift
        return out

    def extra_repr(self) -> str:
        """The ranges, shown in the module's repr."""
        ranges = self.ranges
        return (f'scale_low={ranges.scale_low}, '
                f'scale_high={ranges.scale_high}, '
                f'translate_range={ranges.translate_range}, '
                f'isotropic={ranges.isotropic}')

"""Multi-view depth projection of point clouds and its back-projection."""
from typing import NamedTuple, Sequence, Tuple

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor

from ..utils.point_cloud_check import check_point_cloud
from .feature_back_projection import gather_bicubic_upsampled

#: The official view orders: (x, y, z), (z, x, y) and (y, z, x). The first
#: two permuted coordinates index the pixel (row, column), the third one is
#: the depth value written into the image.
DEFAULT_VIEW_AXES = ((0, 1, 2), (2, 0, 1), (1, 2, 0))


class ProjectionMeta(NamedTuple):
    """Pixel mapping of one :meth:`MultiViewDepthProjector.forward` call.

    A point ``p`` (already permuted into a view's axis order) lands on the
    pixel ``floor((p[:2] - xy_min) / grid_size) + 1 + pixel_offset``.

    Attributes:
        xy_min (Tensor): ``[V, B, 2]`` minimum of the two pixel coordinates
            over each view's cloud.
        grid_size (Tensor): ``[V, B]`` edge length of one pixel in point
            units.
        pixel_offset (Tensor): ``[V, B, 2]`` (int64) shift that centres the
            object in the image.
        image_size (int): side length ``S`` of the square images.
    """

    xy_min: Tensor
    grid_size: Tensor
    pixel_offset: Tensor
    image_size: int

    @property
    def num_views(self) -> int:
        """Number of views ``V``."""
        return self.grid_size.shape[0]

    @property
    def batch_size(self) -> int:
        """Number of point clouds ``B``."""
        return self.grid_size.shape[1]


@MODELS.register_module()
class MultiViewDepthProjector(BaseModule):
    """Render point clouds into normalised multi-view depth images.

    For each view the cloud's coordinates are permuted (``view_axes``), the
    first two are quantised onto a square grid whose cell size makes the
    larger of the two extents span ``image_size - 3`` cells, every point
    writes its depth into a ``splat_size x splat_size`` neighbourhood
    (contributions are summed), the object is centred in the image, pixels
    one step outside the image are moved back onto the border, and the sum
    image goes through a sigmoid and the per-channel ``mean`` / ``std``
    normalisation. The three colour channels are identical.

    Args:
        image_size (int): side length ``S`` of the square images.
            Defaults to 224.
        splat_size (int): side of the square neighbourhood each point
            writes to. Defaults to 5.
        mean (Sequence[float]): per-channel mean subtracted after the
            sigmoid. Defaults to the ImageNet mean.
        std (Sequence[float]): per-channel standard deviation the image is
            divided by. Defaults to the ImageNet std.
        view_axes (Sequence[Sequence[int]]): one permutation of
            ``(0, 1, 2)`` per view. Defaults to the official three views
            ``(x, y, z)``, ``(z, x, y)``, ``(y, z, x)``.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 image_size: int = 224,
                 splat_size: int = 5,
                 mean: Sequence[float] = (0.485, 0.456, 0.406),
                 std: Sequence[float] = (0.229, 0.224, 0.225),
                 view_axes: Sequence[Sequence[int]] = DEFAULT_VIEW_AXES,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if int(image_size) != image_size or image_size < 8:
            raise ValueError('image_size must be an integer >= 8, got '
                             f'{image_size!r}')
        if int(splat_size) != splat_size or splat_size < 1 \
                or splat_size > image_size // 2:
            raise ValueError('splat_size must be an integer in '
                             f'[1, image_size // 2], got {splat_size!r}')
        if len(mean) != len(std) or len(mean) == 0:
            raise ValueError('mean and std must be non-empty sequences of '
                             f'equal length, got {mean!r} and {std!r}')
        if any(s <= 0 for s in std):
            raise ValueError(f'std must be positive, got {std!r}')
        view_axes = tuple(tuple(int(a) for a in axes) for axes in view_axes)
        if not view_axes or any(
                sorted(axes) != [0, 1, 2] for axes in view_axes):
            raise ValueError('view_axes must be permutations of (0, 1, 2), '
                             f'got {view_axes!r}')
        self.image_size = int(image_size)
        self.splat_size = int(splat_size)
        self.view_axes = view_axes
        self.register_buffer(
            'mean', torch.tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer(
            'std', torch.tensor(std, dtype=torch.float32), persistent=False)

    @property
    def num_views(self) -> int:
        """Number of views ``V``."""
        return len(self.view_axes)

    @staticmethod
    def _check_xyz(xyz: Tensor, name: str, check_values: bool = True) -> None:
        """Raise a ValueError unless ``xyz`` is a non-empty ``[B, N, 3]``
        point cloud (of finite values with ``check_values``)."""
        check_point_cloud(xyz, name, check_values=check_values)
        if 0 in xyz.shape:
            raise ValueError(f'{name} must have shape [B, N, 3] with B, N '
                             f'>= 1, got {tuple(xyz.shape)}')

    def _to_views(self, xyz: Tensor) -> Tensor:
        """``[B, N, 3]`` -> ``[V * B, N, 3]`` in each view's axis order."""
        # axis by axis: indexing with a list would copy it to the device
        views = [
            torch.stack([xyz[..., a] for a in axes], dim=-1)
            for axes in self.view_axes
        ]
        return torch.cat(views, dim=0)

    def _pixel_of(self, view_xyz: Tensor, meta: ProjectionMeta) -> Tensor:
        """Pixel ``(row, column)`` of view-ordered points, before clamping.

        Args:
            view_xyz (Tensor): ``[V * B, M, 3]`` points in view order.
            meta (ProjectionMeta): the projection's pixel mapping.

        Returns:
            Tensor: ``[V * B, M, 2]`` int64 pixel indices.
        """
        vb = view_xyz.shape[0]
        xy_min = meta.xy_min.reshape(vb, 1, 2).to(view_xyz.dtype)
        grid = meta.grid_size.reshape(vb, 1, 1).to(view_xyz.dtype)
        cell = torch.floor((view_xyz[..., :2] - xy_min) / grid).long()
        return cell + 1 + meta.pixel_offset.reshape(vb, 1, 2)

    def forward(self,
                points: Tensor,
                check_values: bool = True) -> Tuple[Tensor, ProjectionMeta]:
        """Render every cloud from every view.

        A view in which a cloud has no extent in either pixel coordinate
        is an error with ``check_values``; without, such a view is drawn
        with pixels of size 1 (every point on the centre pixel), so no
        division by zero reaches the pixel indices.

        Args:
            points (Tensor): ``[B, N, 3]`` point clouds.
            check_values (bool): check that the coordinates are finite and
                that every cloud has an extent in every view (device-to-host
                synchronisations on CUDA); I2PMAE passes False since its
                data preprocessor has checked the batch. Defaults to True.

        Returns:
            tuple[Tensor, ProjectionMeta]: images ``[V * B, C, S, S]``
            stacked view-major (all clouds of view 1, then view 2, ...)
            with ``C = len(mean)``, and the pixel mapping that
            :meth:`back_project` needs.
        """
        self._check_xyz(points, 'points', check_values)
        num_views, batch = self.num_views, points.shape[0]
        size = self.image_size
        pts = self._to_views(points)  # [VB, N, 3]
        vb, num_points = pts.shape[:2]

        lower = pts.amin(dim=1)
        extent = pts.amax(dim=1) - lower
        grid = extent[:, :2].amax(dim=-1) / (size - 3)  # [VB]
        if check_values:
            self._check_extent(grid, batch)
        grid = torch.where(grid > 0, grid, torch.ones_like(grid))
        xy_min = lower[:, :2]

        cell = torch.floor(
            (pts[..., :2] - xy_min.unsqueeze(1)) / grid.view(vb, 1, 1)).long()
        # Centre of the splatted footprint (inclusive pixel bounds).
        half = self.splat_size // 2
        steps = torch.arange(-half, self.splat_size - half, device=pts.device)
        lo = cell.amin(dim=1) - half + 1
        hi = cell.amax(dim=1) + (self.splat_size - half - 1) + 1
        centre = torch.div(lo + hi, 2, rounding_mode='floor')
        pixel_offset = size // 2 - centre - 1  # [VB, 2]
        pixel = cell + 1 + pixel_offset.unsqueeze(1)  # [VB, N, 2]

        # Splat along each axis separately, then combine: [VB, N, k, k].
        rows = self._fix_border(pixel[..., 0:1] + steps)
        cols = self._fix_border(pixel[..., 1:2] + steps)
        flat = rows.unsqueeze(-1) * size + cols.unsqueeze(-2)
        flat = flat + (torch.arange(vb, device=points.device) *
                       (size * size)).view(vb, 1, 1, 1)
        depth = pts[..., 2].reshape(vb, num_points, 1, 1).expand_as(flat)
        canvas = pts.new_zeros(vb * size * size)
        canvas.index_add_(0, flat.reshape(-1), depth.reshape(-1))

        image = torch.sigmoid(canvas.view(vb, 1, size, size))
        mean = self.mean.to(image.dtype).view(1, -1, 1, 1)
        std = self.std.to(image.dtype).view(1, -1, 1, 1)
        images = (image - mean) / std

        meta = ProjectionMeta(
            xy_min=xy_min.reshape(num_views, batch, 2),
            grid_size=grid.reshape(num_views, batch),
            pixel_offset=pixel_offset.reshape(num_views, batch, 2),
            image_size=size)
        return images, meta

    def _check_extent(self, grid: Tensor, batch: int) -> None:
        """Raise a ValueError naming the (view, sample) pairs whose cloud
        has no extent in either pixel coordinate (``grid`` is 0).

        Args:
            grid (Tensor): ``[V * B]`` pixel sizes, view-major.
            batch (int): the number of clouds ``B``.
        """
        flat_views = (grid <= 0).nonzero().flatten().tolist()
        if flat_views:
            bad = [(i // batch + 1, i % batch) for i in flat_views]
            raise ValueError(
                'points has a degenerate cloud: zero extent in both pixel '
                f'coordinates of (view, sample) {bad} (views ordered '
                f'{self.view_axes}); every cloud needs a non-zero extent in '
                'each view')

    def _fix_border(self, index: Tensor) -> Tensor:
        """Move pixel indices one step outside the image onto its border;
        indices further out (only with larger splats) are clamped."""
        size = self.image_size
        index = index + (index < 0).long() - (index > size - 1).long()
        return index.clamp(0, size - 1)

    def back_project(self,
                     maps: Tensor,
                     xyz: Tensor,
                     meta: ProjectionMeta,
                     check_values: bool = True) -> Tensor:
        """Sample per-view 2D maps at 3D points.

        Equals upsampling ``maps`` to ``S x S`` (bicubic,
        ``align_corners=False``) and reading each point's pixel (without
        the splat), but only the 4x4 bicubic taps of those pixels are
        evaluated (:func:`~.feature_back_projection.
        gather_bicubic_upsampled`). Pixels outside the image are clamped to
        the border. Differentiable in ``maps``.

        Args:
            maps (Tensor): ``[V * B, C, h, w]`` maps, view-major like the
                images of :meth:`forward`.
            xyz (Tensor): ``[B, M, 3]`` points, in the original axis order.
            meta (ProjectionMeta): the mapping returned by :meth:`forward`.
            check_values (bool): check that the coordinates are finite (a
                device-to-host synchronisation on CUDA); I2PMAE passes
                False since its points come from the checked batch.
                Defaults to True.

        Returns:
            Tensor: ``[V, B, M, C]`` sampled values (dtype of ``maps``).
        """
        if not isinstance(meta, ProjectionMeta):
            raise ValueError('meta must be the ProjectionMeta returned by '
                             f'forward(), got {type(meta).__name__}')
        self._check_xyz(xyz, 'xyz', check_values)
        num_views, batch = meta.num_views, meta.batch_size
        if num_views != self.num_views or xyz.shape[0] != batch:
            raise ValueError(
                f'xyz has batch size {xyz.shape[0]} but meta describes '
                f'{meta.num_views} views x {meta.batch_size} clouds '
                f'(projector has {self.num_views} views)')
        if not isinstance(maps, Tensor) or maps.dim() != 4 \
                or maps.shape[0] != num_views * batch \
                or not maps.is_floating_point():
            shape = tuple(maps.shape) if isinstance(maps, Tensor) else maps
            raise ValueError(
                f'maps must be a floating-point [V * B, C, h, w] tensor '
                f'with V * B = {num_views * batch}, got {shape}')
        size = meta.image_size
        pixel = self._pixel_of(self._to_views(xyz), meta).clamp(0, size - 1)
        values = gather_bicubic_upsampled(maps, pixel, size)
        return values.view(num_views, batch, xyz.shape[1], maps.shape[1])

"""Bicubic sampling of low-resolution 2D maps at image pixels.

I2P-MAE back-projects the teacher's maps onto 3D points by upsampling each
``h x w`` map to the ``S x S`` image with
``F.interpolate(mode='bicubic', align_corners=False)`` and reading the
pixel a point projects to. :func:`gather_bicubic_upsampled` gives the same
values without the ``[N, C, S, S]`` upsampled tensor: it evaluates only the
4x4 bicubic taps of the requested pixels, with the weights and the
summation order of torch's CPU kernel (results agree with it to about one
float32 rounding step).

``F.grid_sample(mode='bicubic', padding_mode='border',
align_corners=False)`` at the pixel centres is the same function, but it
reaches the source coordinate through normalised grid coordinates and, in
float32, lands several rounding steps further from the upsample-then-read
values (see the design note in the project README).
"""
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

#: Coefficient of the cubic convolution kernel used by torch's bicubic mode.
CUBIC_A = -0.75


def _fused_mul_add(a: Tensor, b, c) -> Tensor:
    """``a * b + c`` rounded once to ``a.dtype`` (a fused multiply-add).

    Args:
        a (Tensor): first factor; its dtype is the result's dtype.
        b (Tensor | float): second factor.
        c (Tensor | float): addend.

    Returns:
        Tensor: ``a * b + c`` computed in float64, then rounded once.
    """
    return (a.double() * b + c).to(a.dtype)


def _cubic_conv_near(x: Tensor, a: float = CUBIC_A) -> Tensor:
    """Cubic convolution kernel for ``|x| <= 1``.

    Evaluated with the fused multiply-adds of torch's compiled kernels so
    float32 weights agree with ``F.interpolate`` to the last bits.

    Args:
        x (Tensor): distances to the tap, in ``[0, 1]``.
        a (float): kernel coefficient. Defaults to :data:`CUBIC_A`.

    Returns:
        Tensor: the tap weights (dtype of ``x``).
    """
    t = _fused_mul_add(x, a + 2, -(a + 3)) * x
    return _fused_mul_add(t, x, 1.0)


def _cubic_conv_far(x: Tensor, a: float = CUBIC_A) -> Tensor:
    """Cubic convolution kernel for ``1 < |x| < 2`` (fused like above).

    Args:
        x (Tensor): distances to the tap, in ``[1, 2]``.
        a (float): kernel coefficient. Defaults to :data:`CUBIC_A`.

    Returns:
        Tensor: the tap weights (dtype of ``x``).
    """
    t = _fused_mul_add(x, a, -5 * a)
    t = _fused_mul_add(t, x, 8 * a)
    return _fused_mul_add(t, x, -4 * a)


def bicubic_taps(dst_index: Tensor, in_size: int, out_size: int,
                 dtype: torch.dtype) -> Tuple[Tensor, Tensor]:
    """Source taps of bicubic upsampling along one axis.

    Follows ``F.interpolate(mode='bicubic', align_corners=False)`` with an
    explicit output size: the source coordinate of output index ``d`` is
    ``(d + 0.5) * in_size / out_size - 0.5``, the four taps around it get
    cubic-convolution weights (``A = -0.75``) and taps outside the input
    are clamped to the border.

    Args:
        dst_index (Tensor): integer output indices, any shape ``[...]``.
        in_size (int): input length along the axis.
        out_size (int): output length along the axis.
        dtype (torch.dtype): dtype of the weight computation (float32 or
            float64, as torch's internal math type).

    Returns:
        tuple[Tensor, Tensor]: source indices ``[..., 4]`` (int64, clamped
        to ``[0, in_size - 1]``) and their weights ``[..., 4]``.
    """
    # torch.full, not torch.tensor: no host-to-device copy
    scale = torch.full(
        (), in_size, dtype=dtype, device=dst_index.device) / out_size
    # One rounding for ``scale * (d + 0.5) - 0.5``, like the fused
    # multiply-add the compiled kernels use.
    real = (scale.double() * (dst_index.double() + 0.5) - 0.5).to(dtype)
    base = torch.floor(real).long().clamp(max=in_size - 1)
    t = (real - base.to(dtype)).clamp(0, 1)
    t_rev = 1.0 - t
    weights = (_cubic_conv_far(t + 1.0), _cubic_conv_near(t),
               _cubic_conv_near(t_rev), _cubic_conv_far(t_rev + 1.0))
    weights = torch.stack(weights, dim=-1)
    steps = torch.arange(-1, 3, device=dst_index.device)
    index = (base.unsqueeze(-1) + steps).clamp(0, in_size - 1)
    return index, weights


def _into(buffer: Optional[Tensor], op: Callable, *args) -> Tensor:
    """``op(*args)``, written into ``buffer`` unless it is None.

    Args:
        buffer (Tensor, optional): preallocated result tensor.
        op (Callable): a torch function that accepts ``out=``.
        *args: the arguments of ``op``.

    Returns:
        Tensor: the result (``buffer`` itself when given).
    """
    return op(*args) if buffer is None else op(*args, out=buffer)


def _accumulate_taps(table: Tensor, base: Tensor, row_idx: Tensor,
                     row_w: Tensor, col_idx: Tensor, col_w: Tensor,
                     width: int) -> Tensor:
    """Weighted sum of the 4x4 taps of every requested pixel.

    Like torch's kernel, the 4 taps of each source row are summed first,
    then the 4 rows, with the products accumulated by fused
    ``addcmul_``. Two ways of running the same arithmetic (the results are
    bit-identical):

    - memory-lean, when autograd does not record (the model computes the
      back-projected saliency and 2D targets under ``torch.no_grad``):
      taps, row sums and result are written into three reused
      ``[N * M, C]`` buffers, which also avoids allocating and
      page-faulting 16 fresh tensors (about twice as fast on CPU);
    - differentiable, when autograd records (``table`` requires grad):
      every tap and product is a fresh tensor, since ``out=`` arguments do
      not support autograd. Only the weights are kept for the backward.

    Args:
        table (Tensor): ``[N * h * w, C]`` map values, one row per (map,
            source pixel).
        base (Tensor): ``[N, 1]`` first row of each map in ``table``.
        row_idx (Tensor): ``[N, M, 4]`` source rows of each pixel.
        row_w (Tensor): ``[N * M, 4, 1]`` their weights.
        col_idx (Tensor): ``[N, M, 4]`` source columns of each pixel.
        col_w (Tensor): ``[N * M, 4, 1]`` their weights.
        width (int): width ``w`` of the maps.

    Returns:
        Tensor: ``[N * M, C]`` weighted sums (dtype of ``table``).
    """
    lean = not (torch.is_grad_enabled() and table.requires_grad)
    shape = (row_w.shape[0], table.shape[1])
    tap_buf, line_buf, out_buf = (
        table.new_empty(shape) if lean else None for _ in range(3))
    out = None
    for i in range(4):
        row_start = base + row_idx[..., i] * width  # [N, M]
        line = None
        for j in range(4):
            index = (row_start + col_idx[..., j]).reshape(-1)
            tap = _into(tap_buf, torch.index_select, table, 0, index)
            if line is None:
                line = _into(line_buf, torch.mul, tap, col_w[:, j])
            else:
                line.addcmul_(tap, col_w[:, j])
        if out is None:
            out = _into(out_buf, torch.mul, line, row_w[:, i])
        else:
            out.addcmul_(line, row_w[:, i])
    return out


def gather_bicubic_upsampled(maps: Tensor, pixel: Tensor, size: int) -> Tensor:
    """Read bicubically upsampled maps at given pixels, without upsampling.

    The result equals
    ``F.interpolate(maps, size=(size, size), mode='bicubic',
    align_corners=False)`` read at ``pixel``, but only the 4x4 taps of the
    requested pixels are evaluated: peak extra memory is a few
    ``[N * M, C]`` tensors instead of ``[N, C, size, size]``. Float32 and
    float64 maps are computed in their own dtype, other floating dtypes in
    float32. The result is differentiable in ``maps``.

    Args:
        maps (Tensor): ``[N, C, h, w]`` floating-point maps.
        pixel (Tensor): ``[N, M, 2]`` integer ``(row, column)`` indices in
            the ``size x size`` upsampled image, each in
            ``[0, size - 1]``; row ``n`` reads map ``n``.
        size (int): side length of the upsampled image.

    Returns:
        Tensor: ``[N, M, C]`` sampled values (dtype of ``maps``).
    """
    if not isinstance(maps, Tensor) or maps.dim() != 4 \
            or not maps.is_floating_point():
        shape = tuple(maps.shape) if isinstance(maps, Tensor) else maps
        raise ValueError('maps must be a floating-point [N, C, h, w] tensor, '
                         f'got {shape}')
    if not isinstance(pixel, Tensor) or pixel.dim() != 3 \
            or pixel.shape[0] != maps.shape[0] or pixel.shape[-1] != 2 \
            or pixel.is_floating_point() or pixel.dtype == torch.bool:
        shape = tuple(pixel.shape) if isinstance(pixel, Tensor) else pixel
        raise ValueError('pixel must be an integer [N, M, 2] tensor with '
                         f'N = {maps.shape[0]} (maps), got {shape}')
    num_maps, channels, height, width = maps.shape
    math_dtype = torch.float64 if maps.dtype == torch.float64 \
        else torch.float32
    row_idx, row_w = bicubic_taps(pixel[..., 0], height, size, math_dtype)
    col_idx, col_w = bicubic_taps(pixel[..., 1], width, size, math_dtype)

    # [N * h * w, C] table; one row per (map, source pixel).
    table = maps.to(math_dtype).flatten(2).transpose(1, 2)
    table = table.reshape(num_maps * height * width, channels)
    base = (torch.arange(num_maps, device=maps.device) * (height * width))
    base = base.view(num_maps, 1)
    row_w = row_w.reshape(-1, 4, 1)
    col_w = col_w.reshape(-1, 4, 1)
    out = _accumulate_taps(table, base, row_idx, row_w, col_idx, col_w, width)
    return out.to(maps.dtype).view(num_maps, pixel.shape[1], channels)

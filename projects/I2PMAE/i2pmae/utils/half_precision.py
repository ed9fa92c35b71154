"""Which half precision a device runs fast."""
from typing import Optional

import torch


def cpu_has_fast_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices natively.

    AMX tiles or AVX512-BF16 make oneDNN's bfloat16 matmuls several times
    faster than float32; without them (e.g. AVX2-only CPUs) bfloat16 is
    emulated and slower than float32 (a ViT-B/16 forward on an AVX2 CPU:
    about 10x slower).

    Returns:
        bool: True when torch reports AMX tiles or AVX512-BF16.
    """
    checks = ('_is_amx_tile_supported', '_is_avx512_bf16_supported')
    return any(
        bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def fast_half_dtype(device_type: str) -> Optional[torch.dtype]:
    """The half-precision autocast dtype that speeds up ``device_type``.

    Args:
        device_type (str): ``'cuda'``, ``'cpu'``, ...

    Returns:
        torch.dtype | None: float16 on CUDA (as the official code's teacher),
        bfloat16 on CPUs with native bfloat16 matmuls, None elsewhere
        (float32 is the fastest there).
    """
    if device_type == 'cuda':
        return torch.float16
    if device_type == 'cpu' and cpu_has_fast_bfloat16():
        return torch.bfloat16
    return None

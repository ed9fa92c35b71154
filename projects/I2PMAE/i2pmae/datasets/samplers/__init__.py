"""Data samplers of the I2P-MAE plugin (mmdet3d's ``DATA_SAMPLERS``)."""
from .isolated_rng import isolated_rng
from .seeded_sampler import SeededIndex, SeededSampler

__all__ = ['SeededSampler', 'SeededIndex', 'isolated_rng']

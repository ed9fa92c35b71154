"""Building blocks shared by the I2P-MAE encoder, decoder and heads."""
from .bias_corrected_batch_norm import BiasCorrectedBatchNorm1d
from .feature_propagation import FeaturePropagation
from .gated_extra_token_embedding import GatedExtraTokenEmbedding
from .token_embedding import TokenEmbedding
from .vit_block import ViTBlock, ViTStage

__all__ = [
    'BiasCorrectedBatchNorm1d', 'FeaturePropagation',
    'GatedExtraTokenEmbedding', 'TokenEmbedding', 'ViTBlock', 'ViTStage'
]

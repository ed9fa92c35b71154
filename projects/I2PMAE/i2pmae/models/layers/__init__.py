"""Building blocks shared by the I2P-MAE encoder, decoder and heads."""
from .feature_propagation import FeaturePropagation
from .token_embedding import TokenEmbedding
from .transformer_layer import PointTransformerLayer, PointTransformerStage

__all__ = [
    'FeaturePropagation', 'TokenEmbedding', 'PointTransformerLayer',
    'PointTransformerStage'
]

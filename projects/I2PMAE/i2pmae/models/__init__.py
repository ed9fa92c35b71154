"""Model components of the I2P-MAE plugin (registered in mmdet3d MODELS)."""
from .backbones import I2PMAEPointBackbone, I2PMAEVoteNetBackbone
from .base_mask_generator import BaseMaskGenerator, propagate_mask
from .base_point_model import BasePointModel
from .batch_transforms import (PointCloudBatchFPSSample,
                               PointCloudBatchScaleAndTranslate)
from .clip_teacher import CLIPTeacher
from .decode_heads import I2PMAEPartSegHead, I2PMAESemSegHead
from .guided_mask_generator import GuidedMaskGenerator
from .i2pmae import I2PMAE
from .i2pmae_decoder import I2PMAEDecoder
from .i2pmae_encoder import EncoderOutput, I2PMAEEncoder
from .i2pmae_pretrain_head import I2PMAEPretrainHead
from .losses import SmoothCrossEntropyLoss
from .multiview_depth_projector import MultiViewDepthProjector
from .point_classifier import PointClassifier
from .point_cls_head import PointClsHead
from .point_data_preprocessor import PointCloudDataPreprocessor
from .point_tokenizer import MultiScalePointTokenizer, TokenScale
from .random_mask_generator import RandomMaskGenerator
from .segmentors import I2PMAEPartSegmentor
from .vote_views import VoteViews, official_vote_pipeline

__all__ = [
    'BaseMaskGenerator', 'propagate_mask', 'BasePointModel', 'CLIPTeacher',
    'GuidedMaskGenerator', 'I2PMAE', 'I2PMAEDecoder', 'EncoderOutput',
    'I2PMAEEncoder', 'I2PMAEPretrainHead', 'SmoothCrossEntropyLoss',
    'MultiViewDepthProjector', 'PointClassifier', 'PointClsHead',
    'PointCloudDataPreprocessor', 'MultiScalePointTokenizer', 'TokenScale',
    'RandomMaskGenerator', 'VoteViews', 'official_vote_pipeline',
    'I2PMAEPartSegHead', 'I2PMAEPartSegmentor', 'PointCloudBatchFPSSample',
    'PointCloudBatchScaleAndTranslate', 'I2PMAEVoteNetBackbone',
    'I2PMAEPointBackbone', 'I2PMAESemSegHead'
]

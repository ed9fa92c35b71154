"""Point-cloud classifier for fine-tuning I2P-MAE encoders."""
from typing import List, Optional

import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import Tensor, nn

from .build_component import build_component


@MODELS.register_module()
class PointClassifier(BaseModel):
    """Tokenizer → hierarchical encoder (all tokens) → LayerNorm → pooling
    → MLP head.

    Args:
        tokenizer (dict): ``MultiScalePointTokenizer`` config.
        backbone (dict): ``I2PMAEEncoder`` config (usually
            ``final_norm=False`` and ``local_radius`` set).
        head (dict): ``PointClsHead`` config.
        pooling (str): ``'mean+max'`` (sum of mean and max pooling,
            ModelNet40) or ``'concat'`` (mean and max concatenated,
            ScanObjectNN).
        data_preprocessor (dict, optional): defaults to
            ``PointCloudDataPreprocessor`` keeping xyz.
        init_cfg (dict, optional): mmengine init config.
    """

    POOLINGS = ('mean+max', 'concat')

    def __init__(self,
                 tokenizer: dict,
                 backbone: dict,
                 head: dict,
                 pooling: str = 'mean+max',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='PointCloudDataPreprocessor', num_channels=3)
        # built from mmdet3d's registry (BaseModel would use mmengine's)
        super().__init__(
            data_preprocessor=build_component(data_preprocessor),
            init_cfg=init_cfg)
        if pooling not in self.POOLINGS:
            raise ValueError(
                f'pooling must be one of {self.POOLINGS}, got {pooling!r}')
        self.pooling = pooling
        self.tokenizer = build_component(tokenizer)
        self.backbone = build_component(backbone)
        dim = self.backbone.embed_dims[-1]
        self.norm = nn.LayerNorm(dim)
        self.head = build_component(head)
        expected = 2 * dim if pooling == 'concat' else dim
        if self.head.in_channels != expected:
            raise ValueError(
                f'head.in_channels must be {expected} for pooling='
                f'{pooling!r} and a {dim}-channel encoder, got '
                f'{self.head.in_channels}')

    def extract_feat(self, points: Tensor) -> Tensor:
        """Pooled features ``[B, C]`` (``2C`` for concat pooling)."""
        scales = self.tokenizer(points[..., :3].contiguous())
        x = self.norm(self.backbone(scales).feats[-1])
        if self.pooling == 'concat':
            return torch.cat([x.mean(1), x.max(1)[0]], dim=1)
        return x.mean(1) + x.max(1)[0]

    @staticmethod
    def _labels(data_samples: List) -> Tensor:
        if not data_samples or 'gt_label' not in data_samples[0]:
            raise ValueError('training needs data samples with gt_label')
        return torch.cat([s.gt_label.view(-1) for s in data_samples])

    def loss(self, inputs: dict, data_samples: List) -> dict:
        """Classification loss (``loss_cls``) and accuracy."""
        feats = self.extract_feat(inputs['points'])
        labels = self._labels(data_samples).to(feats.device)
        return self.head.loss(feats, labels)

    def predict(self,
                inputs: dict,
                data_samples: Optional[List] = None) -> List[DataSample]:
        """Scores and labels in mmpretrain ``DataSample``s."""
        logits = self.head(self.extract_feat(inputs['points']))
        scores = logits.softmax(dim=1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(logits))]
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score).set_pred_label(score.argmax())
        return data_samples

    def forward(self,
                inputs: dict,
                data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """mmengine entry point: ``loss``, ``predict`` or ``tensor`` (logits).
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs['points']))
        raise ValueError(f'mode must be loss, predict or tensor, got {mode}')

"""Point-cloud classifier for fine-tuning I2P-MAE encoders."""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmdet3d.registry import MODELS
from mmpretrain.structures import DataSample
from torch import Tensor, nn

from .base_point_model import BasePointModel
from .build_component import build_component
from .vote_views import VoteViews, official_vote_pipeline

#: test_cfg keys of PointClassifier and their defaults
DEFAULT_TEST_CFG = dict(num_points=None, votes=0, vote_pipeline=None, seed=0)


@MODELS.register_module()
class PointClassifier(BasePointModel):
    """Tokenizer, encoder (all tokens), LayerNorm, pooling and MLP head.

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
        test_cfg (dict, optional): evaluation settings (every key optional):

            - ``num_points`` (int, optional): predictions use the first
              ``num_points`` points of each cloud (e.g. plain FPS to 1024
              of 1200 points in FPS order); None (default): every point.
            - ``votes`` (int): 0 (default) or the number of test-time votes.
              Only the test step votes: the logits of ``votes`` augmented
              views are averaged into ``vote_score`` (their softmax) and
              ``vote_label`` beside the plain ``pred_score``.
            - ``vote_pipeline`` (list[dict], optional): transforms making a
              view from the whole input cloud; None: the official vote
              (:func:`~.vote_views.official_vote_pipeline`).
            - ``seed`` (int): seed of the views (default 0); each sample's
              views are drawn from (seed, its ``sample_idx``).
        init_cfg (dict, optional): mmengine init config.
    """

    POOLINGS = ('mean+max', 'concat')

    def __init__(self,
                 tokenizer: dict,
                 backbone: dict,
                 head: dict,
                 pooling: str = 'mean+max',
                 data_preprocessor: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
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
        self.test_cfg = self._check_test_cfg(test_cfg)
        self.vote_views: Optional[VoteViews] = None
        if self.test_cfg['votes']:
            pipeline = self.test_cfg['vote_pipeline']
            if pipeline is None:
                pipeline = official_vote_pipeline(self.test_cfg['num_points'])
            self.vote_views = VoteViews(self.test_cfg['votes'], pipeline,
                                        self.test_cfg['seed'])

    @staticmethod
    def _check_test_cfg(test_cfg: Optional[dict]) -> dict:
        """``test_cfg`` with its defaults, checked.

        Args:
            test_cfg (dict, optional): the model's ``test_cfg``.

        Returns:
            dict: every key of ``DEFAULT_TEST_CFG``.
        """
        test_cfg = dict(test_cfg or {})
        unknown = sorted(set(test_cfg) - set(DEFAULT_TEST_CFG))
        if unknown:
            raise ValueError(f'model.test_cfg: unknown keys {unknown}; known: '
                             f'{sorted(DEFAULT_TEST_CFG)}')
        cfg = dict(DEFAULT_TEST_CFG, **test_cfg)

        def is_int(value) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        num_points = cfg['num_points']
        if num_points is not None and (not is_int(num_points)
                                       or num_points < 1):
            raise ValueError('model.test_cfg.num_points must be None or an '
                             f'int >= 1, got {num_points!r}')
        if not is_int(cfg['votes']) or cfg['votes'] < 0:
            raise ValueError('model.test_cfg.votes must be an int >= 0 (0: '
                             f'no voting), got {cfg["votes"]!r}')
        if not is_int(cfg['seed']) or cfg['seed'] < 0:
            raise ValueError('model.test_cfg.seed must be an int >= 0, got '
                             f'{cfg["seed"]!r}')
        pipeline = cfg['vote_pipeline']
        if pipeline is not None and (isinstance(pipeline, (str, dict))
                                     or not isinstance(pipeline, Sequence)
                                     or not pipeline):
            raise ValueError('model.test_cfg.vote_pipeline must be None or '
                             f'a non-empty list of transforms, got '
                             f'{pipeline!r}')
        return cfg

    def extract_feat(self, points: Tensor) -> Tensor:
        """Pooled features ``[B, C]`` (``2C`` for concat pooling) of clouds
        the data preprocessor has checked (values are not checked again)."""
        scales = self.tokenizer(
            points[..., :3].contiguous(), check_values=False)
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
        """Scores and labels in mmpretrain ``DataSample``s.

        Args:
            inputs (dict): ``points`` ``[B, N, C]``; the first
                ``test_cfg.num_points`` of them are used (all when None).
            data_samples (list, optional): the batch's data samples.

        Returns:
            list[DataSample]: with ``pred_score`` and ``pred_label``.
        """
        points = inputs['points']
        if self.test_cfg['num_points'] is not None:
            points = points[:, :self.test_cfg['num_points']]
        logits = self.head(self.extract_feat(points))
        scores = logits.softmax(dim=1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(logits))]
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score).set_pred_label(score.argmax())
        return data_samples

    def vote_logits(self, points: Tensor,
                    sample_indices: Sequence[int]) -> Tensor:
        """Logits averaged over the augmented views of each cloud.

        Args:
            points (Tensor): ``[B, N, C]`` clouds.
            sample_indices (Sequence[int]): each cloud's index in its
                dataset (the views are drawn from it and ``test_cfg.seed``).

        Returns:
            Tensor: ``[B, num_classes]`` mean logits.

        Raises:
            RuntimeError: ``test_cfg.votes`` is 0.
        """
        if self.vote_views is None:
            raise RuntimeError('voting needs model.test_cfg.votes >= 1')
        clouds = points.detach().cpu().numpy()
        per_cloud = [
            self.vote_views.views(cloud, int(i))
            for cloud, i in zip(clouds, sample_indices)
        ]
        views = np.stack(per_cloud, axis=1)  # [votes, B, n, C]
        total = None
        for view in views:
            logits = self.head(
                self.extract_feat(torch.from_numpy(view).to(points)))
            total = logits if total is None else total + logits
        return total / len(views)

    def predict_votes(self, inputs: dict,
                      data_samples: List[DataSample]) -> List[DataSample]:
        """Add ``vote_score`` and ``vote_label`` to the data samples.

        Args:
            inputs (dict): ``points`` ``[B, N, C]`` (every point: the views
                are drawn from the whole cloud).
            data_samples (list[DataSample]): the batch's data samples, with
                ``sample_idx`` in their metainfo.

        Returns:
            list[DataSample]: ``data_samples``.

        Raises:
            ValueError: no data samples, or one without ``sample_idx``.
        """
        if not data_samples:
            raise ValueError('test-time voting needs the data samples (their '
                             'sample_idx seeds the views)')
        indices = [s.metainfo.get('sample_idx') for s in data_samples]
        if any(i is None for i in indices):
            raise ValueError(
                'test-time voting draws each sample\'s views from '
                'model.test_cfg.seed and its sample_idx: every data sample '
                'needs sample_idx in its metainfo (PackPointCloudInputs '
                'copies it from the dataset)')
        scores = self.vote_logits(inputs['points'], indices).softmax(dim=1)
        for sample, score in zip(data_samples, scores):
            sample.set_field(score, 'vote_score', dtype=torch.Tensor)
            sample.set_field(
                score.argmax().view(1), 'vote_label', dtype=torch.Tensor)
        return data_samples

    def test_step(self, data: Union[dict, tuple, list]) -> List[DataSample]:
        """Plain predictions, and the votes when ``test_cfg.votes`` > 0
        (``val_step`` never votes).

        Args:
            data (dict | tuple | list): a batch from the dataloader.

        Returns:
            list[DataSample]: the predictions.
        """
        data = self.data_preprocessor(data, False)
        samples = self._run_forward(data, mode='predict')
        if self.vote_views is not None:
            self.predict_votes(data['inputs'], samples)
        return samples

    def _forward(self,
                 inputs: dict,
                 data_samples: Optional[List] = None) -> Tensor:
        """``mode='tensor'``: logits ``[B, num_classes]`` of every point."""
        return self.head(self.extract_feat(inputs['points']))

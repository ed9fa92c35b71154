"""Pretraining head of I2P-MAE: 3D coordinates and 2D semantics."""
from typing import Dict, Optional

from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from .build_component import build_component
from .token_selection import select_rows


@MODELS.register_module()
class I2PMAEPretrainHead(BaseModule):
    """Predicts, per decoded token, its neighbourhood's coordinates (masked
    tokens) and the 2D teacher features of its points (visible tokens).

    Both losses are built from config, as mmpretrain's MAE head does. The
    defaults are the official losses: mmdet3d's ``ChamferDistance``
    (``mode='l2'``, the sum of its two mean directions) for the
    coordinates and mmdet's ``MSELoss`` for the 2D semantics.

    Args:
        in_channels (int): decoder output channels.
        group_size (int): points per token at the decoded scale.
        feat_dim_2d (int): teacher feature channels (0 disables the 2D
            target: the Point-M2AE baseline).
        num_views (int): projected views whose features are concatenated.
        loss_3d (dict): config of a point-set loss called as
            ``loss_3d(pred, target)`` on ``[L, K, 3]`` sets that returns
            ``(loss_src, loss_dst)`` (mmdet3d's ``ChamferDistance``); the
            3D loss is their sum.
        loss_2d (dict, optional): config of an element-wise loss called as
            ``loss_2d(pred, target)``; required when ``feat_dim_2d > 0``,
            not built otherwise.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 group_size: int,
                 feat_dim_2d: int = 512,
                 num_views: int = 3,
                 loss_3d: dict = dict(
                     type='ChamferDistance', mode='l2', reduction='mean'),
                 loss_2d: Optional[dict] = dict(type='mmdet.MSELoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if loss_3d is None:
            raise ValueError('head.loss_3d must be a loss config, got None')
        if feat_dim_2d > 0 and loss_2d is None:
            raise ValueError(
                f'head.loss_2d must be a loss config when head.feat_dim_2d '
                f'is {feat_dim_2d} (> 0), got None')
        self.group_size = group_size
        self.feat_dim_2d = feat_dim_2d
        self.num_views = num_views
        self.rec_3d = nn.Linear(in_channels, 3 * group_size)
        self.rec_2d = nn.Linear(in_channels, feat_dim_2d * group_size *
                                num_views) if feat_dim_2d > 0 else None
        self.loss_3d = build_component(loss_3d)
        self.loss_2d = build_component(loss_2d) if self.with_2d else None

    @property
    def with_2d(self) -> bool:
        return self.rec_2d is not None

    def point_set_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        """The 3D loss between predicted and true point sets.

        Args:
            pred (Tensor): ``[L, K, 3]`` predicted neighbourhoods.
            target (Tensor): ``[L, K, 3]`` true neighbourhoods.

        Returns:
            Tensor: scalar, the sum of ``loss_3d``'s two directions.
        """
        loss_src, loss_dst = self.loss_3d(pred, target)
        return loss_src + loss_dst

    def loss(self,
             feats: Tensor,
             mask: Tensor,
             neighborhoods: Tensor,
             targets_2d: Optional[Tensor] = None,
             num_visible: Optional[int] = None) -> Dict[str, Tensor]:
        """Compute the reconstruction losses.

        Args:
            feats (Tensor): ``[B, G, C]`` decoded tokens.
            mask (Tensor): bool ``[B, G]``, True = masked.
            neighborhoods (Tensor): ``[B, G, K, 3]`` centred neighbourhoods.
            targets_2d (Tensor, optional): ``[L_vis, K, V * F]`` teacher
                features of every point of every visible token (in the
                order of ``feats[~mask]``); required when ``with_2d``.
            num_visible (int, optional): the number of False entries of
                ``mask`` (visible tokens of the whole batch); counted here
                (a device-to-host synchronisation on CUDA) when None.

        Returns:
            dict[str, Tensor]: ``loss_3d`` (and ``loss_2d``).
        """
        if num_visible is None:
            num_visible = int((~mask).sum())
        num_masked = mask.numel() - num_visible
        masked = select_rows(feats, mask, num_masked)
        pred_3d = self.rec_3d(masked).reshape(num_masked, -1, 3)
        losses = dict(
            loss_3d=self.point_set_loss(
                pred_3d, select_rows(neighborhoods, mask, num_masked)))
        if self.with_2d:
            if targets_2d is None:
                raise ValueError('targets_2d is required when the head '
                                 'reconstructs 2D semantics')
            visible = select_rows(feats, ~mask, num_visible)
            pred_2d = self.rec_2d(visible).reshape(num_visible,
                                                   self.group_size, -1)
            if pred_2d.shape != targets_2d.shape:
                raise ValueError(
                    f'targets_2d must have shape {tuple(pred_2d.shape)}, got '
                    f'{tuple(targets_2d.shape)}')
            losses['loss_2d'] = self.loss_2d(pred_2d, targets_2d)
        return losses

"""Semantic-segmentation decode head for scene blocks (no category)."""
from typing import Dict, List, Sequence

from mmdet3d.registry import MODELS
from torch import Tensor

from ..per_point_labels import per_point_labels, sample_name
from .part_seg_head import I2PMAEPartSegHead


@MODELS.register_module()
class I2PMAESemSegHead(I2PMAEPartSegHead):
    """Per-point class logits of scene blocks from multi-scale tokens.

    :class:`I2PMAEPartSegHead` without the category input
    (``num_categories=0``): every scale's token features are propagated
    to every point (three-NN interpolation), concatenated, joined by the
    block's max + mean feature and mapped by the per-point MLP to
    ``num_classes`` logits. Its input is the dict of
    :class:`~..I2PMAEPointBackbone` (``points``, ``centers``, ``feats``),
    so with that backbone it is the decode head of mmdet3d's
    ``EncoderDecoder3D``.

    The loss is ``loss_decode`` of ``Base3DDecodeHead`` over every point
    whose label is not ``ignore_index``. Before it, the labels are checked
    (:meth:`check_labels`), so a wrong label fails with one message naming
    the sample rather than inside the loss.

    Args:
        in_channels (Sequence[int]): token channels of each encoder scale,
            finest first.
        num_classes (int): classes (13 for S3DIS).
        ignore_index (int): label ignored by the loss (13 for S3DIS:
            mmdet3d's ``PointSegClassMapping`` gives it to the points of no
            class).
        **kwargs: the other :class:`I2PMAEPartSegHead` arguments
            (``fp_channels``, ``fp_blocks``, ``hidden_channels``,
            ``channels``, ``dropout_ratio``, ``loss_decode``,
            ``init_cfg``).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_classes: int = 13,
                 ignore_index: int = 13,
                 **kwargs) -> None:
        if kwargs.get('num_categories', 0):
            raise ValueError(
                'I2PMAESemSegHead has no category input: leave out '
                f'num_categories (got {kwargs["num_categories"]}), or use '
                'I2PMAEPartSegHead')
        kwargs.pop('num_categories', None)
        super().__init__(
            in_channels,
            num_classes=num_classes,
            num_categories=0,
            ignore_index=ignore_index,
            **kwargs)

    def check_labels(self, seg_logits: Tensor,
                     batch_data_samples: List) -> None:
        """Raise one ``ValueError`` naming the first sample with bad labels.

        Args:
            seg_logits (Tensor): ``[B, num_classes, N]`` logits.
            batch_data_samples (list): data samples with
                ``gt_pts_seg.pts_semantic_mask``.

        Raises:
            ValueError: not one sample per cloud, a sample without labels,
            with a label count that is not its point count, or with a label
            that is neither a class in ``[0, num_classes)`` nor
            ``ignore_index``.
        """
        num_clouds, _, num_points = seg_logits.shape
        if len(batch_data_samples) != num_clouds:
            raise ValueError(
                f'{num_clouds} clouds but {len(batch_data_samples)} data '
                'samples: segmentation training needs one per cloud')
        for i, sample in enumerate(batch_data_samples):
            name = sample_name(i, sample.metainfo)
            mask = per_point_labels(sample, i, num_points, 'semantic')
            bad = (mask != self.ignore_index) & ((mask < 0) |
                                                 (mask >= self.num_classes))
            if bool(bad.any()):
                raise ValueError(
                    f'{name}: semantic label {int(mask[bad][0])} is outside '
                    f'the {self.num_classes} classes [0, {self.num_classes})'
                    f' and is not ignore_index {self.ignore_index}')

    def loss_by_feat(self, seg_logit: Tensor,
                     batch_data_samples: List) -> Dict[str, Tensor]:
        """The checked labels' loss (``loss_sem_seg``).

        Args:
            seg_logit (Tensor): ``[B, num_classes, N]`` logits.
            batch_data_samples (list): data samples with
                ``gt_pts_seg.pts_semantic_mask``.

        Returns:
            dict[str, Tensor]: the loss.
        """
        self.check_labels(seg_logit, batch_data_samples)
        return super().loss_by_feat(seg_logit, batch_data_samples)

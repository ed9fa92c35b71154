"""Class and instance mIoU of part segmentation (ShapeNetPart protocol)."""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet3d.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

__all__ = ['PartSegMIoU', 'shape_part_ious']


def shape_part_ious(pred: np.ndarray, gt: np.ndarray,
                    parts: Sequence[int]) -> np.ndarray:
    """IoU of each part of a shape's category.

    A part's IoU is ``|pred == p and gt == p| / |pred == p or gt == p|``
    over the shape's points; a part absent from both the prediction and the
    labels counts as 1. Predicted labels outside ``parts`` only count as
    misses of the true parts.

    Args:
        pred (np.ndarray): ``[N]`` predicted part ids.
        gt (np.ndarray): ``[N]`` true part ids.
        parts (Sequence[int]): the part ids of the shape's category.

    Returns:
        np.ndarray: ``[len(parts)]`` IoUs in [0, 1].
    """
    ious = np.ones(len(parts))
    for i, part in enumerate(parts):
        in_pred, in_gt = pred == part, gt == part
        union = np.count_nonzero(in_pred | in_gt)
        if union:
            ious[i] = np.count_nonzero(in_pred & in_gt) / union
    return ious


def _flat_array(labels) -> np.ndarray:
    """A tensor or array of labels as a flat numpy array."""
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    return np.asarray(labels).reshape(-1)


@METRICS.register_module()
class PartSegMIoU(BaseMetric):
    """Class mIoU and instance mIoU of part segmentation, in percent.

    Each shape's IoU is the mean of :func:`shape_part_ious` over the parts
    of its own category (the ShapeNetPart convention of PointNet++ and
    Point-M2AE). ``instance_miou`` is the mean over all shapes;
    ``class_miou`` the mean over the categories present of each category's
    mean shape IoU. The per-category values and shape counts are logged.

    Data samples (the model's outputs, as dicts) need
    ``pred_pts_seg.pts_semantic_mask`` ``[N]``,
    ``gt_pts_seg.pts_semantic_mask`` ``[N]`` and ``category_id`` (the
    metainfo key set by ``ShapeNetPartDataset``).

    Args:
        seg_classes (dict, optional): category name -> part ids, in
            category-id order; None: the evaluated dataset's
            ``dataset_meta['seg_classes']``, ordered by its ``classes``.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): metric-name prefix; defaults to
            ``'partseg'`` (``partseg/class_miou``,
            ``partseg/instance_miou``).
    """

    default_prefix = 'partseg'

    def __init__(self,
                 seg_classes: Optional[Dict[str, Sequence[int]]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.seg_classes = None if seg_classes is None else dict(seg_classes)

    def categories(self) -> List[Tuple[str, Tuple[int, ...]]]:
        """``(name, part ids)`` of every category, in category-id order.

        Raises:
            ValueError: neither ``seg_classes`` nor a ``dataset_meta`` with
            ``classes`` and ``seg_classes``.
        """
        if self.seg_classes is not None:
            table = self.seg_classes
            names = list(table)
        else:
            meta = self.dataset_meta or {}
            table, names = meta.get('seg_classes'), meta.get('classes')
            if table is None or names is None:
                raise ValueError(
                    'PartSegMIoU needs the categories\' parts: give '
                    'seg_classes, or evaluate a dataset whose metainfo has '
                    'classes and seg_classes (ShapeNetPartDataset)')
        return [(name, tuple(int(p) for p in table[name])) for name in names]

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the IoU of every shape with its category.

        Args:
            data_batch: the batch (unused).
            data_samples (Sequence[dict]): the model's outputs.

        Raises:
            ValueError: a sample without predictions, labels or category, a
            category id outside the categories, prediction and label
            counts that differ, or a label outside its category's parts.
        """
        categories = self.categories()
        for sample in data_samples:
            where = sample.get('points_path', sample.get('sample_idx'))
            name = 'PartSegMIoU: data sample' + (f' {where}'
                                                 if where is not None else '')
            try:
                pred = sample['pred_pts_seg']['pts_semantic_mask']
                gt = sample['gt_pts_seg']['pts_semantic_mask']
                cid = int(sample['category_id'])
            except KeyError as key:
                raise ValueError(
                    f'{name} has no {key.args[0]} (needed: '
                    'pred_pts_seg.pts_semantic_mask, '
                    'gt_pts_seg.pts_semantic_mask and category_id)') from None
            pred, gt = _flat_array(pred), _flat_array(gt)
            if not 0 <= cid < len(categories):
                raise ValueError(f'{name}: category_id {cid} is outside the '
                                 f'{len(categories)} categories')
            category, parts = categories[cid]
            if pred.shape != gt.shape:
                raise ValueError(
                    f'{name}: {pred.size} predicted labels for {gt.size} '
                    'labelled points (one prediction per point)')
            outside = ~np.isin(gt, parts)
            if outside.any():
                raise ValueError(
                    f'{name}: label {int(gt[outside][0])} is not one of the '
                    f'parts {parts} of its category {category!r}')
            self.results.append(
                dict(
                    category_id=cid,
                    iou=float(shape_part_ious(pred, gt, parts).mean())))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Average the shape IoUs.

        Args:
            results (list[dict]): ``category_id`` and ``iou`` per shape.

        Returns:
            dict[str, float]: ``class_miou`` and ``instance_miou`` (%).
        """
        per_category = defaultdict(list)
        for result in results:
            per_category[result['category_id']].append(result['iou'])
        categories = self.categories()
        means = {c: float(np.mean(v)) for c, v in per_category.items()}
        lines = [
            f'{categories[c][0]}: {100 * means[c]:.2f} '
            f'({len(per_category[c])})' for c in sorted(means)
        ]
        MMLogger.get_current_instance().info(
            'part-segmentation mIoU per category (shapes): ' +
            ', '.join(lines))
        return dict(
            class_miou=100 * float(np.mean(list(means.values()))),
            instance_miou=100 * float(np.mean([r['iou'] for r in results])))

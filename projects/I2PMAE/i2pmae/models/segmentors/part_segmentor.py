"""Part segmentation with the I2P-MAE encoder (mmdet3d EncoderDecoder3D)."""
from typing import Dict, List, Optional, Sequence

import torch
from mmdet3d.models.segmentors import EncoderDecoder3D
from mmdet3d.registry import MODELS
from mmdet3d.structures import PointData
from mmengine.registry import DefaultScope
from torch import Tensor

from ...datasets.class_names import SHAPENETPART_SEG_CLASSES
from ..build_component import build_component
from ..per_point_labels import per_point_labels, sample_name

#: test_cfg keys of I2PMAEPartSegmentor and their defaults
DEFAULT_TEST_CFG = dict(restrict_to_category=True)


@MODELS.register_module()
class I2PMAEPartSegmentor(EncoderDecoder3D):
    """Tokenizer + I2P-MAE encoder (all tokens) + part-segmentation head.

    A thin subclass of mmdet3d's ``EncoderDecoder3D``: the constructor,
    the decode-head training path (``decode.`` loss prefix) and
    ``Base3DSegmentor.forward`` are mmdet3d's. What it changes:

    * :meth:`extract_feat` tokenises the clouds and encodes every token
      of every scale, returning the points, token centres and features
      the head propagates back to the points;
    * the decode head also gets each cloud's category (``categories``),
      read from ``metainfo['category_id']`` of the data samples;
    * clouds are processed as one ``[B, N, C]`` batch (the
      ``PointCloudDataPreprocessor`` output), not one at a time;
    * :meth:`predict` takes, by default, the argmax over the parts of each
      cloud's own category only (the ShapeNetPart evaluation of Point-M2AE
      and PointNet++); ``test_cfg=dict(restrict_to_category=False)`` takes
      it over all classes.

    Data samples: the plugin's packing (``PackPointCloudInputs``) is kept;
    its samples are mmpretrain ``DataSample``s holding mmdet3d's fields
    (``gt_pts_seg.pts_semantic_mask``, and ``category_id`` in the
    metainfo), which is all this model reads, so ``Det3DDataSample``s with
    the same fields work too. Predictions are written as mmdet3d's
    ``postprocess_result`` writes them: ``pred_pts_seg.pts_semantic_mask``
    ``[N]`` and ``pts_seg_logits.pts_seg_logits`` ``[num_classes, N]``.

    Weights: the encoder is ``backbone`` (and the tokenizer has none), as
    in :class:`~..I2PMAE` and :class:`~..PointClassifier`, so an I2P-MAE
    checkpoint's ``backbone.*`` loads through ``load_from`` unchanged, or
    through ``backbone.init_cfg=dict(type='Pretrained',
    checkpoint=..., prefix='backbone.')``.

    Args:
        tokenizer (dict): ``MultiScalePointTokenizer`` config.
        backbone (dict): ``I2PMAEEncoder`` config (``final_norm`` with a
            norm at every scale, as the Point-M2AE segmentation encoder).
        decode_head (dict): ``I2PMAEPartSegHead`` config; its
            ``num_categories`` must be ``len(seg_classes)`` and its
            ``num_classes`` must cover every part id.
        seg_classes (dict, optional): category name -> global part ids,
            in category-id order; None: ShapeNetPart's 16 categories and 50
            parts (``synsetoffset2category.txt`` order).
        train_cfg (dict, optional): unused (mmdet3d's argument).
        test_cfg (dict, optional): ``restrict_to_category`` (bool,
            default True).
        data_preprocessor (dict, optional): defaults to
            ``PointCloudDataPreprocessor`` keeping xyz.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 tokenizer: dict,
                 backbone: dict,
                 decode_head: dict,
                 seg_classes: Optional[Dict[str, Sequence[int]]] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='PointCloudDataPreprocessor', num_channels=3)
        test_cfg = dict(test_cfg or {})
        unknown = sorted(set(test_cfg) - set(DEFAULT_TEST_CFG))
        if unknown:
            raise ValueError(f'model.test_cfg: unknown keys {unknown}; known: '
                             f'{sorted(DEFAULT_TEST_CFG)}')
        # built in mmdet3d's scope whatever the current one (build_component)
        with DefaultScope.overwrite_default_scope('mmdet3d'):
            super().__init__(
                backbone=backbone,
                decode_head=decode_head,
                train_cfg=train_cfg,
                test_cfg=dict(DEFAULT_TEST_CFG, **test_cfg),
                data_preprocessor=build_component(data_preprocessor),
                init_cfg=init_cfg)
            self.tokenizer = build_component(tokenizer)
        seg_classes = dict(SHAPENETPART_SEG_CLASSES if seg_classes is
                           None else seg_classes)
        self.category_names = tuple(seg_classes)
        head = self.decode_head
        if list(head.in_channels) != list(self.backbone.embed_dims):
            raise ValueError(
                f'decode_head.in_channels={list(head.in_channels)} must be '
                f'the encoder\'s embed_dims={list(self.backbone.embed_dims)}')
        if head.num_categories != len(seg_classes):
            raise ValueError(
                f'decode_head.num_categories={head.num_categories} must be '
                f'the number of seg_classes categories ({len(seg_classes)})')
        # part_table[c, k]: part k belongs to category c
        table = torch.zeros(
            len(seg_classes), head.num_classes, dtype=torch.bool)
        for c, (name, parts) in enumerate(seg_classes.items()):
            parts = [int(p) for p in parts]
            if not parts or min(parts) < 0 or max(parts) >= head.num_classes:
                raise ValueError(
                    f'seg_classes[{name!r}] must list part ids in [0, '
                    f'decode_head.num_classes={head.num_classes}), got '
                    f'{parts}')
            table[c, parts] = True
        self.register_buffer('part_table', table, persistent=False)

    def extract_feat(self, batch_inputs: Tensor) -> dict:
        """Tokenise and encode every token of every scale.

        Args:
            batch_inputs (Tensor): ``[B, N, C]`` points (xyz first).

        Returns:
            dict: ``points`` ``[B, N, 3]``, and per scale (finest first)
            ``centers`` ``[B, G_s, 3]`` and ``feats`` ``[B, G_s, C_s]``.
        """
        points = batch_inputs[..., :3].contiguous()
        scales = self.tokenizer(points)
        out = self.backbone(scales)
        return dict(
            points=points,
            centers=[s.centers for s in scales],
            feats=list(out.feats))

    def categories(self, batch_input_metas: List[dict],
                   batch_size: int) -> Tensor:
        """Each cloud's category id, checked.

        Args:
            batch_input_metas (list[dict]): the data samples' metainfo.
            batch_size (int): the clouds in the batch.

        Returns:
            Tensor: long ``[B]`` on the model's device.

        Raises:
            ValueError: no metainfo per cloud, a missing ``category_id``,
            one outside ``seg_classes``, or a ``category`` name that is not
            the name of that id.
        """
        if batch_input_metas is None or len(batch_input_metas) != batch_size:
            got = None if batch_input_metas is None else len(batch_input_metas)
            raise ValueError(
                'part segmentation needs one data sample per cloud (its '
                f'metainfo holds the category_id): {batch_size} clouds, '
                f'got {got} data samples')
        ids = []
        for i, meta in enumerate(batch_input_metas):
            cid = meta.get('category_id')
            if cid is None:
                raise ValueError(
                    f'{sample_name(i, meta)} has no category_id in its '
                    'metainfo (ShapeNetPartDataset sets it and '
                    'PackPointCloudInputs copies it)')
            cid = int(cid)
            if not 0 <= cid < len(self.category_names):
                raise ValueError(
                    f'{sample_name(i, meta)}: category_id {cid} is outside '
                    f'the {len(self.category_names)} categories of the model '
                    '(seg_classes)')
            name = meta.get('category')
            if name is not None and name != self.category_names[cid]:
                raise ValueError(
                    f'{sample_name(i, meta)}: category {name!r} has '
                    f'category_id {cid}, which is '
                    f'{self.category_names[cid]!r} in the model\'s '
                    'seg_classes (the category order differs)')
            ids.append(cid)
        return torch.tensor(
            ids, dtype=torch.long, device=self.part_table.device)

    def check_labels(self, batch_data_samples: List, num_points: int,
                     categories: Tensor) -> Tensor:
        """The stacked part labels, checked against points and categories.

        Args:
            batch_data_samples (list): data samples with
                ``gt_pts_seg.pts_semantic_mask``.
            num_points (int): points per cloud.
            categories (Tensor): long ``[B]`` category ids.

        Returns:
            Tensor: long ``[B, N]`` labels.

        Raises:
            ValueError: a sample without labels, with a label count that is
            not its point count, or with a label that is neither a part of
            its category nor ``ignore_index``.
        """
        ignore = self.decode_head.ignore_index
        labels = []
        for i, sample in enumerate(batch_data_samples):
            name = sample_name(i, sample.metainfo)
            mask = per_point_labels(sample, i, num_points, 'part')
            mask = mask.to(self.part_table.device).long()
            parts = self.part_table[categories[i]]
            valid = mask == ignore
            inside = (mask >= 0) & (mask < parts.numel())
            valid |= inside & parts[mask.clamp(0, parts.numel() - 1)]
            if not bool(valid.all()):
                bad = int(mask[~valid][0])
                allowed = parts.nonzero().flatten().tolist()
                raise ValueError(
                    f'{name}: part label {bad} is not one of the parts '
                    f'{allowed} of its category '
                    f'{self.category_names[int(categories[i])]!r} (labels '
                    f'are global part ids in [0, {parts.numel()}); '
                    f'ignore_index {ignore})')
            labels.append(mask)
        return torch.stack(labels)

    def head_inputs(self, points: Tensor,
                    batch_input_metas: List[dict]) -> dict:
        """What the decode head reads: :meth:`extract_feat` + categories.

        Args:
            points (Tensor): ``[B, N, C]`` points.
            batch_input_metas (list[dict]): the data samples' metainfo.

        Returns:
            dict: :meth:`extract_feat`'s dict with ``categories`` long
            ``[B]``.
        """
        feats = self.extract_feat(points)
        feats['categories'] = self.categories(batch_input_metas, len(points))
        return feats

    def encode_decode(self, batch_inputs: Tensor,
                      batch_input_metas: List[dict]) -> Tensor:
        """Part logits of a batch.

        Args:
            batch_inputs (Tensor): ``[B, N, C]`` points.
            batch_input_metas (list[dict]): the data samples' metainfo
                (``category_id``).

        Returns:
            Tensor: ``[B, num_classes, N]`` logits.
        """
        return self.decode_head.predict(
            self.head_inputs(batch_inputs, batch_input_metas),
            batch_input_metas, self.test_cfg)

    def loss(self, batch_inputs_dict: dict,
             batch_data_samples: List) -> Dict[str, Tensor]:
        """The decode head's loss (``decode.loss_sem_seg``).

        Args:
            batch_inputs_dict (dict): ``points`` ``[B, N, C]``.
            batch_data_samples (list): data samples with
                ``gt_pts_seg.pts_semantic_mask`` and ``category_id``.

        Returns:
            dict[str, Tensor]: the losses.
        """
        points = batch_inputs_dict['points']
        metas = None if batch_data_samples is None else [
            s.metainfo for s in batch_data_samples
        ]
        feats = self.head_inputs(points, metas)
        self.check_labels(batch_data_samples, points.shape[1],
                          feats['categories'])
        return self._decode_head_forward_train(feats, batch_data_samples)

    def restricted_argmax(self, seg_logits: Tensor,
                          categories: Tensor) -> Tensor:
        """Argmax over the parts of each cloud's category.

        Args:
            seg_logits (Tensor): ``[B, num_classes, N]``.
            categories (Tensor): long ``[B]``.

        Returns:
            Tensor: long ``[B, N]`` part ids.
        """
        allowed = self.part_table[categories].unsqueeze(-1)
        return seg_logits.masked_fill(~allowed, float('-inf')).argmax(1)

    def predict(self,
                batch_inputs_dict: dict,
                batch_data_samples: List,
                rescale: bool = True) -> List:
        """Predicted part of every point.

        Args:
            batch_inputs_dict (dict): ``points`` ``[B, N, C]``.
            batch_data_samples (list): the batch's data samples
                (``category_id`` in their metainfo).
            rescale (bool): unused (mmdet3d's argument).

        Returns:
            list: the data samples with ``pred_pts_seg.pts_semantic_mask``
            ``[N]`` and ``pts_seg_logits.pts_seg_logits``
            ``[num_classes, N]``.
        """
        points = batch_inputs_dict['points']
        metas = None if batch_data_samples is None else [
            s.metainfo for s in batch_data_samples
        ]
        seg_logits = self.encode_decode(points, metas)
        if self.test_cfg['restrict_to_category']:
            categories = self.categories(metas, len(points))
            preds = self.restricted_argmax(seg_logits, categories)
        else:
            preds = seg_logits.argmax(1)
        for sample, logits, pred in zip(batch_data_samples, seg_logits, preds):
            sample.set_data(
                dict(
                    pts_seg_logits=PointData(pts_seg_logits=logits),
                    pred_pts_seg=PointData(pts_semantic_mask=pred)))
        return batch_data_samples

    def _forward(self,
                 batch_inputs_dict: dict,
                 batch_data_samples: Optional[List] = None) -> Tensor:
        """``mode='tensor'``: logits ``[B, num_classes, N]``.

        Args:
            batch_inputs_dict (dict): ``points`` ``[B, N, C]``.
            batch_data_samples (list): the batch's data samples (the
                categories are read from them).

        Returns:
            Tensor: the logits.
        """
        points = batch_inputs_dict['points']
        metas = None if batch_data_samples is None else [
            s.metainfo for s in batch_data_samples
        ]
        return self.decode_head.forward(self.head_inputs(points, metas))

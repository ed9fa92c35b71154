"""The I2P-MAE self-supervised algorithm."""
import contextlib
import inspect
from typing import Dict, List, Optional, Union

import torch
from mmdet3d.registry import MODELS
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement
from torch import Tensor, nn

from ..ops.gather_points import gather_points_unchecked
from .base_mask_generator import propagate_mask
from .base_point_model import BasePointModel
from .build_component import build_component
from .guided_mask_generator import GuidedMaskGenerator
from .token_selection import count_visible, select_rows


def _config_value(cfg: dict, key: str):
    """``cfg[key]``, or the default of the registered class's argument.

    Args:
        cfg (dict): a component config with ``type``.
        key (str): an argument of that type.

    Returns:
        object: the value the built component gets; None when unknown
        (building then fails with the registry's own error).
    """
    if key in cfg:
        return cfg[key]
    component = cfg.get('type')
    if isinstance(component, str):
        with DefaultScope.overwrite_default_scope('mmdet3d'):
            component = MODELS.get(component)
    if component is None:
        return None
    param = inspect.signature(component).parameters.get(key)
    if param is None or param.default is inspect.Parameter.empty:
        return None
    return param.default


@MODELS.register_module()
class I2PMAE(BasePointModel):
    """Image-to-Point Masked Autoencoder (Zhang et al., CVPR 2023).

    A point cloud is tokenised at several scales; its three axis-aligned
    depth projections are encoded by a frozen 2D teacher whose CLS
    attention, back-projected onto the top-scale tokens, guides the mask;
    the hierarchical encoder sees only visible tokens; the decoder
    reconstructs the coordinates of masked tokens (Chamfer-L2) and the
    teacher's features of visible tokens' points (MSE).

    Without ``teacher`` (and with a random mask generator and a head whose
    ``feat_dim_2d`` is 0) this is the 3D-only Point-M2AE baseline, and no
    projector or teacher is built.

    Args:
        tokenizer (dict): ``MultiScalePointTokenizer`` config.
        backbone (dict): ``I2PMAEEncoder`` config.
        neck (dict): ``I2PMAEDecoder`` config.
        head (dict): ``I2PMAEPretrainHead`` config.
        mask_generator (dict): ``GuidedMaskGenerator`` or
            ``RandomMaskGenerator`` config.
        projector (dict, optional): ``MultiViewDepthProjector`` config.
        teacher (dict, optional): ``CLIPTeacher`` config.
        data_preprocessor (dict, optional): defaults to
            ``PointCloudDataPreprocessor`` keeping xyz.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 tokenizer: dict,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 mask_generator: dict,
                 projector: Optional[dict] = None,
                 teacher: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.tokenizer = build_component(tokenizer)
        self.backbone = build_component(
            self._with_read_norm_scales(backbone, neck))
        self.neck = build_component(neck)
        self.head = build_component(head)
        self.mask_generator = build_component(mask_generator)
        self.teacher = build_component(teacher)
        self.projector = build_component(
            projector) if self.teacher is not None else (None)
        #: optional callable ``name -> context manager`` timing each stage
        self.stage_timer = None
        self._check_consistency()

    @staticmethod
    def _with_read_norm_scales(
            backbone: Union[dict, nn.Module],
            neck: Union[dict, nn.Module]) -> Union[dict, nn.Module]:
        """The backbone config, normalising only the scales that are read.

        Pretraining reads the top scales the decoder decodes; a norm on a
        finer scale (the official encoder has one) would get no gradient.

        Args:
            backbone (dict | nn.Module): the backbone config (a built module
                is returned as it is).
            neck (dict | nn.Module): the decoder config or module.

        Returns:
            dict | nn.Module: ``backbone``, with ``norm_scales`` set when it
            is a config that leaves it unset.
        """
        if not isinstance(backbone, dict) or 'norm_scales' in backbone:
            return backbone
        enc_dims = _config_value(backbone, 'embed_dims')
        dec_dims = neck.embed_dims if isinstance(
            neck, nn.Module) else _config_value(neck, 'embed_dims')
        if enc_dims is None or dec_dims is None:
            return backbone
        num_scales, num_stages = len(enc_dims), len(dec_dims)
        first = max(num_scales - num_stages, 0)
        return dict(backbone, norm_scales=list(range(first, num_scales)))

    @property
    def with_teacher(self) -> bool:
        return self.teacher is not None

    @property
    def decoded_scale(self) -> int:
        """Index (finest = 0) of the scale the decoder reconstructs."""
        return self.tokenizer.num_scales - self.neck.num_stages

    def _check_consistency(self) -> None:
        """Raise one clear error for components that do not fit together."""
        num_scales = self.tokenizer.num_scales
        if self.backbone.num_scales != num_scales:
            raise ValueError(
                f'backbone.embed_dims has {self.backbone.num_scales} entries '
                f'but the tokenizer has {num_scales} scales (num_groups)')
        if not 1 <= self.neck.num_stages <= num_scales - 1:
            raise ValueError(
                f'neck.embed_dims must have between 1 and {num_scales - 1} '
                f'entries for {num_scales} scales, got '
                f'{self.neck.embed_dims}')
        for i, dim in enumerate(self.neck.embed_dims):
            enc_dim = self.backbone.embed_dims[num_scales - 1 - i]
            if dim != enc_dim:
                raise ValueError(
                    f'neck.embed_dims[{i}]={dim} must equal the encoder '
                    f'channels of scale {num_scales - 1 - i} '
                    f'(backbone.embed_dims[{num_scales - 1 - i}]={enc_dim})')
        read = set(range(self.decoded_scale, num_scales))
        if self.backbone.norms is not None and not read <= set(
                self.backbone.norm_scales):
            raise ValueError(
                f'backbone.norm_scales={self.backbone.norm_scales} must '
                f'include every scale the decoder reads ({sorted(read)}); '
                'leave it unset to normalise exactly those')
        if self.head.rec_3d.in_features != self.neck.embed_dims[-1]:
            raise ValueError(
                f'head.in_channels={self.head.rec_3d.in_features} must '
                f'equal neck.embed_dims[-1]={self.neck.embed_dims[-1]}')
        group_size = self.tokenizer.group_sizes[self.decoded_scale]
        if self.head.group_size != group_size:
            raise ValueError(
                f'head.group_size={self.head.group_size} must equal '
                f'tokenizer.group_sizes[{self.decoded_scale}]={group_size}')
        if self.with_teacher:
            if self.projector is None:
                raise ValueError('a projector is required with a teacher')
            if self.head.feat_dim_2d != self.teacher.out_channels:
                raise ValueError(
                    f'head.feat_dim_2d={self.head.feat_dim_2d} must equal '
                    f'the teacher output channels '
                    f'({self.teacher.out_channels})')
        else:
            if self.head.with_2d:
                raise ValueError('head.feat_dim_2d must be 0 without a '
                                 'teacher (3D-only Point-M2AE baseline)')
            if isinstance(self.mask_generator, GuidedMaskGenerator):
                raise ValueError('GuidedMaskGenerator needs a teacher; use '
                                 'RandomMaskGenerator without one')

    def _stage(self, name: str, device_type: str = 'cpu'):
        """Context of a pretraining stage: its timer, if any, and precision.

        Under mixed precision (``MixedPrecisionOptimWrapper``) only the
        encoder and decoder run in half precision (the teacher has its own
        ``precision``); sampling, neighbour search, projection, masking and
        the losses stay float32, as in the official code.
        """
        stack = contextlib.ExitStack()
        if self.stage_timer is not None:
            stack.enter_context(self.stage_timer(name))
        if name not in ('encoder', 'decoder', 'teacher') and \
                device_type in ('cpu', 'cuda'):
            stack.enter_context(torch.autocast(device_type, enabled=False))
        return stack

    def forward_pretrain(self,
                         points: Tensor,
                         top_mask: Optional[Tensor] = None,
                         check_values: bool = True) -> Dict:
        """Run the whole pretraining forward and keep the intermediates.

        Apart from ``check_values``, nothing here reads tensor values on
        the host except the visible-token counts of the masks, read once
        (:func:`~.token_selection.count_visible`).

        Args:
            points (Tensor): ``[B, N, 3+]`` clouds (only xyz is used).
            top_mask (Tensor, optional): bool ``[B, G_top]`` injected mask
                (True = masked) instead of a sampled one.
            check_values (bool): check the coordinates of ``points`` (finite,
                an extent in every projected view) before using them;
                :meth:`loss` passes False since the data preprocessor has
                checked the batch. Defaults to True.

        Returns:
            dict: ``scales``, ``images``, ``img_feats``, ``img_attn``,
            ``saliency``, ``masks``, ``encoder``, ``decoded``, ``targets_2d``
            and ``losses`` (dict with ``loss_3d`` and possibly ``loss_2d``).
        """
        xyz = points[..., :3].contiguous()
        dev = xyz.device.type
        with self._stage('tokenizer', dev):
            scales = self.tokenizer(xyz, check_values=check_values)
        out = dict(scales=scales, saliency=None, targets_2d=None)
        if self.with_teacher:
            with self._stage('projection', dev):
                images, meta = self.projector(xyz, check_values=check_values)
            with self._stage('teacher'):
                img_feats, img_attn = self.teacher(images)
            with self._stage('projection', dev), torch.no_grad():
                sal_maps = img_attn.reshape(-1, 1, *img_feats.shape[-2:])
                saliency = self.projector.back_project(
                    sal_maps, scales[-1].centers, meta,
                    check_values=False).mean(0).squeeze(-1)
            out.update(
                images=images,
                img_feats=img_feats,
                img_attn=img_attn,
                saliency=saliency,
                projection_meta=meta)
        with self._stage('masking', dev):
            masks = self.mask_generator(scales, out['saliency'], top_mask)
            num_visible = count_visible(masks)
        with self._stage('encoder'):
            enc = self.backbone(scales, masks, num_visible)
        with self._stage('decoder'):
            decoded = self.neck(enc, scales, masks)
        s = self.decoded_scale
        if self.with_teacher:
            with self._stage('projection', dev), torch.no_grad():
                out['targets_2d'] = self._visible_2d_targets(
                    scales[s].neighborhoods_abs, enc.token_idx[s],
                    enc.valid[s], sum(num_visible[s]), out['img_feats'],
                    out['projection_meta'])
        with self._stage('loss', dev):
            losses = self.head.loss(decoded.float(), masks[s],
                                    scales[s].neighborhoods, out['targets_2d'],
                                    sum(num_visible[s]))
        out.update(masks=masks, encoder=enc, decoded=decoded, losses=losses)
        return out

    def _visible_2d_targets(self, neighborhoods_abs: Tensor, token_idx: Tensor,
                            valid: Tensor, num_visible: int, img_feats: Tensor,
                            meta) -> Tensor:
        """Teacher features of every point of every visible token.

        Args:
            neighborhoods_abs (Tensor): ``[B, G, K, 3]`` token points.
            token_idx (Tensor): ``[B, L]`` visible tokens packed first
                (:func:`~.i2pmae_encoder.pack_visible`).
            valid (Tensor): bool ``[B, L]``, False on padding.
            num_visible (int): visible tokens of the batch (True entries
                of ``valid``).
            img_feats (Tensor): ``[V * B, C, h, w]`` teacher features.
            meta (ProjectionMeta): the projection of the batch.

        Returns:
            Tensor: ``[L_vis, K, V * C]`` in the order of ``x[visible]``.
        """
        b, g, k, _ = neighborhoods_abs.shape
        pts = gather_points_unchecked(
            neighborhoods_abs.reshape(b, g, k * 3), token_idx)
        length = token_idx.shape[1]
        feats = self.projector.back_project(
            img_feats, pts.reshape(b, length * k, 3), meta,
            check_values=False)  # [V,B,M,C]
        v, _, _, c = feats.shape
        feats = feats.permute(1, 2, 0, 3).reshape(b, length, k, v * c)
        return select_rows(feats, valid, num_visible)

    def loss(self,
             inputs: dict,
             data_samples: Optional[List] = None,
             **kwargs) -> Dict[str, Tensor]:
        """Pretraining losses ``loss_3d`` (and ``loss_2d``)."""
        return self.forward_pretrain(
            inputs['points'], check_values=False)['losses']

    def extract_feat(self, points: Tensor) -> Tensor:
        """The linear-SVM feature: max over the top-scale tokens.

        As in the official code the all-visible top mask is propagated, so
        fine tokens in no coarser neighbourhood are left out of merging.

        Args:
            points (Tensor): ``[B, N, 3+]``, as checked by the data
                preprocessor (values are not checked again).

        Returns:
            Tensor: ``[B, C_top]``.
        """
        scales = self.tokenizer(
            points[..., :3].contiguous(), check_values=False)
        top = scales[-1].centers
        masks = propagate_mask(
            torch.zeros(top.shape[:2], dtype=torch.bool, device=top.device),
            scales)
        return self.backbone(scales, masks).feats[-1].max(dim=1)[0]

    def predict(self,
                inputs: dict,
                data_samples: Optional[List] = None) -> List:
        """Features for evaluation, stored as ``feature`` of each sample."""
        feats = self.extract_feat(inputs['points'])
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(feats))]
        for sample, feat in zip(data_samples, feats):
            sample.set_field(feat, 'feature')
        return data_samples

    def _forward(self,
                 inputs: dict,
                 data_samples: Optional[List] = None) -> Tensor:
        """``mode='tensor'``: the linear-SVM feature ``[B, C_top]``."""
        return self.extract_feat(inputs['points'])

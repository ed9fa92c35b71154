# Semantic segmentation on S3DIS (13 classes, train on areas 1-4 and 6,
# test on area 5) with the I2P-MAE encoder in place of PointNet++:
# mmdet3d's PointNet++ SSG config (S3DISSegDataset, its pipelines of 4096
# points per 1 m x 1 m block with xyz, rgb and normalised xyz, SegMetric,
# Adam with cosine decay over 50 epochs, sliding-window testing) with only
# the backbone and decode head of its EncoderDecoder3D swapped, starting
# from a pretrained I2P-MAE checkpoint:
#   tools/dist_train.sh configs/i2pmae_seg_s3dis.py 2 \
#       --cfg-options load_from=PRETRAINED.pth
#   python tools/test.py configs/i2pmae_seg_s3dis.py CKPT
# prints SegMetric's miou, acc and acc_cls and the IoU of every class.
# Data: mmdet3d's S3DIS preparation in data/s3dis/. The optimiser and
# schedule are PointNet++'s (Adam, lr 1e-3), not tuned for a pretrained
# transformer encoder.
_base_ = ['mmdet3d::pointnet2/pointnet2_ssg_2xb16-cosine-50e_s3dis-seg.py']
custom_imports = dict(
    imports=['projects.I2PMAE.i2pmae'], allow_failed_imports=False)

# EncoderDecoder3D stays as it is (its data preprocessor, loss path and
# test_cfg: 'slide' inference over 1 m blocks of 4096 points, 24 blocks per
# forward). Where it differs from PointNet++:
# - backbone: the points [B, 4096, 9] are tokenised on their xyz into
#   1024 / 256 / 64 groups of 16 / 8 / 8 neighbours (per scale the same
#   ratios of centres to points and of neighbours to centres as the part
#   segmentation recipe, 512 / 256 / 64 groups of 2048 points), every token
#   of every scale is encoded (local attention radii 0.32 / 0.64 / 1.28 m,
#   a LayerNorm at every scale's output); rgb and normalised xyz (the 6
#   extra channels) enter through a new branch of the first token
#   embedding, added through a zero-initialised gate, so the pretrained
#   encoder starts from the features it was pretrained to produce;
# - decode head: each scale propagated to the 4096 points (three-NN
#   interpolation, point coordinates as skip, 256 channels), the block's
#   max + mean feature added to every point, a per-point MLP 512-256-128
#   (dropout 0.5 after the first layer, as PointNet2Head's 0.5) to the 13
#   class logits; cross-entropy over the points whose label is not
#   ignore_index 13 (unannotated after PointSegClassMapping), as
#   PointNet2Head.
model = dict(
    backbone=dict(
        _delete_=True,
        type='I2PMAEPointBackbone',
        tokenizer=dict(
            type='MultiScalePointTokenizer',
            num_groups=[1024, 256, 64],
            group_sizes=[16, 8, 8]),
        in_channels=9,
        embed_dims=[96, 192, 384],
        depths=[5, 5, 5],
        num_heads=6,
        drop_path_rate=0.1,
        local_radius=[0.32, 0.64, 1.28],
        final_norm=True),
    decode_head=dict(
        _delete_=True,
        type='I2PMAESemSegHead',
        in_channels=[96, 192, 384],
        num_classes=13,
        ignore_index=13,
        fp_channels=256,
        fp_blocks=1,
        hidden_channels=[512, 256],
        channels=128,
        dropout_ratio=0.5,
        loss_decode=dict(
            type='mmdet.CrossEntropyLoss',
            use_sigmoid=False,
            class_weight=None,
            loss_weight=1.0)))

# The pipelines are mmdet3d's with one check after LoadAnnotations3D, which
# changes nothing: a scene whose masks do not hold one label per point, or
# with a semantic label outside the dataset's class ids, fails with one
# error naming its files (instead of a numpy indexing error in
# IndoorPatchPointSample / PointSegClassMapping, or points SegMetric
# silently drops).
train_pipeline = _base_.train_pipeline[:2] + [
    dict(type='CheckPointSegAnnotations')
] + _base_.train_pipeline[2:]
test_pipeline = _base_.test_pipeline[:2] + [
    dict(type='CheckPointSegAnnotations')
] + _base_.test_pipeline[2:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# Pretrained weights come through ``load_from`` (set on the command line,
# see above). CheckpointCompatibilityHook fails unless these encoder keys
# load (they have the names and shapes of an I2P-MAE checkpoint's
# ``backbone.*``); the new parts (rgb / normalised-xyz branch, scale-0
# norm, decode head) keep their initialisation and the checkpoint's
# pretraining-only keys (decoder, heads) are unused: both are listed once,
# grouped by module, in the log. The same weights can instead be loaded
# when the model is initialised, with
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=PRETRAINED.pth \
#       model.backbone.init_cfg.prefix=backbone.
load_from = None
load_from_required_keys = [
    'backbone.token_embeds.0.first_conv.',
    'backbone.token_embeds.0.second_conv.', 'backbone.token_embeds.1.',
    'backbone.token_embeds.2.', 'backbone.pos_embeds.', 'backbone.stages.',
    'backbone.norms.1.', 'backbone.norms.2.'
]
allow_partial_load = False
custom_hooks = [dict(type='CheckpointCompatibilityHook')]

# Part segmentation with the I2P-MAE encoder, the Point-M2AE recipe:
# - tokenizer: 512/256/64 groups of 16/8/8 points (2048 input points, xyz
#   only, no normals);
# - encoder: every token of every scale, local attention radii
#   0.32/0.64/1.28, a LayerNorm at every scale's output (the pretrained
#   norms of scales 1 and 2 load from I2P-MAE checkpoints; the pretraining
#   encoder has none at scale 0, which starts at its initialisation, as the
#   official one is left by pretraining, where nothing reads it);
# - decode head: each scale propagated to the 2048 points (three-NN
#   interpolation, point coordinates as skip, 1024 channels), max + mean
#   over the points as the shape feature, the one-hot category through
#   Linear-BN-LeakyReLU to 64 channels, then a per-point MLP 1024-512-256
#   (dropout 0.5 after the first layer) to the 50 part logits;
#   cross-entropy over every point;
# - evaluation: the argmax over the parts of each shape's own category
#   (test_cfg.restrict_to_category), scored by PartSegMIoU.
model = dict(
    type='I2PMAEPartSegmentor',
    data_preprocessor=dict(type='PointCloudDataPreprocessor', num_channels=3),
    tokenizer=dict(
        type='MultiScalePointTokenizer',
        num_groups=[512, 256, 64],
        group_sizes=[16, 8, 8]),
    backbone=dict(
        type='I2PMAEEncoder',
        embed_dims=[96, 192, 384],
        depths=[5, 5, 5],
        num_heads=6,
        drop_path_rate=0.1,
        local_radius=[0.32, 0.64, 1.28],
        final_norm=True),
    decode_head=dict(
        type='I2PMAEPartSegHead',
        in_channels=[96, 192, 384],
        num_classes=50,
        num_categories=16,
        fp_channels=1024,
        fp_blocks=1,
        category_channels=64,
        hidden_channels=[1024, 512],
        channels=256,
        dropout_ratio=0.5,
        loss_decode=dict(
            type='mmdet.CrossEntropyLoss', use_sigmoid=False,
            loss_weight=1.0)),
    test_cfg=dict(restrict_to_category=True))
# Training starts from a pretrained I2P-MAE checkpoint (``load_from``): these
# encoder weights must load (CheckpointCompatibilityHook fails otherwise);
# the decode head and the scale-0 norm start from their initialisation and
# the checkpoint's pretraining-only keys (decoder, heads) are left unused;
# both are listed in the log. The same weights can instead be loaded when
# the model is initialised, with
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=PRETRAINED.pth \
#       model.backbone.init_cfg.prefix=backbone.
# (mmengine logs the keys that did not load).
load_from_required_keys = [
    'backbone.token_embeds.', 'backbone.pos_embeds.', 'backbone.stages.',
    'backbone.norms.1.', 'backbone.norms.2.'
]

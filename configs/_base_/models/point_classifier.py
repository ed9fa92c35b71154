# Fine-tuning classifier (official ScanObjectNN settings by default). The
# data preprocessor is left unset: the model's default keeps xyz
# (``PointCloudDataPreprocessor``, num_channels=3) unless the dataset config
# sets a top-level ``data_preprocessor``, which the Runner merges in (e.g.
# the device-side sampling of _base_/datasets/modelnet40.py).
model = dict(
    type='PointClassifier',
    tokenizer=dict(
        type='MultiScalePointTokenizer',
        num_groups=[512, 256, 64],
        group_sizes=[32, 16, 16]),
    backbone=dict(
        type='I2PMAEEncoder',
        embed_dims=[96, 192, 384],
        depths=[5, 5, 5],
        num_heads=6,
        drop_path_rate=0.1,
        local_radius=[0.32, 0.64, 1.28],
        final_norm=False),
    pooling='concat',
    head=dict(
        type='PointClsHead',
        in_channels=768,
        num_classes=15,
        hidden_channels=[256, 256],
        dropout=0.5,
        loss=dict(type='SmoothCrossEntropyLoss', smoothing=0.0)))
# Fine-tuning starts from a pretrained checkpoint (``load_from``): its
# encoder must load in full (CheckpointCompatibilityHook fails otherwise);
# the head starts from its initialisation and the checkpoint's
# pretraining-only keys (decoder, heads, final norms) are left unused.
load_from_required_keys = ['backbone.']

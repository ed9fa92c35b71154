# Fine-tuning on ModelNet40 with 1024 points (official settings: 48/24/24
# neighbours, mean+max pooling, label smoothing 0.2). Start from a
# pretrained checkpoint with ``--cfg-options load_from=PRETRAINED.pth``.
_base_ = [
    './_base_/models/point_classifier.py', './_base_/datasets/modelnet40.py',
    './_base_/schedules/finetune_adamw_cosine_300e.py',
    './_base_/default_runtime.py'
]
model = dict(
    tokenizer=dict(group_sizes=[48, 24, 24]),
    backbone=dict(local_radius=[0.24, 0.48, 0.96]),
    pooling='mean+max',
    head=dict(
        in_channels=384,
        num_classes=40,
        loss=dict(type='SmoothCrossEntropyLoss', smoothing=0.2)))
default_hooks = dict(
    checkpoint=dict(save_best='accuracy/top1', rule='greater'))

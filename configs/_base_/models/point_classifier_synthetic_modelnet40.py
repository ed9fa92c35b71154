# The classifier of the synthetic ModelNet40 fine-tuning and few-shot configs:
# the demo encoder's sizes, ModelNet40's head and pooling
# (i2pmae_finetune_modelnet40.py), the pretraining tokenizer's group sizes
# with half its groups, and one output per synthetic class (16).
_base_ = ['./point_classifier.py']
model = dict(
    tokenizer=dict(num_groups=[256, 128, 32], group_sizes=[16, 8, 8]),
    backbone=dict(
        embed_dims=[48, 96, 192],
        depths=[2, 2, 2],
        local_radius=[0.24, 0.48, 0.96]),
    pooling='mean+max',
    head=dict(
        in_channels=192,
        num_classes=16,
        loss=dict(type='SmoothCrossEntropyLoss', smoothing=0.2)))

# Few-shot classification on ModelNet40: fine-tuning a pretrained encoder on
# one N-way K-shot episode and scoring its test split. The study runs 10
# folds of each of 5/10-way x 10/20-shot with tools/fewshot.py, e.g.
#   python tools/fewshot.py configs/i2pmae_fewshot_modelnet40.py \
#       --way 5 --shot 10 --folds 0-9 --load-from PRETRAINED.pth
# which sets way/shot/fold of the datasets for every fold and reports the
# test accuracy after the last epoch of each (the mean and std over folds).
#
# The official I2P-MAE code runs an episode through its fine-tuning runner
# (main.py --way --shot --fold) but ships no few-shot config; this one takes
# the ModelNet40 fine-tuning model (i2pmae_finetune_modelnet40.py) and the
# few-shot schedule of the Point-MAE family of code bases: AdamW (lr 5e-4,
# weight decay 0.05), 10 warm-up epochs then cosine decay to 150 epochs,
# batch 32, gradient-norm clipping at 10. As there, the head keeps 40
# outputs (an episode's labels are 0..way-1) and the test split is
# validated after every epoch; the official runner reports the best epoch,
# which is selected on the test split (tools/fewshot.py prints it labelled
# so, next to the last epoch it reports). No checkpoint is selected.
_base_ = [
    './_base_/models/point_classifier.py',
    './_base_/datasets/modelnet40_fewshot.py',
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
max_epochs = 150
warmup_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]
# one checkpoint per fold, after the last epoch
default_hooks = dict(checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))

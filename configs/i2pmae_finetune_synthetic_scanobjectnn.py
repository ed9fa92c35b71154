# Fine-tuning the synthetic-demo encoder on the synthetic ScanObjectNN
# (OBJ-BG layout) on a CPU, e.g. from the demo's last pretraining epoch:
#   python tools/train.py configs/i2pmae_finetune_synthetic_scanobjectnn.py \
#       --cfg-options load_from=work_dirs/i2pmae_pretrain_synthetic/epoch_4.pth
_base_ = [
    './_base_/models/point_classifier.py',
    './_base_/datasets/synthetic_scanobjectnn_objbg.py',
    './_base_/schedules/finetune_adamw_cosine_300e.py',
    './_base_/default_runtime.py'
]
model = dict(
    backbone=dict(embed_dims=[48, 96, 192], depths=[2, 2, 2]),
    head=dict(in_channels=384))
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-5,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(save_best='accuracy/top1', rule='greater'))
log_processor = dict(window_size=5)

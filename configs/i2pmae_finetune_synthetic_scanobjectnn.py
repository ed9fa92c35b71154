# Fine-tuning the synthetic-demo encoder on the synthetic ScanObjectNN
# (OBJ-BG layout) on a CPU, e.g. from the demo's last pretraining epoch:
#   python tools/train.py configs/i2pmae_finetune_synthetic_scanobjectnn.py \
#       --cfg-options load_from=work_dirs/i2pmae_pretrain_synthetic/epoch_4.pth
_base_ = ['./i2pmae_finetune_scanobjectnn_objbg.py']
data_root = 'data/synthetic/ScanObjectNN'
# the first 15 synthetic classes stand in for ScanObjectNN's 15
synthetic_classes = ('sphere', 'box', 'cylinder', 'cone', 'torus', 'capsule',
                     'pyramid', 'bowl', 'tube', 'table', 'chair', 'stool',
                     'lamp', 'mug', 'bottle')
model = dict(
    backbone=dict(embed_dims=[48, 96, 192], depths=[2, 2, 2]),
    head=dict(in_channels=384))
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(
        data_root=data_root, metainfo=dict(classes=synthetic_classes)))
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(
        data_root=data_root, metainfo=dict(classes=synthetic_classes)))
test_dataloader = val_dataloader
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
default_hooks = dict(logger=dict(interval=5))
log_processor = dict(window_size=5)

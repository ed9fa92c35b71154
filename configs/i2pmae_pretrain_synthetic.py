# The embedded default: I2P-MAE pretraining on the synthetic shapes with a
# tiny randomly initialised CLIP teacher and a small encoder (minutes on a
# CPU). Generate the data first:
#   python tools/dataset_converters/make_synthetic_shapes.py \
#       --out data/synthetic
_base_ = ['./i2pmae_pretrain.py']
model = dict(
    teacher=dict(
        model_name='ViT-B-16',
        pretrained=None,
        vision_cfg=dict(
            image_size=224, patch_size=16, width=64, layers=2, heads=2),
        embed_dim=64),
    backbone=dict(embed_dims=[48, 96, 192], depths=[2, 2, 2]),
    neck=dict(embed_dims=[192, 96]),
    head=dict(in_channels=96, feat_dim_2d=64))
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(data_root='data/synthetic/ShapeNet55-34'))
max_epochs = 4
# the linear SVM validates once, after the last epoch (val_begin: shorter
# runs made with --cfg-options train_cfg.max_epochs=N < 4 skip it and never
# read the SVM data; lazy_init: the data is read when it first runs)
train_cfg = dict(
    max_epochs=max_epochs, val_begin=max_epochs, val_interval=max_epochs)
val_cfg = dict(lazy_init=True)
# the SVM data of synthetic_modelnet40_svm.py (128 train / 64 test clouds)
svm_data_root = 'data/synthetic/modelnet40_ply_hdf5_2048'
svm_train_dataloader = dict(
    batch_size=32, num_workers=2, dataset=dict(data_root=svm_data_root))
svm_test_dataloader = dict(
    batch_size=32, num_workers=2, dataset=dict(data_root=svm_data_root))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=1e-5,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True),
]
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(interval=1, max_keep_ckpts=2))
log_processor = dict(window_size=5)

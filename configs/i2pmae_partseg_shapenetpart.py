# Part segmentation on ShapeNetPart (paper recipe of Point-M2AE / I2P-MAE).
#   tools/dist_train.sh configs/i2pmae_partseg_shapenetpart.py 8 \
#       --cfg-options load_from=PRETRAINED.pth
#   python tools/test.py configs/i2pmae_partseg_shapenetpart.py CKPT
# prints partseg/class_miou and partseg/instance_miou (%).
#
# Official settings: train + val splits, 2048 points without normals,
# random scale 0.8..1.25 and shift 0.1, batch 16, AdamW (lr 2e-4, weight
# decay 0.05 except norms and biases), 10 warm-up epochs from 1e-6 then
# cosine decay to 1e-6 over 300 epochs, gradient norm clipped at 10.
# The official script scores the test split after every epoch and reports
# the best epoch. Here nothing is selected on it: the test split is scored
# once, after the last epoch, and by tools/test.py.
_base_ = [
    './_base_/models/i2pmae_partseg.py', './_base_/datasets/shapenetpart.py',
    './_base_/schedules/finetune_adamw_cosine_300e.py',
    './_base_/default_runtime.py'
]
load_from = None

lr = 2e-4
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / lr,
        by_epoch=True,
        begin=0,
        end=_base_.warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=_base_.max_epochs - _base_.warmup_epochs,
        eta_min=1e-6,
        by_epoch=True,
        begin=_base_.warmup_epochs,
        end=_base_.max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(val_interval=_base_.max_epochs)
val_evaluator = dict(_delete_=True, type='PartSegMIoU')
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=16)

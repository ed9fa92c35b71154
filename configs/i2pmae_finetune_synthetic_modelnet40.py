# Fine-tuning the synthetic-demo encoder on the synthetic ModelNet40 layout
# (16 classes, 1024 points) on a CPU in under 5 minutes (2 cores), from
# scratch or from the demo's last pretraining epoch:
#   python tools/train.py configs/i2pmae_finetune_synthetic_modelnet40.py \
#       --cfg-options load_from=work_dirs/i2pmae_pretrain_synthetic/epoch_4.pth
# The test split is scored once, after the last epoch; no checkpoint is
# selected on it.
_base_ = [
    './_base_/models/point_classifier_synthetic_modelnet40.py',
    './_base_/datasets/synthetic_modelnet40.py',
    './_base_/schedules/finetune_adamw_cosine_cpu_8e.py',
    './_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=8)
# BatchNorm statistics recomputed with the final weights before the test
custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmpretrain.PreciseBNHook',
        num_samples=1024,
        interval=_base_.max_epochs,
        priority='ABOVE_NORMAL')
]
default_hooks = dict(logger=dict(interval=5))
log_processor = dict(window_size=5)

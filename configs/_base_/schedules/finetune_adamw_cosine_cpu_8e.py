# A short fine-tuning schedule for the synthetic data on a CPU (about 100
# iterations of batch 8 in under 5 minutes on 2 cores). The official
# schedule (finetune_adamw_cosine_300e.py) takes ~20k iterations with 10
# warm-up epochs; in a hundred the same recipe does not learn:
# - Adam moves every weight by about ``lr`` per step whatever the gradient's
#   size, and the encoder's weights start at std 0.02, so at lr 5e-4 its
#   random features are overwritten by noise within a few dozen steps while
#   the randomly initialised head is still guessing. Here the encoder gets
#   lr 1e-4 and the head 10x that (``lr_mult``).
# - BatchNorm's running statistics are a moving average over the last ~10
#   batches of weights that change every step, so evaluation-mode outputs
#   lag the trained network and can collapse to one class. PreciseBNHook
#   (mmpretrain) recomputes them with the final weights of every epoch.
_base_ = ['./finetune_adamw_cosine_300e.py']

max_epochs = 8
warmup_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(
    optimizer=dict(lr=1e-4),
    paramwise_cfg=dict(custom_keys={'head.': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
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

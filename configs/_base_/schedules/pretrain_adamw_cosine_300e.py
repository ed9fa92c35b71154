# Official pretraining schedule: AdamW (lr 1e-3, wd 0.05), 10 warm-up
# epochs then cosine decay, 300 epochs.
max_epochs = 300
warmup_epochs = 10
optim_wrapper = dict(
    type='OptimWrapper',
    # the default constructor's param groups; logs one summary line instead
    # of one line per parameter (and per frozen teacher tensor)
    constructor='FrozenAwareOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={'mask_token': dict(decay_mult=0.0)}))
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
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=128)

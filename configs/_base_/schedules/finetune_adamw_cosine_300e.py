# Official fine-tuning schedule: AdamW (lr 5e-4, wd 0.05), 10 warm-up epochs
# then cosine decay, 300 epochs, gradient-norm clipping at 10.
max_epochs = 300
warmup_epochs = 10
optim_wrapper = dict(
    type='OptimWrapper',
    # the default constructor's param groups; logs one summary line instead
    # of one line per parameter (and per frozen teacher tensor)
    constructor='FrozenAwareOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2),
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
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
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=32)

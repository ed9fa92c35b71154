# The runtime of the CPU fine-tuning configs on the synthetic data: the
# default runtime with the 8-epoch CPU schedule, logs every 5 iterations,
# and BatchNorm statistics recomputed with the final weights before the test
# (PreciseBNHook from mmpretrain, after the last epoch; why in the schedule's
# notes).
_base_ = [
    './default_runtime.py', './schedules/finetune_adamw_cosine_cpu_8e.py'
]
custom_hooks = _base_.custom_hooks + [
    dict(
        type='mmpretrain.PreciseBNHook',
        num_samples=1024,
        interval=_base_.max_epochs,
        priority='ABOVE_NORMAL')
]
default_hooks = dict(logger=dict(interval=5))
log_processor = dict(window_size=5)

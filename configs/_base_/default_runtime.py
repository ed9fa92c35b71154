default_scope = 'mmdet3d'
custom_imports = dict(
    imports=['projects.I2PMAE.i2pmae'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # CheckpointHook with atomic writes (checkpoints and last_checkpoint are
    # whole or absent after a kill)
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# CheckpointCompatibilityHook: a checkpoint whose weights do not fit the
# model is an error (every key to test or resume; the keys under
# ``load_from_required_keys`` -- every key when unset -- to start training
# from ``load_from``). IterationSeedHook: the main process's randomness is a
# function of (seed, rank, iteration), so a resumed run repeats an
# uninterrupted one exactly (with the SeededSampler of the dataset configs).
custom_hooks = [
    dict(type='CheckpointCompatibilityHook'),
    dict(type='IterationSeedHook'),
]
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # 'auto': NCCL on GPUs, gloo when no GPU is visible (DeviceAwareRunner,
    # the base of the runner_type below)
    dist_cfg=dict(backend='auto'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
# True: load only the weights of a checkpoint that fit, with a warning,
# instead of failing (deliberate partial loads; never when resuming)
allow_partial_load = False
randomness = dict(seed=0, deterministic=False)
# mmengine's Runner with the environment, config and hook-order dumps in
# the log file only (one summary line on the console), distributed on CPUs
# (gloo) as well as GPUs (NCCL)
runner_type = 'ConsoleSummaryRunner'

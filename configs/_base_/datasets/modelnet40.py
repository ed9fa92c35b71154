# ModelNet40 (resampled, 8192-point FPS cache) for fine-tuning with 1024
# points (official protocol). The DataLoader workers only normalise the
# clouds into the unit sphere (and shuffle their points for training); the
# model's data preprocessor samples the batch on the model's device, as the
# official fine-tuning does on the GPU (mmcv's FPS kernel on CUDA):
# training: FPS to 1200 points, a random 1024 of them per cloud, then a
# random per-axis scale and translation (after the FPS, which is not
# invariant to anisotropic scaling); testing: FPS to 1024 points.
# The cache ``modelnet40_{train,test}_8192pts_fps.dat`` is built from the
# txt files on first use when it is missing.
#
# ``data_preprocessor`` is merged into the model by the Runner (the model
# configs leave it unset). CPU-only machines may prefer the per-sample
# transforms in the DataLoader workers: ``modelnet40_sample_in_workers.py``.
# mmpretrain's PreciseBNHook runs the preprocessor in test mode: plain FPS,
# no augmentation.
#
# Collation: mmengine's ``default_collate``: ``inputs['points']`` is stacked
# to [B, 8192, C]; ``data_samples`` stays a list.
dataset_type = 'ModelNet40Dataset'
data_root = 'data/ModelNet/modelnet40_normal_resampled'

train_pipeline = [
    dict(type='PointCloudNormalize'),
    dict(type='PointCloudRandomSample'),
    dict(type='PackPointCloudInputs'),
]
test_pipeline = [
    dict(type='PointCloudNormalize'),
    dict(type='PackPointCloudInputs'),
]
data_preprocessor = dict(
    type='PointCloudDataPreprocessor',
    num_channels=3,
    point_sampler=dict(
        type='PointCloudBatchFPSSample', num_points=1024, num_candidates=1200),
    batch_augments=[dict(type='PointCloudBatchScaleAndTranslate')])

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='SeededSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        cache_points=8192,
        use_normals=False,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='SeededSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        cache_points=8192,
        use_normals=False,
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = val_dataloader

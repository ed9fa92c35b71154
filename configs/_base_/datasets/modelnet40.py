# ModelNet40 (resampled, 8192-point FPS cache) for fine-tuning with 1024
# points (official protocol). Training: unit-sphere normalisation, shuffle,
# FPS to 1200 points then a random 1024 of them, random per-axis scale and
# translation. Testing: normalisation and FPS to 1024 points.
# The cache ``modelnet40_{train,test}_8192pts_fps.dat`` is built from the
# txt files on first use when it is missing.
#
# Collation: mmengine's ``default_collate``: ``inputs['points']`` is stacked
# to [B, 1024, C]; ``data_samples`` stays a list.
dataset_type = 'ModelNet40Dataset'
data_root = 'data/ModelNet/modelnet40_normal_resampled'

train_pipeline = [
    dict(type='PointCloudNormalize'),
    dict(type='PointCloudRandomSample'),
    dict(type='PointCloudFPSSample', num_points=1024, num_candidates=1200),
    dict(type='PointCloudScaleAndTranslate'),
    dict(type='PackPointCloudInputs'),
]
test_pipeline = [
    dict(type='PointCloudNormalize'),
    dict(type='PointCloudFPSSample', num_points=1024),
    dict(type='PackPointCloudInputs'),
]

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

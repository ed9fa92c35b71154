# ShapeNet-55 for self-supervised pre-training (official protocol): 2048 of
# the 8192 points of each cloud at random, unit-sphere normalisation, random
# per-axis scale (2/3..3/2) and translation (+-0.2) for training.
#
# Collation: mmengine's ``default_collate`` (used by every dataset config
# here): ``inputs['points']`` is stacked to [B, N, C] (all clouds of a
# pipeline have the same N) and ``data_samples`` stays a list of B samples.
dataset_type = 'ShapeNet55Dataset'
data_root = 'data/ShapeNet55-34'

train_pipeline = [
    dict(type='PointCloudRandomSample', num_points=2048),
    dict(type='PointCloudNormalize'),
    dict(type='PointCloudScaleAndTranslate'),
    dict(type='PackPointCloudInputs'),
]
test_pipeline = [
    dict(type='PointCloudRandomSample', num_points=2048),
    dict(type='PointCloudNormalize'),
    dict(type='PackPointCloudInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='SeededSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        whole=False,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='SeededSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = val_dataloader

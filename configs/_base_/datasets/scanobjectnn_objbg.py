# ScanObjectNN OBJ-BG (objects with background, main_split)
# for fine-tuning with all 2048 points (official protocol). Training:
# shuffle, random per-axis scale 0.9..1.1 (no translation)
# and a random rotation about the up axis; testing: the clouds as stored.
#
# Collation: mmengine's ``default_collate``: ``inputs['points']`` is stacked
# to [B, 2048, 3]; ``data_samples`` stays a list.
dataset_type = 'ScanObjectNNDataset'
data_root = 'data/ScanObjectNN'
variant = 'obj_bg'

train_pipeline = [
    dict(type='PointCloudRandomSample'),
    dict(
        type='PointCloudScaleAndTranslate',
        scale_low=0.9,
        scale_high=1.1,
        translate_range=0.0),
    dict(type='PointCloudRandomRotate', axis='y'),
    dict(type='PackPointCloudInputs'),
]
test_pipeline = [dict(type='PackPointCloudInputs')]

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
        variant=variant,
        split='train',
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
        variant=variant,
        split='test',
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = val_dataloader

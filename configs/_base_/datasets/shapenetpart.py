# ShapeNetPart part segmentation (official Point-M2AE protocol): train on
# train + val, test on test; unit-sphere normalisation and 2048 points drawn
# with replacement; for training a random isotropic scale 0.8..1.25 and a
# shift of +-0.1. Data samples carry the category id (``gt_label`` and
# ``metainfo['category_id']``) and per-point global part ids
# (``gt_pts_seg.pts_semantic_mask``, 50 parts).
#
# Collation: mmengine's ``default_collate``: ``inputs['points']`` is stacked
# to [B, 2048, C]; ``data_samples`` stays a list.
dataset_type = 'ShapeNetPartDataset'
data_root = 'data/shapenetcore_partanno_segmentation_benchmark_v0_normal'

train_pipeline = [
    dict(type='PointCloudNormalize'),
    dict(type='PointCloudRandomSample', num_points=2048, replace=True),
    dict(
        type='PointCloudScaleAndTranslate',
        scale_low=0.8,
        scale_high=1.25,
        translate_range=0.1,
        isotropic=True),
    dict(type='PackPointCloudInputs'),
]
test_pipeline = [
    dict(type='PointCloudNormalize'),
    dict(type='PointCloudRandomSample', num_points=2048, replace=True),
    dict(type='PackPointCloudInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='SeededSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='trainval',
        use_normals=False,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='SeededSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        use_normals=False,
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = val_dataloader

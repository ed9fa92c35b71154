# ModelNet40 few-shot classification (one N-way K-shot episode; the
# official study averages 10 folds of 5/10-way x 10/20-shot). Pipelines as
# the ModelNet40 fine-tuning: normalisation, shuffle, FPS to 1200 then a
# random 1024, random per-axis scale and translation for training;
# normalisation and FPS to 1024 for testing. Change ``way``, ``shot`` and
# ``fold`` of both datasets (e.g. with --cfg-options) to run other episodes.
#
# Collation: mmengine's ``default_collate``: ``inputs['points']`` is stacked
# to [B, 1024, C]; ``data_samples`` stays a list.
dataset_type = 'ModelNet40FewShotDataset'
data_root = 'data/ModelNetFewshot'
episode = dict(way=5, shot=10, fold=0)

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
    drop_last=False,
    sampler=dict(type='SeededSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline,
        **episode))
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
        pipeline=test_pipeline,
        test_mode=True,
        **episode))
test_dataloader = val_dataloader

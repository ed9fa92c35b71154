# ModelNet40 few-shot classification (one N-way K-shot episode; the
# official study averages 10 folds of 5/10-way x 10/20-shot). Sampling and
# augmentation as the ModelNet40 fine-tuning (modelnet40.py), which the
# official code runs episodes through: the DataLoader workers normalise the
# clouds (and shuffle their points for training); the model's data
# preprocessor samples the batch on the model's device: FPS to 1200 points,
# a random 1024, random per-axis scale and translation for training; FPS to
# 1024 for testing. The per-sample transforms of
# modelnet40_sample_in_workers.py (pipelines and data_preprocessor) apply
# here unchanged for CPU-only machines. Change ``way``, ``shot`` and
# ``fold`` of both datasets (e.g. with --cfg-options) to run other episodes.
#
# Collation: mmengine's ``default_collate``: ``inputs['points']`` is stacked
# to [B, N, C] (every cloud of the episode files has the same N);
# ``data_samples`` stays a list.
dataset_type = 'ModelNet40FewShotDataset'
data_root = 'data/ModelNetFewshot'
episode = dict(way=5, shot=10, fold=0)

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

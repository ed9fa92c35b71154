# modelnet40.py with the sampling and augmentation as per-sample transforms
# in the DataLoader workers instead of the model's data preprocessor: the
# CPU-only alternative (the workers' FPS overlaps the model's step), with
# the same distributions (numpy's generator, seeded per sample by the
# SeededSampler). Training: normalisation, shuffle, FPS to 1200 points then
# a random 1024 of them, random per-axis scale and translation; testing:
# normalisation and FPS to 1024 points. Use it as the dataset ``_base_`` in
# place of modelnet40.py (a config testing with more FPS points sets the
# test pipeline's PointCloudFPSSample num_points instead of the
# preprocessor's test_num_points).
#
# Collation: mmengine's ``default_collate``: ``inputs['points']`` is stacked
# to [B, 1024, C]; ``data_samples`` stays a list.
_base_ = ['./modelnet40.py']

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
data_preprocessor = dict(
    _delete_=True, type='PointCloudDataPreprocessor', num_channels=3)

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

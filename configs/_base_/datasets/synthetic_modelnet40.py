# modelnet40 on the synthetic shapes written by
#   python tools/dataset_converters/make_synthetic_shapes.py \
#       --out data/synthetic
# Same layout and pipelines as modelnet40.py; small batches for CPU
# runs.
_base_ = ['./modelnet40.py']

data_root = 'data/synthetic/ModelNet/modelnet40_normal_resampled'
# the synthetic txt clouds have 2048 points: cache them all (FPS-ordered)
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(data_root=data_root, cache_points=2048))
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(data_root=data_root, cache_points=2048))
test_dataloader = val_dataloader

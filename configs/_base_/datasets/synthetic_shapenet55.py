# shapenet55 on the synthetic shapes written by
#   python tools/dataset_converters/make_synthetic_shapes.py \
#       --out data/synthetic
# Same layout and pipelines as shapenet55.py; small batches for CPU
# runs.
_base_ = ['./shapenet55.py']

data_root = 'data/synthetic/ShapeNet55-34'
train_dataloader = dict(
    batch_size=16, num_workers=2, dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=16, num_workers=2, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

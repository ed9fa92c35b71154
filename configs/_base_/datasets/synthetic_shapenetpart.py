# shapenetpart on the synthetic shapes written by
#   python tools/dataset_converters/make_synthetic_shapes.py \
#       --out data/synthetic
# Same layout and pipelines as shapenetpart.py; small batches for CPU
# runs.
_base_ = ['./shapenetpart.py']

data_root = ('data/synthetic/'
             'shapenetcore_partanno_segmentation_benchmark_v0_normal')
train_dataloader = dict(
    batch_size=8, num_workers=2, dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=8, num_workers=2, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

# modelnet40_fewshot on the synthetic shapes written by
#   python tools/dataset_converters/make_synthetic_shapes.py \
#       --out data/synthetic
# Same layout and pipelines as modelnet40_fewshot.py; small batches for CPU
# runs.
_base_ = ['./modelnet40_fewshot.py']

data_root = 'data/synthetic/ModelNetFewshot'
# make_synthetic_shapes.py writes folds 0..1 by default (--fewshot-folds)
train_dataloader = dict(
    batch_size=16, num_workers=2, dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=16, num_workers=2, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

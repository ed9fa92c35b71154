# scanobjectnn_objbg on the synthetic shapes written by
#   python tools/dataset_converters/make_synthetic_shapes.py \
#       --out data/synthetic
# Same layout and pipelines as scanobjectnn_objbg.py; small batches for CPU
# runs.
_base_ = ['./scanobjectnn_objbg.py']

data_root = 'data/synthetic/ScanObjectNN'
# the first 15 synthetic classes stand in for ScanObjectNN's 15
synthetic_classes = ('sphere', 'box', 'cylinder', 'cone', 'torus', 'capsule',
                     'pyramid', 'bowl', 'tube', 'table', 'chair', 'stool',
                     'lamp', 'mug', 'bottle')
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(
        data_root=data_root, metainfo=dict(classes=synthetic_classes)))
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(
        data_root=data_root, metainfo=dict(classes=synthetic_classes)))
test_dataloader = val_dataloader

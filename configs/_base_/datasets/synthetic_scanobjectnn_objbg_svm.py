# scanobjectnn_objbg_svm on the synthetic shapes written by
#   python tools/dataset_converters/make_synthetic_shapes.py \
#       --out data/synthetic
# Same layout and pipelines as scanobjectnn_objbg_svm.py; small batches for
# CPU runs.
_base_ = ['./scanobjectnn_objbg_svm.py']

svm_data_root = 'data/synthetic/ScanObjectNN'
# the first 15 synthetic classes stand in for ScanObjectNN's 15
svm_classes = ('sphere', 'box', 'cylinder', 'cone', 'torus', 'capsule',
               'pyramid', 'bowl', 'tube', 'table', 'chair', 'stool', 'lamp',
               'mug', 'bottle')
svm_train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    dataset=dict(data_root=svm_data_root, metainfo=dict(classes=svm_classes)))
svm_test_dataloader = dict(
    batch_size=32,
    num_workers=2,
    dataset=dict(data_root=svm_data_root, metainfo=dict(classes=svm_classes)))

# modelnet40_svm on the synthetic shapes written by
#   python tools/dataset_converters/make_synthetic_shapes.py \
#       --out data/synthetic
# Same layout and pipelines as modelnet40_svm.py; small batches for CPU
# runs.
_base_ = ['./modelnet40_svm.py']

svm_data_root = 'data/synthetic/modelnet40_ply_hdf5_2048'
svm_train_dataloader = dict(
    batch_size=32, num_workers=2, dataset=dict(data_root=svm_data_root))
svm_test_dataloader = dict(
    batch_size=32, num_workers=2, dataset=dict(data_root=svm_data_root))

# ModelNet40 (``modelnet40_ply_hdf5_2048``) for the linear-SVM evaluation of
# a pre-trained encoder (official protocol: the first 1024 points of each
# cloud, no augmentation). Features of the train split fit the SVM, features
# of the test split score it.
#
# The keys are prefixed with ``svm_`` so that this file can be a ``_base_``
# beside a pre-training dataset config (mmengine forbids the same key in two
# bases): the SVM validation loop / hook reads ``svm_train_dataloader`` and
# ``svm_test_dataloader``.
#
# Collation: mmengine's ``default_collate``: ``inputs['points']`` is stacked
# to [B, 1024, 3]; ``data_samples`` stays a list.
svm_dataset_type = 'ModelNet40H5Dataset'
svm_data_root = 'data/modelnet40_ply_hdf5_2048'

svm_pipeline = [dict(type='PackPointCloudInputs')]

svm_train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='SeededSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=svm_dataset_type,
        data_root=svm_data_root,
        split='train',
        num_points=1024,
        pipeline=svm_pipeline,
        test_mode=True))
svm_test_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='SeededSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=svm_dataset_type,
        data_root=svm_data_root,
        split='test',
        num_points=1024,
        pipeline=svm_pipeline,
        test_mode=True))

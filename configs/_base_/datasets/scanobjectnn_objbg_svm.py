# ScanObjectNN OBJ-BG (objects with background, main_split) for the
# linear-SVM evaluation of a pre-trained encoder (official protocol: all
# 2048 points of each cloud as stored, no augmentation). Features of the
# train split fit the SVM, features of the test split score it.
#
# The same ``svm_`` keys as modelnet40_svm.py: use one of the two as a
# ``_base_`` beside a pre-training dataset config. A config that already
# inherits modelnet40_svm.py (e.g. configs/i2pmae_pretrain.py) swaps the
# datasets instead, as configs/i2pmae_svm_scanobjectnn_objbg.py does
# (mmengine refuses a key defined by two bases).
#
# Collation: mmengine's ``default_collate``: ``inputs['points']`` is stacked
# to [B, 2048, 3]; ``data_samples`` stays a list.
svm_dataset_type = 'ScanObjectNNDataset'
svm_data_root = 'data/ScanObjectNN'
svm_variant = 'obj_bg'

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
        variant=svm_variant,
        split='train',
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
        variant=svm_variant,
        split='test',
        pipeline=svm_pipeline,
        test_mode=True))

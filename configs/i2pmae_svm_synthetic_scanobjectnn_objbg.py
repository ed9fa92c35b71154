# i2pmae_svm_scanobjectnn_objbg.py for the demo encoder on the synthetic
# shapes (the SVM data of synthetic_scanobjectnn_objbg_svm.py):
#   python tools/test.py configs/i2pmae_svm_synthetic_scanobjectnn_objbg.py \
#       work_dirs/i2pmae_pretrain_synthetic/epoch_4.pth
_base_ = ['./i2pmae_pretrain_synthetic.py']
svm_dataset_type = 'ScanObjectNNDataset'
svm_data_root = 'data/synthetic/ScanObjectNN'
svm_variant = 'obj_bg'
# the first 15 synthetic classes stand in for ScanObjectNN's 15
svm_classes = ('sphere', 'box', 'cylinder', 'cone', 'torus', 'capsule',
               'pyramid', 'bowl', 'tube', 'table', 'chair', 'stool', 'lamp',
               'mug', 'bottle')
svm_train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=svm_dataset_type,
        data_root=svm_data_root,
        variant=svm_variant,
        split='train',
        pipeline=[dict(type='PackPointCloudInputs')],
        test_mode=True,
        metainfo=dict(classes=svm_classes)))
svm_test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=svm_dataset_type,
        data_root=svm_data_root,
        variant=svm_variant,
        split='test',
        pipeline=[dict(type='PackPointCloudInputs')],
        test_mode=True,
        metainfo=dict(classes=svm_classes)))

# Linear-SVM evaluation of a pretrained I2P-MAE encoder on ScanObjectNN
# OBJ-BG (fitted on the train split, scored on the test split):
#   python tools/test.py configs/i2pmae_svm_scanobjectnn_objbg.py CKPT
# Pretraining with this config validates on a stratified 20% held out from
# the ScanObjectNN train split instead of ModelNet40's.
#
# The svm_* dataloaders of _base_/datasets/scanobjectnn_objbg_svm.py replace
# the ModelNet40 ones of the pretraining config. mmengine refuses a key
# defined by two bases, so the datasets are swapped here
# (tests/test_linear_svm_configs.py checks that both configs agree).
_base_ = ['./i2pmae_pretrain.py']
svm_dataset_type = 'ScanObjectNNDataset'
svm_data_root = 'data/ScanObjectNN'
svm_variant = 'obj_bg'
svm_train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=svm_dataset_type,
        data_root=svm_data_root,
        variant=svm_variant,
        split='train',
        pipeline=[dict(type='PackPointCloudInputs')],
        test_mode=True))
svm_test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=svm_dataset_type,
        data_root=svm_data_root,
        variant=svm_variant,
        split='test',
        pipeline=[dict(type='PackPointCloudInputs')],
        test_mode=True))

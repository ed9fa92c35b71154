# I2P-MAE pretraining on ShapeNet-55 (paper settings), 8 GPUs x 16 = 128.
#   tools/dist_train.sh configs/i2pmae_pretrain.py 8
# Set model.teacher.pretrained to a local open_clip ViT-B-16 checkpoint
# (or keep 'openai' if it is in open_clip's cache): nothing is downloaded.
_base_ = [
    './_base_/models/i2pmae.py', './_base_/datasets/shapenet55.py',
    './_base_/datasets/modelnet40_svm.py',
    './_base_/schedules/pretrain_adamw_cosine_300e.py',
    './_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=16)
# every trainable parameter receives a gradient in each step (the encoder
# builds no norm for the finest scale, which no decoder stage reads), so
# DDP runs without find_unused_parameters
# Linear-SVM evaluation of the encoder feature (I2PMAE.extract_feat) on the
# svm_* dataloaders (ModelNet40, 1024 points: modelnet40_svm.py). The loops
# name those config keys, so a config that replaces svm_train_dataloader /
# svm_test_dataloader changes what they evaluate.
# - validation, every val_interval epochs: the SVM is fitted on 80% of the
#   SVM train split and scores the stratified 20% held out from it (a fixed
#   split): the test split steers nothing during pretraining.
# - tools/test.py CONFIG CKPT: fitted on the whole train split, scores the
#   test split.
# Both print svm/accuracy (percent) and svm/C. C=None chooses C by 5-fold
# stratified cross-validation on the fitted features only (C=0.01 fixes
# it); standardize=True z-scores every feature dimension with the fitted
# features' statistics. Set options on both evaluators, e.g.
#   --cfg-options val_evaluator.C=0.01 test_evaluator.C=0.01
train_cfg = dict(val_interval=10)
val_dataloader = 'svm_train_dataloader'
val_cfg = dict(type='LinearSVMValLoop')
val_evaluator = dict(type='LinearSVMMetric', holdout=0.2)
test_dataloader = 'svm_test_dataloader'
test_cfg = dict(
    type='LinearSVMTestLoop', fit_dataloader='svm_train_dataloader')
test_evaluator = dict(type='LinearSVMMetric')
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))

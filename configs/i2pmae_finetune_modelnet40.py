# Fine-tuning on ModelNet40 with 1024 points (official settings: 48/24/24
# neighbours, mean+max pooling, label smoothing 0.2). Start from a
# pretrained checkpoint with ``--cfg-options load_from=PRETRAINED.pth``.
#
# Nothing is selected on the test split: training uses 80% of the train
# split, validation (every epoch, ``save_best``) the stratified 20% held out
# from it (``StratifiedHoldoutDataset``, seed ``holdout_seed``). The test
# split is scored after the last epoch (``FinalTestHook``) and by
#   python tools/test.py configs/i2pmae_finetune_modelnet40.py CKPT
# plain (``accuracy/top1``: FPS to 1024 points) and with the paper's voting
# (``vote/accuracy/top1``: logits averaged over 10 views, each a random 1024
# of the 1200 FPS points, scaled per axis by U(2/3, 3/2) and shifted by
# U(-0.2, 0.2); drawn per sample from ``model.test_cfg.seed``). Validation
# never votes. The official protocol, which keeps the checkpoint of the best
# test-split epoch, is i2pmae_finetune_modelnet40_official_protocol.py.
_base_ = [
    './_base_/models/point_classifier.py', './_base_/datasets/modelnet40.py',
    './_base_/schedules/finetune_adamw_cosine_300e.py',
    './_base_/default_runtime.py'
]
model = dict(
    tokenizer=dict(group_sizes=[48, 24, 24]),
    backbone=dict(local_radius=[0.24, 0.48, 0.96]),
    pooling='mean+max',
    head=dict(
        in_channels=384,
        num_classes=40,
        loss=dict(type='SmoothCrossEntropyLoss', smoothing=0.2)),
    test_cfg=dict(num_points=1024, votes=10, seed=0))

# Evaluation clouds: the data preprocessor's FPS to 1200 points, in FPS
# order. Predictions use the first 1024 (the same as FPS to 1024); each vote
# a random 1024 of the 1200. (With the per-sample transforms of
# _base_/datasets/modelnet40_sample_in_workers.py, the test pipeline's
# PointCloudFPSSample takes num_points=1200 instead.)
data_preprocessor = dict(point_sampler=dict(test_num_points=1200))
test_pipeline = _base_.test_pipeline
# the same share and seed for both parts (other values would overlap them)
holdout = 0.2
holdout_seed = 0
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='StratifiedHoldoutDataset',
        dataset=_base_.train_dataloader.dataset,
        holdout=holdout,
        seed=holdout_seed,
        subset='train'))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='StratifiedHoldoutDataset',
        dataset=dict(
            _base_.train_dataloader.dataset,
            pipeline=test_pipeline,
            test_mode=True),
        holdout=holdout,
        seed=holdout_seed,
        subset='val'))
test_evaluator = [
    dict(type='mmpretrain.Accuracy', topk=(1, )),
    dict(type='VoteAccuracy', topk=(1, )),
]
default_hooks = dict(
    checkpoint=dict(save_best='accuracy/top1', rule='greater'))
custom_hooks = _base_.custom_hooks + [dict(type='FinalTestHook')]

# Fine-tuning on ScanObjectNN OBJ-BG (official settings).
#   tools/dist_train.sh configs/i2pmae_finetune_scanobjectnn_objbg.py 8 \
#       --cfg-options load_from=PRETRAINED.pth
#   python tools/test.py configs/i2pmae_finetune_scanobjectnn_objbg.py CKPT
#
# Nothing is selected on the test split: training uses 80% of the train
# split, validation (every epoch, ``save_best``) the stratified 20% held out
# from it (``StratifiedHoldoutDataset``, seed ``holdout_seed``). The test
# split is scored after the last epoch (``FinalTestHook``) and by
# ``tools/test.py``. The official protocol, which keeps the checkpoint of the
# best test-split epoch, is
# i2pmae_finetune_scanobjectnn_objbg_official_protocol.py.
_base_ = [
    './_base_/models/point_classifier.py',
    './_base_/datasets/scanobjectnn_objbg.py',
    './_base_/schedules/finetune_adamw_cosine_300e.py',
    './_base_/default_runtime.py'
]
# Start from a pretrained I2P-MAE checkpoint: its ``backbone.*`` weights load
# into the classifier's encoder (the decoder/head keys are reported as
# unexpected and ignored), e.g. ``--cfg-options load_from=PRETRAINED.pth``.
load_from = None

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
            pipeline=_base_.test_pipeline,
            test_mode=True),
        holdout=holdout,
        seed=holdout_seed,
        subset='val'))
test_dataloader = _base_.test_dataloader
default_hooks = dict(
    checkpoint=dict(save_best='accuracy/top1', rule='greater'))
custom_hooks = _base_.custom_hooks + [dict(type='FinalTestHook')]

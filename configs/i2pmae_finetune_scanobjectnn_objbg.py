# Fine-tuning on ScanObjectNN OBJ-BG (official settings).
#   tools/dist_train.sh configs/i2pmae_finetune_scanobjectnn_objbg.py 8 \
#       --cfg-options load_from=PRETRAINED.pth
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
default_hooks = dict(
    checkpoint=dict(save_best='accuracy/top1', rule='greater'))

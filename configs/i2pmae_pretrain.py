# I2P-MAE pretraining on ShapeNet-55 (paper settings), 8 GPUs x 16 = 128.
#   tools/dist_train.sh configs/i2pmae_pretrain.py 8
# Set model.teacher.pretrained to a local open_clip ViT-B-16 checkpoint
# (or keep 'openai' if it is in open_clip's cache): nothing is downloaded.
_base_ = [
    './_base_/models/i2pmae.py', './_base_/datasets/shapenet55.py',
    './_base_/schedules/pretrain_adamw_cosine_300e.py',
    './_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=16)
# the finest scale's output norm feeds no decoder stage (as officially)
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
# pretraining has no validation loop
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))

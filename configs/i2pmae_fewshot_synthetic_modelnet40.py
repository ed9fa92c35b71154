# Few-shot episodes of the synthetic ModelNetFewshot layout (16 classes,
# folds 0 and 1 of each of 5/10-way x 10/20-shot; 10 query shapes per class)
# fine-tuned on a CPU with the synthetic fine-tuning recipe
# (i2pmae_finetune_synthetic_modelnet40.py: encoder lr 1e-4, head 10x,
# 8 epochs, BatchNorm statistics recomputed before the test), e.g.
#   python tools/fewshot.py configs/i2pmae_fewshot_synthetic_modelnet40.py \
#       --way 5 --shot 10 --folds 0-1 \
#       --load-from work_dirs/i2pmae_pretrain_synthetic/epoch_4.pth
# The test split of the episode is scored once, after the last epoch.
_base_ = [
    './_base_/models/point_classifier_synthetic_modelnet40.py',
    './_base_/datasets/synthetic_modelnet40_fewshot.py',
    './_base_/cpu_finetune_runtime.py'
]
train_dataloader = dict(batch_size=8)
# an episode has at most 200 training clouds: PreciseBNHook (1024 samples,
# cpu_finetune_runtime.py) uses all of them
# one checkpoint per fold, after the last epoch
default_hooks = dict(
    checkpoint=dict(interval=_base_.max_epochs, max_keep_ckpts=1))

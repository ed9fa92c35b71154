# Fine-tuning the synthetic-demo encoder on the synthetic ModelNet40 layout
# (16 classes, 1024 points) on a CPU in under 5 minutes (2 cores), from
# scratch or from the demo's last pretraining epoch:
#   python tools/train.py configs/i2pmae_finetune_synthetic_modelnet40.py \
#       --cfg-options load_from=work_dirs/i2pmae_pretrain_synthetic/epoch_4.pth
# The test split is scored once, after the last epoch; no checkpoint is
# selected on it.
_base_ = [
    './_base_/models/point_classifier_synthetic_modelnet40.py',
    './_base_/datasets/synthetic_modelnet40.py',
    './_base_/cpu_finetune_runtime.py'
]
# no dropout in the head, as in i2pmae_finetune_synthetic_scanobjectnn.py
model = dict(head=dict(dropout=0.0))
train_dataloader = dict(batch_size=8)

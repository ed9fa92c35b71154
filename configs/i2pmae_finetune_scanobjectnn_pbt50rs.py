# Fine-tuning on ScanObjectNN PB-T50-RS (official settings: larger radii).
_base_ = ['./i2pmae_finetune_scanobjectnn_objbg.py']
variant = 'pb_t50_rs'
train_dataloader = dict(dataset=dict(variant=variant))
val_dataloader = dict(dataset=dict(variant=variant))
test_dataloader = val_dataloader
model = dict(backbone=dict(local_radius=[0.48, 0.96, 1.92]))

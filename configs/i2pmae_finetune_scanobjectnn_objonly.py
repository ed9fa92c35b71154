# Fine-tuning on ScanObjectNN OBJ-ONLY (official settings).
_base_ = ['./i2pmae_finetune_scanobjectnn_objbg.py']
variant = 'obj_only'
train_dataloader = dict(dataset=dict(variant=variant))
val_dataloader = dict(dataset=dict(variant=variant))
test_dataloader = val_dataloader

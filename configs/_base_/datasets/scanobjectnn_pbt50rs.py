# ScanObjectNN PB-T50-RS (perturbed boxes, main_split
# *_augmentedrot_scale75): the OBJ-BG settings with another variant.
_base_ = ['./scanobjectnn_objbg.py']

variant = 'pb_t50_rs'
train_dataloader = dict(dataset=dict(variant=variant))
val_dataloader = dict(dataset=dict(variant=variant))
test_dataloader = val_dataloader

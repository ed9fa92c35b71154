# ScanObjectNN OBJ-ONLY (objects without background, main_split_nobg):
# the OBJ-BG settings with another variant.
_base_ = ['./scanobjectnn_objbg.py']

variant = 'obj_only'
train_dataloader = dict(dataset=dict(variant=variant))
val_dataloader = dict(dataset=dict(variant=variant))
test_dataloader = val_dataloader

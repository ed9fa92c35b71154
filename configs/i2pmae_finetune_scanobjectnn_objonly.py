# Fine-tuning on ScanObjectNN OBJ-ONLY (official settings; validation on a
# share held out from the train split, as
# i2pmae_finetune_scanobjectnn_objbg.py). The official protocol, which
# selects on the test split:
# i2pmae_finetune_scanobjectnn_objonly_official_protocol.py.
_base_ = ['./i2pmae_finetune_scanobjectnn_objbg.py']
variant = 'obj_only'
train_dataloader = dict(dataset=dict(dataset=dict(variant=variant)))
val_dataloader = dict(dataset=dict(dataset=dict(variant=variant)))
test_dataloader = dict(dataset=dict(variant=variant))

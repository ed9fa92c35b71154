# Fine-tuning on ScanObjectNN PB-T50-RS (official settings: larger radii;
# validation on a share held out from the train split, as
# i2pmae_finetune_scanobjectnn_objbg.py). The train split holds perturbed
# copies of each object, so the held-out share shares objects with the
# kept part and its accuracy is optimistic; the test split is not involved.
# The official protocol, which selects on the test split:
# i2pmae_finetune_scanobjectnn_pbt50rs_official_protocol.py.
_base_ = ['./i2pmae_finetune_scanobjectnn_objbg.py']
variant = 'pb_t50_rs'
train_dataloader = dict(dataset=dict(dataset=dict(variant=variant)))
val_dataloader = dict(dataset=dict(dataset=dict(variant=variant)))
test_dataloader = dict(dataset=dict(variant=variant))
model = dict(backbone=dict(local_radius=[0.48, 0.96, 1.92]))

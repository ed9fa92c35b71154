# i2pmae_finetune_scanobjectnn_objbg.py under the official protocol, which
# SELECTS ON THE TEST SPLIT: training uses the whole train split, the test
# split is scored after every epoch and ``save_best`` keeps the checkpoint
# of its best epoch (the number the official code reports). Use it only to
# reproduce that protocol.
_base_ = ['./i2pmae_finetune_scanobjectnn_objbg.py']
train_dataloader = dict(
    dataset=dict(_delete_=True, **_base_.train_dataloader.dataset.dataset))
val_dataloader = dict(
    dataset=dict(_delete_=True, **_base_.test_dataloader.dataset))

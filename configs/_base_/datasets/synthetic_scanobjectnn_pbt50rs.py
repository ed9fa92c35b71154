# scanobjectnn_pbt50rs on the synthetic shapes written by
#   python tools/dataset_converters/make_synthetic_shapes.py \
#       --out data/synthetic
_base_ = ['./synthetic_scanobjectnn_objbg.py']

variant = 'pb_t50_rs'
train_dataloader = dict(dataset=dict(variant=variant))
val_dataloader = dict(dataset=dict(variant=variant))
test_dataloader = val_dataloader

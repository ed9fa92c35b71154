# The 3D-only Point-M2AE baseline: random masking, no 2D teacher at all.
_base_ = ['./i2pmae.py']
model = dict(
    mask_generator=dict(type='RandomMaskGenerator', mask_ratio=0.8),
    projector=None,
    teacher=None,
    head=dict(feat_dim_2d=0, loss_2d=None))

# The 3D-only Point-M2AE baseline (random masking, no 2D teacher) with the
# embedded default's encoder, data and schedule, for
# tools/analysis_tools/teacher_comparison.py.
_base_ = ['./i2pmae_pretrain_synthetic.py']
model = dict(
    mask_generator=dict(type='RandomMaskGenerator', mask_ratio=0.8),
    projector=None,
    teacher=None,
    head=dict(feat_dim_2d=0, loss_2d=None))

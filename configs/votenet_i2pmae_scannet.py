# VoteNet on ScanNet (18 classes) with the I2P-MAE encoder as its backbone:
# mmdet3d's VoteNet config (data, pipelines with 40000 points of xyz +
# height per scene, vote head, schedule, runtime) with only the backbone
# swapped, starting from a pretrained I2P-MAE checkpoint:
#   tools/dist_train.sh configs/votenet_i2pmae_scannet.py 8 \
#       --cfg-options load_from=work_dirs/i2pmae_pretrain/epoch_300.pth
#   python tools/test.py configs/votenet_i2pmae_scannet.py CKPT
# Data: mmdet3d's ScanNet preparation in data/scannet/. The optimiser and
# schedule are VoteNet's (Adam, lr 8e-3, 36 epochs), not tuned for a
# pretrained transformer backbone.
_base_ = ['mmdet3d::votenet/votenet_8xb8_scannet-3d.py']
custom_imports = dict(
    imports=['projects.I2PMAE.i2pmae'], allow_failed_imports=False)

# The backbone returns the seeds VoteHead reads, as PointNet2SASSG does:
# fp_xyz [B, 1024, 3], fp_features [B, 256, 1024], fp_indices [B, 1024].
# - Tokens: 2048 / 1024 / 512 groups of 32 / 16 / 16 neighbours. 32
#   neighbours of 40000 points in a room span about 0.1 m, as the 16 of
#   2048 points of a pretraining shape (unit sphere) span about 0.1 of its
#   radius; the coordinates are metres, where objects have about the size
#   of the pretraining shapes, so the pretrained local attention radii
#   0.32 / 0.64 / 1.28 are kept. 2048 first-scale tokens match the first
#   level of PointNet2SASSG (2048 points).
# - Seeds: the first 1024 first-scale centres (their order is that of
#   furthest point sampling, so they are a furthest point sample of 1024
#   points of the scene), with features propagated from every scale
#   (three-NN interpolation) and fused to 256 channels.
# - Height (the 4th input channel): a new branch of the first token
#   embedding, added through a zero-initialised gate.
model = dict(
    backbone=dict(
        _delete_=True,
        type='I2PMAEVoteNetBackbone',
        tokenizer=dict(
            type='MultiScalePointTokenizer',
            num_groups=[2048, 1024, 512],
            group_sizes=[32, 16, 16]),
        num_seeds=1024,
        out_channels=256,
        in_channels=4,
        embed_dims=[96, 192, 384],
        depths=[5, 5, 5],
        num_heads=6,
        drop_path_rate=0.1,
        local_radius=[0.32, 0.64, 1.28],
        final_norm=True))

# Pretrained weights come through ``load_from`` (set on the command line,
# see above). CheckpointCompatibilityHook fails unless these encoder keys
# load (they have the names and shapes of an I2P-MAE checkpoint's
# ``backbone.*``); the new parts (height branch, scale-0 norm, feature
# propagation, vote head) keep their initialisation and the checkpoint's
# pretraining-only keys (decoder, heads) are unused: both are listed once,
# grouped by module, in the log.
load_from = None
load_from_required_keys = [
    'backbone.token_embeds.0.first_conv.',
    'backbone.token_embeds.0.second_conv.', 'backbone.token_embeds.1.',
    'backbone.token_embeds.2.', 'backbone.pos_embeds.', 'backbone.stages.',
    'backbone.norms.1.', 'backbone.norms.2.'
]
allow_partial_load = False
custom_hooks = [dict(type='CheckpointCompatibilityHook')]

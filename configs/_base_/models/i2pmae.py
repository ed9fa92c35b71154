# I2P-MAE pretraining model (paper settings: 512/256/64 groups of 16/8/8,
# encoder 96/192/384 x 5/5/5, decoder 384/192 x 1/1, 80% 2D-guided masking,
# frozen CLIP ViT-B/16 teacher).
# The teacher weights are read from a local file: download the open_clip
# ``ViT-B-16`` / ``openai`` checkpoint yourself and set
# ``model.teacher.pretrained`` to its path (or keep 'openai' when it is
# already in open_clip's cache).
model = dict(
    type='I2PMAE',
    data_preprocessor=dict(type='PointCloudDataPreprocessor', num_channels=3),
    tokenizer=dict(
        type='MultiScalePointTokenizer',
        num_groups=[512, 256, 64],
        group_sizes=[16, 8, 8]),
    mask_generator=dict(type='GuidedMaskGenerator', mask_ratio=0.8),
    projector=dict(type='MultiViewDepthProjector', image_size=224),
    # half precision where it is fast: fp16 autocast on CUDA like the
    # official fp16 CLIP, bf16 on CPUs with AMX / AVX512-BF16, else fp32
    teacher=dict(
        type='CLIPTeacher',
        model_name='ViT-B-16',
        pretrained='openai',
        precision='auto'),
    backbone=dict(
        type='I2PMAEEncoder',
        embed_dims=[96, 192, 384],
        depths=[5, 5, 5],
        num_heads=6,
        drop_path_rate=0.1,
        local_radius=[0, 0, 0]),
    neck=dict(
        type='I2PMAEDecoder',
        embed_dims=[384, 192],
        depths=[1, 1],
        num_heads=6,
        up_blocks=[1],
        drop_path_rate=0.1),
    # the official losses: Chamfer-L2 (mean over the predicted points of the
    # squared distance to the nearest true point, plus the converse) of the
    # masked tokens' neighbourhoods, MSE of the visible tokens' 2D features
    head=dict(
        type='I2PMAEPretrainHead',
        in_channels=192,
        group_size=8,
        feat_dim_2d=512,
        loss_3d=dict(
            type='ChamferDistance',
            mode='l2',
            reduction='mean',
            loss_src_weight=1.0,
            loss_dst_weight=1.0),
        loss_2d=dict(type='mmdet.MSELoss', loss_weight=1.0)))

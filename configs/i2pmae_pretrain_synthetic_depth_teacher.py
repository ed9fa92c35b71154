# The embedded default with a 2D teacher that has learned something: the
# small open_clip ViT that tools/train_depth_teacher.py trains to classify
# multi-view depth images of synthetic shapes generated with another seed
# (other instances of the same kinds of classes). Make it first:
#   python tools/dataset_converters/make_synthetic_shapes.py \
#       --out data/synthetic_teacher_seed1 --seed 1 --layouts modelnet_h5 \
#       --per-class 24 --test-per-class 8
#   python tools/train_depth_teacher.py \
#       --data-root data/synthetic_teacher_seed1/modelnet40_ply_hdf5_2048 \
#       --out work_dirs/depth_teacher/depth_teacher.pt --image-size 112 \
#       --width 64 --layers 2 --heads 2
# The same config with model.teacher.pretrained=None is the random-teacher
# control of tools/analysis_tools/teacher_comparison.py: the same tower,
# untrained.
_base_ = ['./i2pmae_pretrain_synthetic.py']
# depth images of 112 x 112 pixels (a 7 x 7 patch grid): a quarter of the
# 224 x 224 images' teacher cost on a CPU
image_size = 112
model = dict(
    projector=dict(image_size=image_size),
    teacher=dict(
        model_name='ViT-B-16',
        pretrained='work_dirs/depth_teacher/depth_teacher.pt',
        vision_cfg=dict(
            image_size=image_size, patch_size=16, width=64, layers=2, heads=2),
        embed_dim=64))

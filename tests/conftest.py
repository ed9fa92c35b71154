"""Shared pytest fixtures for the I2P-MAE plugin tests."""
import os
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope

import projects.I2PMAE.i2pmae  # noqa: F401  (registers the plugin)
from projects.I2PMAE.i2pmae.synthetic import generate_synthetic_datasets

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# The shared folder (with the parity fixture) lives beside the repository.
SHARED_ROOT = os.environ.get('I2PMAE_SHARED',
                             osp.join(osp.dirname(REPO_ROOT), 'shared'))
PARITY_FIXTURE = osp.join(SHARED_ROOT, 'fixtures',
                          'i2pmae_official_parity_small.pt')

#: small ``generate_synthetic_datasets`` settings shared by the tests
TINY_SYNTHETIC = dict(
    per_class=2,
    test_per_class=1,
    num_points=256,
    shapenet_points=512,
    fewshot_points=128,
    fewshot_folds=1,
    fewshot_queries=2,
    show_progress=False)

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope='session')
def parity_fixture_path():
    """Path of the official-parity fixture; skips when it is absent."""
    if not osp.isfile(PARITY_FIXTURE):
        pytest.skip(f'parity fixture not found at {PARITY_FIXTURE}')
    return PARITY_FIXTURE


@pytest.fixture(scope='session')
def parity_fixture(parity_fixture_path):
    """The loaded official-parity fixture (a trusted, project-owned file)."""
    return torch.load(parity_fixture_path, weights_only=False)


@pytest.fixture(scope='session')
def synthetic_data(tmp_path_factory):
    """Small synthetic datasets, written once per set of arguments.

    Returns:
        Callable: ``synthetic_data(layouts, **kwargs)`` returns the folder
        (str) where ``generate_synthetic_datasets`` wrote these layouts
        with these arguments; tests read it and never write into it.
    """
    roots = {}

    def make(layouts, **kwargs):
        key = (tuple(layouts), tuple(sorted(kwargs.items())))
        if key not in roots:
            root = str(tmp_path_factory.mktemp('synthetic'))
            generate_synthetic_datasets(
                root, layouts=layouts, show_progress=False, **kwargs)
            roots[key] = root
        return roots[key]

    return make


class ToyRegressor(BaseModel):
    """A linear layer trained with an L2 loss."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((out - data_samples)**2).mean())
        return out


@pytest.fixture(scope='module', autouse=True)
def mmdet3d_default_scope_of_module():
    """Build module-scoped fixtures in the ``mmdet3d`` scope too.

    Autouse fixtures run first within their scope, so the module-scoped
    fixtures of a test file see this scope whatever earlier modules left
    current; what they create is dropped when the module ends.
    """
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        yield


@pytest.fixture(autouse=True)
def mmdet3d_default_scope():
    """Run every test in the ``mmdet3d`` scope, as the configs do.

    A Runner built by one test leaves its scope current for the process;
    this keeps tests independent of the order they run in.
    """
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        yield


def write_h5_split(root, split, points, labels, num_classes=None):
    """Write ``root/ply_data_<split>0.h5`` (ModelNet40-h5 layout).

    Args:
        root (str): Folder, created if missing.
        split (str): ``'train'`` or ``'test'``.
        points (np.ndarray): Clouds, [n, N, 3].
        labels (np.ndarray): A class index per cloud.
        num_classes (int, optional): If given, ``shape_names.txt`` lists
            ``class0`` ... ``class<num_classes - 1>``.
    """
    import h5py
    os.makedirs(root, exist_ok=True)
    with h5py.File(osp.join(root, f'ply_data_{split}0.h5'), 'w') as f:
        f.create_dataset('data', data=points)
        f.create_dataset('label', data=labels.reshape(-1, 1).astype('int64'))
    if num_classes is not None:
        with open(osp.join(root, 'shape_names.txt'), 'w') as f:
            f.write('\n'.join(f'class{i}' for i in range(num_classes)))


def h5_dataset_cfg(root, split='train', **kwargs):
    """A ``ModelNet40H5Dataset`` config; its pipeline only packs the clouds.

    ``kwargs`` add or replace dataset options (``pipeline`` included).
    """
    return dict(
        dict(
            type='ModelNet40H5Dataset',
            data_root=root,
            split=split,
            pipeline=[dict(type='PackPointCloudInputs')]), **kwargs)


def seeded_loader(dataset, batch_size=8, shuffle=False):
    """A dataloader config: ``SeededSampler``, no workers, default collate."""
    return dict(
        batch_size=batch_size,
        num_workers=0,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='SeededSampler', shuffle=shuffle),
        collate_fn=dict(type='default_collate'),
        dataset=dataset)


def read_log_text(work_dir):
    """The text of the one ``.log`` file under ``work_dir``."""
    logs = [
        osp.join(d, f) for d, _, files in os.walk(work_dir) for f in files
        if f.endswith('.log')
    ]
    assert len(logs) == 1, logs
    with open(logs[0]) as f:
        return f.read()


def save_tiny_pretraining_checkpoint(path,
                                     encoder,
                                     num_groups=(64, 32, 8),
                                     perturb=True,
                                     seed=3):
    """Save a tiny 3D-only I2PMAE pretraining checkpoint as the Runner does.

    Args:
        path (str | Path): the ``.pth`` file to write.
        encoder (dict): the ``I2PMAEEncoder`` config (three scales, the
            last two 48 and 96 wide, as the tiny decoder expects).
        num_groups (tuple[int]): the tokenizer's groups per scale (of 8, 4
            and 4 points).
        perturb (bool): add unit Gaussian noise to every weight, so the
            pretrained weights differ from any initialisation.
        seed (int): torch seed of the initialisation and the noise.

    Returns:
        dict: the saved ``state_dict``.
    """
    from mmdet3d.registry import MODELS

    from projects.I2PMAE.i2pmae.utils.quiet_init import init_weights_quietly
    torch.manual_seed(seed)
    pretrain = MODELS.build(
        dict(
            type='I2PMAE',
            tokenizer=dict(
                type='MultiScalePointTokenizer',
                num_groups=list(num_groups),
                group_sizes=[8, 4, 4]),
            backbone=dict(encoder, type='I2PMAEEncoder'),
            neck=dict(
                type='I2PMAEDecoder',
                embed_dims=[96, 48],
                depths=[1, 1],
                num_heads=6,
                up_blocks=[1]),
            head=dict(
                type='I2PMAEPretrainHead',
                in_channels=48,
                group_size=4,
                feat_dim_2d=0),
            mask_generator=dict(type='RandomMaskGenerator', mask_ratio=0.75)))
    init_weights_quietly(pretrain)
    if perturb:
        for p in pretrain.parameters():
            p.data.add_(torch.randn_like(p))
    torch.save(dict(state_dict=pretrain.state_dict(), meta=dict()), str(path))
    return pretrain.state_dict()

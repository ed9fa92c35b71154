"""Config and --cfg-options checks made before a run builds anything."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from projects.I2PMAE.i2pmae.engine import config_checks as checks

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PRETRAIN = 'i2pmae_pretrain_synthetic.py'
FINETUNE = 'i2pmae_finetune_synthetic_scanobjectnn.py'


def _config(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


# every option that the README, the configs' comments and the tests give to
# tools/train.py and tools/test.py (values do not matter to the check)
USED_OPTIONS = {
    PRETRAIN: [
        'model.tokenizer.num_groups', 'model.backbone.depths',
        'model.projector.image_size', 'model.teacher.vision_cfg.image_size',
        'train_dataloader.batch_size', 'train_dataloader.num_workers',
        'train_dataloader.dataset.data_root',
        'train_dataloader.dataset.pipeline.0.num_points',
        'train_dataloader.dataset.indices', 'train_cfg.max_epochs', 'resume',
        'default_hooks.logger.interval', 'log_processor.window_size',
        'svm_train_dataloader.dataset.data_root',
        'svm_test_dataloader.dataset.data_root',
        'svm_train_dataloader.num_workers', 'svm_test_dataloader.num_workers',
        'val_evaluator.C', 'test_evaluator.C', 'work_dir', 'experiment_name'
    ],
    FINETUNE: [
        'load_from', 'allow_partial_load', 'model.backbone.embed_dims',
        'model.head.in_channels', 'train_dataloader.num_workers',
        'val_dataloader.batch_size', 'val_dataloader.dataset.data_root',
        'test_dataloader.num_workers', 'test_dataloader.dataset.data_root',
        'train_cfg.max_epochs', 'randomness.seed'
    ],
    'i2pmae_finetune_modelnet40.py': ['load_from'],
    'i2pmae_finetune_scanobjectnn_objbg.py': ['load_from'],
}


@pytest.mark.parametrize('name', sorted(USED_OPTIONS))
def test_options_in_use_stay_valid(name):
    cfg = _config(name)
    for key in USED_OPTIONS[name]:
        checks.check_cfg_option(cfg, key, 1)


def test_runtime_keys_are_the_runner_arguments():
    keys = checks.runtime_keys()
    assert {
        'load_from', 'resume', 'work_dir', 'randomness', 'launcher',
        'experiment_name', 'model_wrapper_cfg', 'allow_partial_load'
    } <= keys
    assert 'max_epochs' not in keys and 'cfg' not in keys


@pytest.mark.parametrize(
    'key, message',
    [('train_cfgg.max_epochs', "no key 'train_cfgg' (did you mean train_cfg"),
     ('train_cfg.max_epoch',
      "'train_cfg' has no key 'max_epoch', and what it configures takes no "
      "argument 'max_epoch' (did you mean max_epochs"),
     ('randomness.sed', "'randomness' has no key 'sed'"),
     ('train_dataloader.dataset.foo', "'train_dataloader.dataset' has no key"),
     ('model.foo', "'model' has no key 'foo'"),
     ('param_scheduler.T_max',
      "'param_scheduler' is a list; give its items by index, e.g. "
      'param_scheduler.0.T_max'),
     ('param_scheduler.2.T_max', "'param_scheduler' has 2 items, no index 2"),
     ('val_dataloader.batch_size',
      "it names the config key 'svm_train_dataloader': set "
      'svm_train_dataloader.batch_size instead'),
     ('load_from.x', "'load_from' is None, not a dict")])
def test_unknown_option_keys_are_named(key, message):
    with pytest.raises(checks.ConfigCheckError) as error:
        checks.check_cfg_option(_config(PRETRAIN), key, 1)
    text = str(error.value)
    assert text.startswith(f'--cfg-options {key}=1: '), text
    assert message in text, text
    if 'no key' in message:
        assert f'give +{key}=... to add it as given' in text


def test_new_keys_that_the_configured_class_takes_are_accepted():
    cfg = _config(PRETRAIN)
    # ShapeNet55Dataset -> BasePointCloudDataset -> BaseDataset(indices)
    checks.check_cfg_option(cfg, 'train_dataloader.dataset.indices', 8)
    # a nested dict below a key the class takes
    checks.check_cfg_option(cfg, 'train_dataloader.dataset.metainfo.classes',
                            ['a'])
    checks.check_cfg_option(cfg, 'train_dataloader.pin_memory',
                            True)  # DataLoader
    checks.check_cfg_option(cfg, 'val_cfg.fp16', True)  # LinearSVMValLoop
    checks.check_cfg_option(cfg, 'test_evaluator.C', 0.01)  # LinearSVMMetric
    checks.check_cfg_option(cfg, 'optim_wrapper.clip_grad',
                            None)  # OptimWrapper
    # top-level runtime keys the config does not define
    for key in ('work_dir', 'experiment_name', 'load_from_required_keys'):
        assert key not in cfg
        checks.check_cfg_option(cfg, key, 'x')
    # the finetune config's val_cfg is mmengine's ValLoop
    checks.check_cfg_option(_config(FINETUNE), 'val_cfg.fp16', True)


def test_config_files_bases_first():
    files = checks.config_files(osp.join(REPO, 'configs', PRETRAIN))
    names = [osp.relpath(f, osp.join(REPO, 'configs')) for f in files]
    assert names == [
        '_base_/models/i2pmae.py', '_base_/datasets/shapenet55.py',
        '_base_/datasets/modelnet40_svm.py',
        '_base_/schedules/pretrain_adamw_cosine_300e.py',
        '_base_/default_runtime.py', 'i2pmae_pretrain.py', PRETRAIN
    ]


def test_derived_entries_name_what_a_variable_was_copied_into():
    cfg = _config(PRETRAIN)
    assert checks.derived_entries(cfg, 'max_epochs') == [
        ('train_cfg.max_epochs', 'max_epochs'),
        ('train_cfg.val_begin', 'max_epochs'),
        ('train_cfg.val_interval', 'max_epochs'),
        ('param_scheduler.1.T_max', 'max_epochs - 1'),
        ('param_scheduler.1.end', 'max_epochs'),
    ]
    assert checks.derived_entries(cfg, 'svm_data_root') == [
        ('svm_train_dataloader.dataset.data_root', 'svm_data_root'),
        ('svm_test_dataloader.dataset.data_root', 'svm_data_root'),
    ]
    # a variable read as _base_.NAME in a list extended with `+`
    finetune = _config(FINETUNE)
    assert ('custom_hooks.2.interval', '_base_.max_epochs') in \
        checks.derived_entries(finetune, 'max_epochs')
    assert finetune.custom_hooks[2].interval == finetune.max_epochs
    assert checks.derived_entries(cfg, 'train_cfg') == []
    assert checks.derived_entries(Config(dict(a=1)), 'a') == []  # no file


def test_overriding_a_variable_names_the_entries_to_set():
    cfg = _config(PRETRAIN)
    with pytest.raises(checks.ConfigCheckError) as error:
        checks.apply_cfg_options(cfg, {'max_epochs': 1})
    text = str(error.value)
    for line in ('train_cfg.max_epochs = max_epochs  (now 4)',
                 'train_cfg.val_begin = max_epochs  (now 4)',
                 'param_scheduler.1.T_max = max_epochs - 1  (now 3)',
                 'param_scheduler.1.end = max_epochs  (now 4)'):
        assert f'\n  {line}\n' in text, text
    assert 'e.g. --cfg-options train_cfg.max_epochs=1' in text
    assert cfg.max_epochs == 4  # nothing merged
    # a part of a dict variable is refused too
    fewshot = _config('_base_/datasets/synthetic_modelnet40_fewshot.py')
    with pytest.raises(checks.ConfigCheckError) as error:
        checks.check_cfg_option(fewshot, 'episode.way', 10)
    assert '\n  train_dataloader.dataset = **episode\n' in str(error.value)
    assert 'e.g. --cfg-options train_dataloader.dataset.way=10' in str(
        error.value)


def test_apply_cfg_options_merges_in_order_and_plus_skips_the_checks():
    cfg = _config(PRETRAIN)
    checks.apply_cfg_options(
        cfg,
        {
            'train_cfg.max_epochs': 2,
            '+max_epochs': 1,
            '+my_table': dict(a=1),
            'my_table.a': 2,  # exists once +my_table is merged
            'load_from': 'x.pth'
        })
    assert cfg.train_cfg.max_epochs == 2 and cfg.train_cfg.val_begin == 4
    assert cfg.max_epochs == 1 and cfg.my_table == dict(a=2)
    assert cfg.load_from == 'x.pth'
    checks.apply_cfg_options(cfg, None)
    with pytest.raises(checks.ConfigCheckError, match='no key'):
        checks.apply_cfg_options(cfg, {'+': 1})


def test_validation_data_is_needed_when_validation_can_run():
    cfg = _config(PRETRAIN)
    assert checks.validation_runs(
        cfg)  # lazy SVM loop, val_begin 4 of 4 epochs
    assert [(k, by) for k, by, _ in checks.run_dataloaders(cfg, 'train')
            ] == [('train_dataloader', ''),
                  ('svm_train_dataloader', 'val_dataloader')]
    cfg.merge_from_dict({'train_cfg.max_epochs': 1})
    assert not checks.validation_runs(cfg)
    assert [k for k, _, _ in checks.run_dataloaders(cfg, 'train')
            ] == ['train_dataloader']
    assert [(k, by) for k, by, _ in checks.run_dataloaders(cfg, 'test')
            ] == [('svm_test_dataloader', 'test_dataloader'),
                  ('svm_train_dataloader', 'test_cfg.fit_dataloader')]
    # mmengine's ValLoop builds its dataloader before the first epoch
    finetune = _config(FINETUNE)
    finetune.merge_from_dict({'train_cfg.val_begin': 100})
    assert checks.validation_runs(finetune)
    finetune.val_evaluator = None
    assert not checks.validation_runs(finetune)
    cfg.test_cfg.fit_dataloader = 'svm_fit_dataloader'
    with pytest.raises(
            checks.ConfigCheckError,
            match="test_cfg.fit_dataloader names the config key "
            "'svm_fit_dataloader', which the config does not "):
        checks.run_dataloaders(cfg, 'test')


def test_missing_dataset_folders_name_their_keys(tmp_path):
    cfg = _config(PRETRAIN)
    missing = str(tmp_path / 'missing')
    cfg.merge_from_dict({
        f'{loader}.dataset.data_root': str(tmp_path / folder)
        for loader, folder in [(
            'train_dataloader',
            'missing'), ('svm_train_dataloader',
                         'svm'), ('svm_test_dataloader', 'svm_test')]
    })
    with pytest.raises(FileNotFoundError) as error:
        checks.check_data_paths(cfg, 'train')
    assert str(error.value).splitlines()[1:] == [
        f'  train_dataloader.dataset.data_root: folder not found: '
        f'{missing!r}',
        f"  svm_train_dataloader.dataset.data_root: folder not found: "
        f"{str(tmp_path / 'svm')!r} (svm_train_dataloader is named by "
        'val_dataloader)'
    ]
    (tmp_path / 'svm').mkdir()
    (tmp_path / 'missing').write_text('')
    with pytest.raises(FileNotFoundError, match='not a folder'):
        checks.check_data_paths(cfg, 'train')
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': str(tmp_path)})
    checks.check_data_paths(cfg, 'train')
    # the test run reads the SVM splits only
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': missing})
    with pytest.raises(FileNotFoundError) as error:
        checks.check_data_paths(cfg, 'test')
    assert str(error.value).splitlines()[1:] == [
        "  svm_test_dataloader.dataset.data_root: folder not found: "
        f"{str(tmp_path / 'svm_test')!r} (svm_test_dataloader is named by "
        'test_dataloader)'
    ]


def test_annotation_files_and_prefixes_of_wrapped_datasets(tmp_path):
    root = tmp_path / 'root'
    inner = dict(
        type='BaseDataset',
        data_root=str(root),
        ann_file='ann.json',
        data_prefix=dict(img='images', pts=''))
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(type='RepeatDataset', times=2, dataset=inner))))
    key = 'train_dataloader.dataset.dataset'
    with pytest.raises(FileNotFoundError) as error:
        checks.check_data_paths(cfg, 'train')
    # under a missing data_root only the root is named
    assert str(error.value).splitlines()[1:] == [
        f'  {key}.data_root: folder not found: {str(root)!r}'
    ]
    root.mkdir()
    with pytest.raises(FileNotFoundError) as error:
        checks.check_data_paths(cfg, 'train')
    assert str(error.value).splitlines()[1:] == [
        f"  {key}.ann_file: file not found: {str(root / 'ann.json')!r}",
        f"  {key}.data_prefix.img: folder not found: "
        f"{str(root / 'images')!r}"
    ]
    (root / 'ann.json').write_text('{}')
    (root / 'images').mkdir()
    checks.check_data_paths(cfg, 'train')
    # remote paths are left to the dataset
    cfg.train_dataloader.dataset.dataset.data_root = 's3://bucket/root'
    checks.check_data_paths(cfg, 'train')


def _tool_error(tool, *args):
    """Run tools/TOOL.py, which must fail; returns its stderr."""
    proc = subprocess.run([sys.executable, f'tools/{tool}.py', *args],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode != 0, proc.stdout[-2000:]
    return proc.stderr


# (the --cfg-options given, how stderr starts, lines it holds)
TRAIN_REFUSALS = [
    (['train_cfg.max_epochs=1', 'train_dataloader.dataset.data_root={data}'
      ], 'error: the data of this train run is missing',
     ['train_dataloader.dataset.data_root: folder not found: {data!r}']),
    (['train_cfgg.max_epochs=1'],
     "error: --cfg-options train_cfgg.max_epochs=1: the config has no key "
     "'train_cfgg' (did you mean train_cfg?)", []),
    (['max_epochs=1'],
     "error: --cfg-options max_epochs=1: 'max_epochs' is a variable of the "
     'config files', [
         'train_cfg.max_epochs = max_epochs  (now 4)',
         'param_scheduler.1.end = max_epochs  (now 4)'
     ]),
]


@pytest.mark.parametrize('options, starts, contains', TRAIN_REFUSALS)
def test_train_refuses_bad_input_before_building(options, starts, contains,
                                                 tmp_path):
    data, work = str(tmp_path / 'no_data'), tmp_path / 'work'
    err = _tool_error('train', f'configs/{PRETRAIN}', '--work-dir', str(work),
                      '--cfg-options', *[o.format(data=data) for o in options])
    assert err.startswith(starts), err[-2000:]
    for text in contains:
        assert text.format(data=data) in err
    # a Runner would have made the work dir and its timestamped log folder
    assert not osp.exists(work)


def test_test_names_missing_svm_data_before_building(tmp_path):
    ckpt = tmp_path / 'empty.pth'
    torch.save({'state_dict': {}}, ckpt)
    missing = tmp_path / 'no_svm_data'
    work = tmp_path / 'work'
    err = _tool_error('test', f'configs/{PRETRAIN}', str(ckpt), '--work-dir',
                      str(work), '--cfg-options',
                      f'svm_test_dataloader.dataset.data_root={missing}')
    assert err.startswith(
        'error: the data of this test run is missing'), err[-2000:]
    assert ('svm_test_dataloader.dataset.data_root: folder not found: '
            f'{str(missing)!r} (svm_test_dataloader is named by '
            'test_dataloader)') in err
    assert not osp.exists(work)

"""tools/fewshot.py: few-shot folds through the Runner, summarised as JSON.

Two folds of the synthetic few-shot config with a tiny model for one epoch
(CPU), from a checkpoint of random weights; the bad-input checks run in
process and build nothing.
"""
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys

import pytest
import torch
from mmdet3d.registry import MODELS
from mmengine.config import Config

from projects.I2PMAE.i2pmae.synthetic import SYNTHETIC_LAYOUT
from tools import fewshot

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/i2pmae_fewshot_synthetic_modelnet40.py'
TINY_MODEL = {
    'model.tokenizer.num_groups': [32, 16, 8],
    'model.backbone.depths': [1, 1, 1],
}
POINTS = 256


def tiny_options(data_root):
    """--cfg-options for a tiny model on 256-point clouds without workers."""
    options = [f'{k}={v}'.replace(' ', '') for k, v in TINY_MODEL.items()]
    options += [
        'train_cfg.max_epochs=1',
        # the data preprocessor's FPS to 256 of 300 candidates (training),
        # to 256 (testing)
        f'data_preprocessor.point_sampler.num_points={POINTS}',
        'data_preprocessor.point_sampler.num_candidates=300',
    ]
    return options + [
        f'{loader}_dataloader.{option}' for loader in ('train', 'val', 'test')
        for option in ('num_workers=0', f'dataset.data_root={data_root}')
    ]


@pytest.fixture(scope='module')
def fewshot_root(synthetic_data):
    """Two folds per setting, 2 query shapes per class, 300 points."""
    root = synthetic_data(['fewshot'],
                          fewshot_points=300,
                          fewshot_folds=2,
                          fewshot_queries=2)
    return osp.join(root, SYNTHETIC_LAYOUT['fewshot'])


@pytest.fixture(scope='module')
def random_checkpoint(tmp_path_factory):
    """A checkpoint of the tiny classifier with random weights."""
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    cfg.merge_from_dict(TINY_MODEL)
    model = MODELS.build(cfg.model)
    path = tmp_path_factory.mktemp('ckpt') / 'random.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path)


def run_tool(cmd):
    """Run ``cmd`` in the repository; its output (it must succeed)."""
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    return log


def test_two_folds_give_per_fold_results_and_mean_std(fewshot_root,
                                                      random_checkpoint,
                                                      tmp_path):
    work = tmp_path / 'work'
    cmd = [
        sys.executable, 'tools/fewshot.py', CONFIG, '--way', '5', '--shot',
        '10', '--folds', '0-1', '--load-from', random_checkpoint, '--work-dir',
        str(work), '--cfg-options'
    ] + tiny_options(fewshot_root)
    log = run_tool(cmd)
    # progress over folds, each fold from the checkpoint
    assert 'few-shot 5-way 10-shot: fold 1 (2/2) in ' in log
    assert log.count(f'Load checkpoint from {random_checkpoint}') == 2
    assert re.search(
        r'fold 0: accuracy/top1 last [0-9.]+ @ 1 \| 1/2 folds '
        r'done', log), log[-3000:]
    setting = work / '5way_10shot'
    saved = json.loads((setting / 'fewshot.json').read_text())
    assert saved['complete'] is True
    assert (saved['way'], saved['shot']) == (5, 10)
    assert saved['load_from'] == random_checkpoint
    assert saved['reported'].startswith('last: the test-split accuracy after '
                                        'the last epoch')
    assert [f['fold'] for f in saved['folds']] == [0, 1]
    accuracies = []
    for fold in saved['folds']:
        fold_dir = setting / f'fold_{fold["fold"]}'
        # each fold logged into its own work dir
        assert fold['scalars'].startswith(str(fold_dir) + os.sep)
        metric = fold['metrics']['accuracy/top1']
        assert metric['last_step'] == 1 and metric['num_evaluations'] == 1
        # the value the fold's own log printed for its test split
        (run_log, ) = fold_dir.glob('2*/2*.log')
        logged = re.findall(
            r'Epoch\(val\) \[1\]\[\d+/\d+\]\s+'
            r'accuracy/top1: ([0-9.]+)', run_log.read_text())
        assert logged and metric['last'] == pytest.approx(
            float(logged[-1]), abs=1e-4)
        # 5 classes x 2 queries: a multiple of 10%
        assert metric['last'] % 10 == pytest.approx(0, abs=1e-4)
        accuracies.append(metric['last'])
        # the fold's episode reached its datasets
        fold_cfg = Config.fromfile(str(fold_dir / osp.basename(CONFIG)))
        for loader in ('train', 'val', 'test'):
            dataset = fold_cfg[f'{loader}_dataloader'].dataset
            assert (dataset.way, dataset.shot, dataset.fold) == (5, 10,
                                                                 fold['fold'])
    last = saved['summary']['accuracy/top1']['last']
    assert last['values'] == accuracies
    assert last['mean'] == pytest.approx(statistics.mean(accuracies))
    assert last['std'] == pytest.approx(statistics.stdev(accuracies))
    assert 'best (selected on the same split: optimistic)' in log
    assert '| mean ± std (n=2) |' in log
    assert not [p for p in os.listdir(setting) if p.endswith('.tmp')]

    # --resume: finished folds are not trained again, same results
    log = run_tool(cmd + ['--resume'])
    assert log.count('resumed epoch: 1, iter: ') == 2
    assert 'Epoch(train)' not in log and 'Epoch(val)' not in log
    again = json.loads((setting / 'fewshot.json').read_text())
    assert again['folds'] == saved['folds']
    assert again['summary'] == saved['summary']


@pytest.mark.parametrize(
    'config, extra, message', [
        ('configs/i2pmae_finetune_synthetic_modelnet40.py', [],
         "train_dataloader.dataset (type 'ModelNet40Dataset') has no "
         "['way', 'shot', 'fold']: not a few-shot config"),
        (CONFIG, ['--folds', '1-3'], '2 few-shot episode file(s) not found: '
         '{root}/5way_10shot/2.pkl, {root}/5way_10shot/3.pkl'),
        (CONFIG, ['--way', '17'], '--way 17 is more than the 16 outputs of '
         'model.head.num_classes'),
        (CONFIG, ['--load-from', '{tmp}/missing.pth'], 'checkpoint not found'),
        (CONFIG, ['--cfg-options', 'model.head.num_clases=3'
                  ], 'model.head.num_clases'),
    ],
    ids=['not-fewshot', 'missing-folds', 'way', 'checkpoint', 'option'])
def test_bad_inputs_are_named_before_training(fewshot_root, tmp_path, config,
                                              extra, message):
    args = [config, '--way', '5', '--shot', '10', '--folds', '0'] + [
        a.format(tmp=tmp_path) for a in extra
    ] + ['--work-dir', str(tmp_path / 'work'), '--cfg-options'
         ] + tiny_options(fewshot_root)
    with pytest.raises(SystemExit) as exc:
        fewshot.main(args)
    assert str(exc.value).startswith('error: ')
    assert message.format(root=fewshot_root, tmp=tmp_path) in str(exc.value)
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize(
    'extra, message', [
        (['--folds', '3-1'], "bad fold range '3-1'"),
        (['--shot', '0'], '--shot must be positive'),
        (['--metric', '('], "--metric '(' is not a regular expression"),
        (['--cfg-options', 'train_dataloader.dataset.fold=4'
          ], "must not set ['train_dataloader.dataset.fold']"),
    ],
    ids=['folds', 'shot', 'metric', 'episode-option'])
def test_bad_arguments(capsys, extra, message):
    argv = [CONFIG, '--way', '5', '--shot', '10'] + extra
    with pytest.raises(SystemExit):
        fewshot.main(argv)
    assert message in capsys.readouterr().err

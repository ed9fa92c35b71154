"""tools/analysis_tools: reading runs' scalars.json and mean ± std over seeds.

Fabricated mmengine logs, and one tiny two-seed ``seed_table.py run`` (CPU).
"""
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys

import pytest

from tools.analysis_tools import seed_table
from tools.analysis_tools.index_ranges import parse_index_ranges
from tools.analysis_tools.multi_run_summary import (BEST, LAST, TEST,
                                                    aggregate_runs,
                                                    format_mean_std,
                                                    markdown_table, mean_std)
from tools.analysis_tools.run_metrics import (latest_scalars_file,
                                              read_run_metrics, read_scalars,
                                              summarize_run)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BEST_LABEL = 'best (selected on the same split: optimistic)'
STAMP = '20260101_100000'  # the timestamp folder of a run


def train_line(epoch, it):
    """A training record as mmengine's LoggerHook writes it."""
    return dict(lr=1e-4, loss=1.0, time=0.5, epoch=epoch, iter=it, step=it)


def val_line(epoch, **metrics):
    """A validation record (``step`` is the epoch)."""
    return dict(metrics, data_time=0.1, time=0.2, step=epoch)


def write_run(work_dir, records, timestamp=STAMP, log_text='', raw=None):
    """Fabricate ``work_dir/<timestamp>/vis_data/scalars.json`` (and log).

    Returns:
        str: The scalars.json path.
    """
    run = osp.join(str(work_dir), timestamp)
    os.makedirs(osp.join(run, 'vis_data'), exist_ok=True)
    path = osp.join(run, 'vis_data', 'scalars.json')
    if raw is None:
        raw = ''.join(json.dumps(record) + '\n' for record in records)
    with open(path, 'w') as f:
        f.write(raw)
    with open(osp.join(run, timestamp + '.log'), 'w') as f:
        f.write(log_text)
    return path


def write_final_test(work_dir, metrics, timestamp=STAMP):
    """What LoggerHook dumps after a test loop run inside training."""
    path = osp.join(str(work_dir), timestamp, timestamp + '.json')
    with open(path, 'w') as f:
        json.dump(dict(metrics, data_time=0.1, time=0.3), f)
    return path


def finetune_records(accuracies):
    """Training lines then one validation per epoch with these accuracies."""
    records = []
    for epoch, acc in enumerate(accuracies, start=1):
        records.append(train_line(epoch, epoch * 4))
        records.append(val_line(epoch, **{'accuracy/top1': acc}))
    return records


def test_summarize_run_last_and_best():
    records = finetune_records([20.0, 35.0, 35.0, 30.0])
    summary = summarize_run(records)
    assert list(summary) == ['accuracy/top1']
    metric = summary['accuracy/top1']
    assert metric == dict(
        last=30.0, last_step=4, best=35.0, best_step=2, num_evaluations=4)
    # the pattern is searched: 'accuracy' also takes svm/accuracy
    records.append(val_line(4, **{'svm/accuracy': 80.0, 'svm/C': 0.1}))
    assert set(summarize_run(records,
                             'accuracy')) == {'accuracy/top1', 'svm/accuracy'}
    svm = summarize_run(records, 'svm/accuracy')
    assert list(svm) == ['svm/accuracy']
    assert svm['svm/accuracy']['last'] == 80.0


def test_summarize_run_names_what_is_wrong(tmp_path):
    records = [train_line(1, 4)] + [val_line(1, **{'svm/accuracy': 70.0})]
    assert summarize_run(records) == {}
    path = write_run(tmp_path, records)
    with pytest.raises(
            ValueError,
            match=re.escape(path) + r": no logged key matches "
            r"the metric pattern 'accuracy/top1'; keys there: "
            r"\[.*'svm/accuracy'"):
        read_run_metrics(str(tmp_path))
    with pytest.raises(ValueError, match=r"pattern '\(' is not a regular"):
        summarize_run(records, '(')
    bad = [val_line(3, **{'accuracy/top1': 'n/a'})]
    with pytest.raises(
            ValueError,
            match=r"run.json: 'accuracy/top1' at step 3 is not a number"):
        summarize_run(bad, source='run.json')


def test_final_test_is_read_beside_the_validations(tmp_path):
    work = tmp_path / 'seed_0'
    write_run(work, finetune_records([40.0, 50.0]))
    test_file = write_final_test(work, {
        'accuracy/top1': 47.5,
        'vote/accuracy/top1': 48.0,
        'accuracy/top5': 90.0
    })
    run = read_run_metrics(str(work))
    assert run['test_file'] == test_file
    # the pattern is searched: the vote accuracy matches accuracy/top1
    assert run['test'] == {'accuracy/top1': 47.5, 'vote/accuracy/top1': 48.0}
    assert run['metrics']['accuracy/top1']['last'] == 50.0
    # a run that scored only a test split is read too
    only_test = tmp_path / 'only_test'
    write_run(only_test, [train_line(1, 4)])
    write_final_test(only_test, {'accuracy/top1': 1.0})
    assert read_run_metrics(str(only_test))['metrics'] == {}
    plain = tmp_path / 'plain'
    write_run(plain, finetune_records([40.0]))
    assert read_run_metrics(str(plain))['test'] == {}
    assert read_run_metrics(str(plain))['test_file'] is None
    # a run without the final test the others have is named
    runs = [read_run_metrics(str(work)), read_run_metrics(str(plain))]
    with pytest.raises(
            ValueError,
            match=r"run plain \(.*\) logged no final test of "
            r"\['accuracy/top1', 'vote/accuracy/top1'\]"):
        aggregate_runs(runs, ['seed_0', 'plain'])
    # a test file that is not a dict of metrics is named
    with open(test_file, 'w') as f:
        f.write('[1, 2]')
    with pytest.raises(
            ValueError,
            match=re.escape(test_file) + ': expected the JSON '
            'dict of a test loop'):
        read_run_metrics(str(work))


def test_table_has_a_test_column_per_test_key(tmp_path):
    runs = []
    for seed, (accs, test) in enumerate([([30.0, 40.0], 38.0),
                                         ([50.0, 45.0], 44.0)]):
        work = tmp_path / f'seed_{seed}'
        write_run(work, finetune_records(accs))
        write_final_test(work, {
            'accuracy/top1': test,
            'vote/accuracy/top1': test + 1
        })
        runs.append(read_run_metrics(str(work)))
    names = ['seed_0', 'seed_1']
    summary = aggregate_runs(runs, names)
    assert summary['accuracy/top1'][TEST]['values'] == [38.0, 44.0]
    assert set(summary['vote/accuracy/top1']) == {TEST}
    table = markdown_table(runs, names, summary, digits=1).splitlines()
    assert table[0] == (
        '| run | accuracy/top1 last | accuracy/top1 '
        f'{BEST_LABEL} | accuracy/top1 test (after training, scored once) | '
        'vote/accuracy/top1 test (after training, scored once) |')
    assert table[2] == '| seed_0 | 40.0 @ 2 | 40.0 @ 2 | 38.0 | 39.0 |'
    assert table[4] == ('| mean ± std (n=2) | 42.5 ± 3.5 | 45.0 ± 7.1 | '
                        '41.0 ± 4.2 | 42.0 ± 4.2 |')
    assert 'test: the test split scored once after the last epoch' in \
        '\n'.join(table)


def test_latest_run_of_a_work_dir(tmp_path):
    work = tmp_path / 'seed_0'
    write_run(work, finetune_records([10.0]))
    newer = write_run(work, finetune_records([50.0]), '20260102_090000')
    # a test run (no scalars.json) and an unrelated folder are not runs
    os.makedirs(work / '20260103_080000' / 'vis_data')
    os.makedirs(work / 'zzz_other' / 'vis_data')
    assert latest_scalars_file(str(work)) == newer
    run = read_run_metrics(str(work))
    assert run['scalars'] == newer
    assert run['metrics']['accuracy/top1']['last'] == 50.0
    assert run['resumed_from_epoch'] is None


def test_a_resumed_run_is_flagged(tmp_path):
    work = tmp_path / 'seed_1'
    write_run(
        work,
        finetune_records([10.0, 20.0])[2:],
        log_text='11/26 08:00:00 - mmengine - INFO - resumed epoch: 1, '
        'iter: 4\n')
    run = read_run_metrics(str(work))
    assert run['resumed_from_epoch'] == 1
    table = markdown_table([run], ['seed_1'], aggregate_runs([run],
                                                             ['seed_1']))
    assert 'Resumed runs (their best covers only the epochs after the ' \
        'resume): seed_1 (from epoch 1)' in table


@pytest.mark.parametrize(
    'content, message', [
        ('{"step": 1, "loss": 1.0}\n{"step": 2, "lo', r'line 2: not JSON'),
        ('{"loss": 1.0}\n', r'line 1: expected a JSON dict with an integer '
         r'"step"'),
        ('[1, 2]\n', r'line 1: expected a JSON dict'),
    ],
    ids=['truncated', 'no-step', 'not-a-dict'])
def test_read_scalars_names_file_and_line(tmp_path, content, message):
    path = write_run(tmp_path, None, raw=content)
    with pytest.raises(ValueError, match=re.escape(path) + '.*' + message):
        read_scalars(path)


def test_work_dir_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='work dir not found: '):
        latest_scalars_file(str(tmp_path / 'missing'))
    os.makedirs(tmp_path / 'empty' / STAMP / 'vis_data')
    with pytest.raises(
            FileNotFoundError,
            match=re.escape(f'no run with logged scalars in '
                            f'{tmp_path / "empty"}')):
        latest_scalars_file(str(tmp_path / 'empty'))


def test_mean_std_is_the_sample_std():
    stats = mean_std([25.0, 23.3, 23.3])
    assert stats['n'] == 3
    assert stats['mean'] == pytest.approx(23.8666667)
    # sqrt(((1.1333)^2 + 2 * (0.5667)^2) / 2)
    assert stats['std'] == pytest.approx(0.9814955, rel=1e-6)
    assert stats['std'] == pytest.approx(statistics.stdev([25.0, 23.3, 23.3]))
    assert format_mean_std(stats) == '23.87 ± 0.98'
    single = mean_std([31.25])
    assert single['std'] is None
    assert format_mean_std(single, 1) == '31.2 (n=1)'
    with pytest.raises(ValueError, match='at least one value'):
        mean_std([])


def test_aggregate_and_table(tmp_path):
    curves = {
        'seed_0': [20.0, 40.0, 30.0],
        'seed_1': [25.0, 30.0, 35.0],
        'seed_2': [50.0, 20.0, 20.0],
    }
    runs = []
    for name, accs in curves.items():
        write_run(tmp_path / name, finetune_records(accs))
        runs.append(read_run_metrics(str(tmp_path / name)))
    summary = aggregate_runs(runs, list(curves))
    last = summary['accuracy/top1'][LAST]
    best = summary['accuracy/top1'][BEST]
    assert last['values'] == [30.0, 35.0, 20.0]
    assert best['values'] == [40.0, 35.0, 50.0]
    assert last['mean'] == pytest.approx(28.333333)
    assert last['std'] == pytest.approx(statistics.stdev([30, 35, 20]))
    assert best['std'] == pytest.approx(statistics.stdev([40, 35, 50]))
    table = markdown_table(runs, list(curves), summary, 'run', digits=1)
    lines = table.splitlines()
    assert lines[0] == (f'| run | accuracy/top1 last | accuracy/top1 '
                        f'{BEST_LABEL} |')
    assert lines[2] == '| seed_0 | 30.0 @ 3 | 40.0 @ 2 |'
    assert lines[4] == '| seed_2 | 20.0 @ 3 | 50.0 @ 1 |'
    assert lines[5] == '| mean ± std (n=3) | 28.3 ± 7.6 | 41.7 ± 7.6 |'
    assert 'not an unbiased result' in table
    # a run without a key the others have is named
    write_run(tmp_path / 'svm',
              finetune_records([10.0]) + [val_line(1, **{'svm/accuracy': 1})])
    svm_run = read_run_metrics(str(tmp_path / 'svm'), 'accuracy')
    with pytest.raises(
            ValueError,
            match=r"run seed_0 \(.*scalars.json\) logged no "
            r"validation of \['svm/accuracy'\]"):
        aggregate_runs([runs[0], svm_run], ['seed_0', 'svm'])


def test_read_command_prints_table_and_writes_json(tmp_path, capsys):
    root = tmp_path / 'sweep'
    for seed, accs in enumerate([[60.0, 70.0], [65.0, 62.0]]):
        records = finetune_records(accs)
        records.append(val_line(2, **{'svm/accuracy': 80.0 + seed}))
        write_run(root / f'seed_{seed}', records)
    result = seed_table.main([
        'read',
        str(root / 'seed_0'),
        str(root / 'seed_1'), '--metric', 'accuracy'
    ])
    out = capsys.readouterr().out
    assert '| seed_1 | 62.00 @ 2 | 65.00 @ 1 | 81.00 @ 2 | 81.00 @ 2 |' in out
    assert '| mean ± std (n=2) | 66.00 ± 5.66 | 67.50 ± 3.54 | ' \
        '80.50 ± 0.71 | 80.50 ± 0.71 |' in out
    json_path = root / 'seed_table.json'
    assert f'written to {json_path}' in out
    saved = json.loads(json_path.read_text())
    assert saved == json.loads(json.dumps(result))
    assert [r['name'] for r in saved['runs']] == ['seed_0', 'seed_1']
    top1 = saved['summary']['accuracy/top1']
    assert top1['last']['values'] == [70.0, 62.0]
    assert top1['best_selected_on_same_split']['values'] == [70.0, 65.0]
    assert saved['columns']['best_selected_on_same_split'] == BEST_LABEL
    assert 'ddof=1' in saved['std']
    # no temporary file is left beside the JSON
    assert sorted(os.listdir(root)) == ['seed_0', 'seed_1', 'seed_table.json']


@pytest.mark.parametrize(
    'argv, message', [
        (['read', '{tmp}/missing'
          ], 'error: work dir not found: {tmp}/missing'),
        (['read', '{tmp}/runs', '--metric', 'top5'],
         'error: {tmp}/runs/20260101_100000/vis_data/scalars.json: no logged '
         "key matches the metric pattern 'top5'"),
    ],
    ids=['missing', 'no-key'])
def test_read_command_errors(tmp_path, argv, message):
    write_run(tmp_path / 'runs', finetune_records([1.0]))
    with pytest.raises(SystemExit) as exc:
        seed_table.main([a.format(tmp=tmp_path) for a in argv])
    assert str(exc.value).startswith(message.format(tmp=tmp_path))


@pytest.mark.parametrize(
    'extra, message', [
        (['--seeds', '2-1'], "bad seed range '2-1'"),
        (['--seeds', 'x'], "bad seed 'x'"),
        (['--seeds', '0', '0-1'], 'seed 0 is given twice'),
        (['--seeds', '0', '--metric', '['
          ], "--metric '[' is not a regular expression"),
        (['--seeds', '0', '--cfg-options', 'randomness.seed=3'
          ], 'must not set randomness.seed'),
    ],
    ids=['range', 'word', 'twice', 'metric', 'seed-option'])
def test_run_command_bad_arguments(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit):
        seed_table.main([
            'run', 'configs/i2pmae_finetune_synthetic_scanobjectnn.py',
            '--work-root',
            str(tmp_path)
        ] + extra)
    assert message in capsys.readouterr().err
    assert not os.listdir(tmp_path)


def test_index_ranges():
    assert parse_index_ranges(['0-2,7', '9']) == [0, 1, 2, 7, 9]
    assert parse_index_ranges(['3']) == [3]


def test_run_command_trains_each_seed(tmp_path, synthetic_data):
    """Two tiny fine-tuning runs through tools/train.py, then the table; the
    added ``FinalTestHook`` scores the test split (the validation clouds in
    the synthetic config) again after training, with the same weights."""
    data = synthetic_data(['scanobjectnn'],
                          per_class=1,
                          test_per_class=1,
                          num_points=512)
    config = tmp_path / 'final_test.py'
    config.write_text(
        '_base_ = [' + repr(
            osp.join(REPO, 'configs',
                     'i2pmae_finetune_synthetic_scanobjectnn.py')) + ']\n'
        "custom_hooks = _base_.custom_hooks + [dict(type='FinalTestHook')]\n")
    scan = osp.join(data, 'ScanObjectNN')
    options = [
        'model.tokenizer.num_groups=[32,16,8]',
        'model.backbone.depths=[1,1,1]', 'train_cfg.max_epochs=1'
    ]
    options += [
        f'{loader}_dataloader.{option}' for loader in ('train', 'val', 'test')
        for option in ('batch_size=8', 'num_workers=0',
                       f'dataset.data_root={scan}')
    ]
    root = tmp_path / 'seeds'
    proc = subprocess.run(
        [
            sys.executable, 'tools/analysis_tools/seed_table.py', 'run',
            str(config), '--seeds', '3-4', '--work-root',
            str(root), '--cfg-options'
        ] + options,
        cwd=REPO,
        capture_output=True,
        text=True)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'seed_table: seed 4 (2/2) in ' in log
    saved = json.loads((root / 'seed_table.json').read_text())
    assert saved['seeds'] == [3, 4]
    accuracy = r'\[\d+/\d+\]\s+accuracy/top1: ([0-9.]+)'
    logged = [
        float(a) for a in re.findall(r'Epoch\(val\) \[1\]' + accuracy, log)
    ]
    tested = [float(a) for a in re.findall(r'Epoch\(test\) ' + accuracy, log)]
    assert len(logged) == 2 and len(tested) == 2, log[-3000:]
    for seed, run, acc, test in zip((3, 4), saved['runs'], logged, tested):
        work = root / f'seed_{seed}'
        assert run['name'] == f'seed_{seed}'
        assert run['scalars'].startswith(str(work) + os.sep)
        # the seed reached the run: the config the Runner saved has it
        assert re.search(rf'seed={seed}\b',
                         (work / 'final_test.py').read_text())
        metric = run['metrics']['accuracy/top1']
        assert metric['last'] == pytest.approx(acc, abs=1e-4)
        assert metric['last_step'] == 1 and metric['num_evaluations'] == 1
        assert run['test']['accuracy/top1'] == pytest.approx(test, abs=1e-4)
        # same weights, same clouds
        assert run['test']['accuracy/top1'] == pytest.approx(metric['last'])
    top1 = saved['summary']['accuracy/top1']
    assert top1['last']['mean'] == pytest.approx(
        statistics.mean(logged), abs=1e-4)
    assert top1['last']['std'] == pytest.approx(
        statistics.stdev(logged), abs=1e-4)
    assert top1['test']['values'] == pytest.approx(tested, abs=1e-4)
    assert '| mean ± std (n=2) |' in log
    assert 'accuracy/top1 test (after training, scored once)' in log

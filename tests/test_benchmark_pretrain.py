"""tools/benchmark.py pretrain prints its tables and nothing per parameter."""
import os.path as osp
import re
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools'))

import benchmark  # noqa: E402


def test_pretrain_benchmark_tables(capsys):
    benchmark.main([
        'pretrain', '--config',
        osp.join(REPO, 'configs', 'i2pmae_pretrain_synthetic.py'),
        '--batch-size', '2', '--steps', '1', '--warmup', '0', '--cfg-options',
        'model.teacher.vision_cfg.layers=1'
    ])
    out = capsys.readouterr()
    text = out.out + out.err
    # mmengine's per-parameter initialisation report stays off the console
    assert 'TruncNormalInit' not in text and len(text.splitlines()) < 50
    stages = ('tokenizer', 'projection', 'teacher', 'masking', 'encoder',
              'decoder', 'loss', 'backward', 'optimizer')
    times = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^(\w+) +([\d.]+) +[\d.]+%$', out.out, re.M)
    }
    assert set(times) == set(stages)
    total = float(re.search(r'^step total +([\d.]+)$', out.out, re.M)[1])
    assert sum(times.values()) <= total * 1.001
    overhead = re.search(r'overhead .*: ([\d.]+) ms = ([\d.]+)% of the step',
                         out.out)
    network = sum(times[k] for k in ('teacher', 'encoder', 'decoder', 'loss',
                                     'backward'))
    assert abs(float(overhead[1]) - (total - network)) < 0.2
    memory = re.findall(r'^(\w+) +(\d+) +(\d+) +(-?\d+)$', out.out, re.M)
    assert [row[0] for row in memory][:2] == ['tokenizer', 'projection']
    assert {row[0] for row in memory} == set(stages)
    assert re.search(r'kept for backward after the loss: \d+ MiB', out.out)
    assert re.search(r'peak process RSS: \d+ MiB', out.out)

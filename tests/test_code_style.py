"""The repository passes the OpenMMLab lint settings in setup.cfg."""
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TARGETS = ['projects', 'tools', 'tests', 'configs']


@pytest.mark.parametrize(
    'cmd', [
        ['flake8'] + TARGETS,
        ['isort', '--check-only', '--diff'] + TARGETS,
        ['yapf', '--diff', '--recursive'] + TARGETS,
    ],
    ids=['flake8', 'isort', 'yapf'])
def test_lint(cmd):
    proc = subprocess.run(
        [sys.executable, '-m'] + cmd, cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stdout.strip(), (
        proc.stdout[-3000:] + proc.stderr[-2000:])

"""Atomic checkpoint writes and resuming past corrupt checkpoints."""
import os
import os.path as osp

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import DataLoader, Dataset

from projects.I2PMAE.i2pmae.engine import (AtomicLocalBackend,
                                           CorruptCheckpointError,
                                           atomic_write, check_checkpoint_file,
                                           find_resumable_checkpoint)


def _failing_fsync(fd):
    raise OSError(28, 'No space left on device')


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / 'sub' / 'file.bin'
    atomic_write(b'first', target)
    atomic_write(b'second version', target)
    assert target.read_bytes() == b'second version'
    assert os.listdir(target.parent) == ['file.bin']


def test_failure_midway_leaves_no_file_under_the_final_name(
        tmp_path, monkeypatch):
    monkeypatch.setattr(os, 'fsync', _failing_fsync)
    target = tmp_path / 'epoch_1.pth'
    with pytest.raises(OSError, match='No space left'):
        atomic_write(b'x' * 1000, target)
    assert os.listdir(tmp_path) == []  # neither the file nor a temporary

    # an existing file is kept as it was
    monkeypatch.undo()
    atomic_write(b'old', target)
    monkeypatch.setattr(os, 'fsync', _failing_fsync)
    with pytest.raises(OSError):
        atomic_write(b'new', target)
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_backend_is_registered_and_atomic(tmp_path, monkeypatch):
    backend = get_file_backend(
        str(tmp_path), backend_args=dict(backend='atomic_local'))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put_text('hello', tmp_path / 'a.txt')
    backend.put(b'bytes', tmp_path / 'b.bin')
    assert backend.get_text(tmp_path / 'a.txt') == 'hello'
    assert backend.get(tmp_path / 'b.bin') == b'bytes'
    monkeypatch.setattr(os, 'replace', lambda *a: _failing_fsync(None))
    with pytest.raises(OSError):
        backend.put(b'new', tmp_path / 'c.bin')
    assert sorted(os.listdir(tmp_path)) == ['a.txt', 'b.bin']


def _save(path, value=1.0):
    torch.save(
        dict(
            meta=dict(epoch=int(value)),
            state_dict=dict(w=torch.full((64, 64), value))), path)
    return str(path)


def _truncate(path, keep=0.5):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * keep)])
    return str(path)


def test_check_checkpoint_file(tmp_path):
    good = _save(tmp_path / 'good.pth')
    assert check_checkpoint_file(good) == good
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        check_checkpoint_file(str(tmp_path / 'missing.pth'))
    bad = _truncate(_save(tmp_path / 'epoch_3.pth'))
    with pytest.raises(CorruptCheckpointError, match='epoch_3.pth'):
        check_checkpoint_file(bad)
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(CorruptCheckpointError, match='empty.pth'):
        check_checkpoint_file(str(empty))
    # a flipped byte inside the tensor data fails the archive's CRC check
    flipped = _save(tmp_path / 'flipped.pth')
    data = bytearray(open(flipped, 'rb').read())
    offset = data.index(b'\x00\x00\x80\x3f' * 8)  # float32 1.0s
    data[offset + 2] ^= 0xFF
    open(flipped, 'wb').write(bytes(data))
    with pytest.raises(CorruptCheckpointError, match='CRC'):
        check_checkpoint_file(flipped)


def test_find_resumable_checkpoint_skips_corrupt(tmp_path, capsys):
    assert find_resumable_checkpoint(str(tmp_path)) is None
    assert find_resumable_checkpoint(str(tmp_path / 'nope')) is None
    first = _save(tmp_path / 'epoch_1.pth', 1.0)
    second = _save(tmp_path / 'epoch_2.pth', 2.0)
    (tmp_path / 'last_checkpoint').write_text(second)
    assert find_resumable_checkpoint(str(tmp_path)) == second

    # killed while writing epoch_3 with a non-atomic writer
    third = _truncate(_save(tmp_path / 'epoch_3.pth', 3.0))
    (tmp_path / 'last_checkpoint').write_text(third)
    MMLogger.get_instance('test_find_resumable_checkpoint')
    assert find_resumable_checkpoint(str(tmp_path)) == second
    assert f'skipping {third}' in capsys.readouterr().out

    # last_checkpoint names a file that is gone; numbered files are searched
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'gone.pth'))
    assert find_resumable_checkpoint(str(tmp_path)) == second

    _truncate(second)
    _truncate(first)
    with pytest.raises(CorruptCheckpointError) as err:
        find_resumable_checkpoint(str(tmp_path))
    for path in (first, second, third):
        assert path in str(err.value)


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return out


class _ToyDataset(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        return dict(inputs=torch.full((2, ), float(idx)))


def _runner(work_dir, max_epochs, name, resume_from=None):
    return Runner(
        model=_ToyModel(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=DataLoader(_ToyDataset(), batch_size=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(
            checkpoint=dict(
                type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2)),
        default_scope='mmdet3d',
        resume=resume_from is not None,
        load_from=resume_from)


def test_atomic_checkpoint_hook(tmp_path, monkeypatch):
    runner = _runner(tmp_path, 3, 'atomic_hook_run')
    runner.train()
    names = sorted(os.listdir(tmp_path))
    assert [n for n in names
            if n.endswith('.pth')] == ['epoch_2.pth', 'epoch_3.pth']
    assert not [n for n in names if n.endswith('.tmp')]
    last = (tmp_path / 'last_checkpoint').read_text()
    assert osp.samefile(last, tmp_path / 'epoch_3.pth')
    state = torch.load(last, map_location='cpu', weights_only=True)
    assert state['meta']['epoch'] == 3
    assert state['message_hub']['runtime_info']['keep_ckpt_ids'] == [2, 3]

    # the disk fills up while epoch 4 is saved: epoch_4.pth never appears,
    # last_checkpoint still names epoch 3 and epoch 2 is not deleted early
    calls = dict(n=0)
    real_fsync = os.fsync

    def fail_on_checkpoint(fd):
        calls['n'] += 1
        if calls['n'] == 1:
            raise OSError(28, 'No space left on device')
        real_fsync(fd)

    runner = _runner(tmp_path, 4, 'atomic_hook_resume', resume_from=last)
    monkeypatch.setattr(os, 'fsync', fail_on_checkpoint)
    with pytest.raises(OSError, match='No space left'):
        runner.train()
    names = sorted(os.listdir(tmp_path))
    assert [n for n in names
            if n.endswith('.pth')] == ['epoch_2.pth', 'epoch_3.pth']
    assert not [n for n in names if n.endswith('.tmp') or 'epoch_4' in n]
    assert osp.samefile((tmp_path / 'last_checkpoint').read_text(),
                        tmp_path / 'epoch_3.pth')
    assert find_resumable_checkpoint(str(tmp_path)) == last

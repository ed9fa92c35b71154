"""pretrain: time and peak memory of one I2P-MAE pretraining step.

Builds the model of a config, feeds random unit-sphere clouds and times
forward + backward + AdamW, split across tokenizer, projection (incl.
back-projection), teacher, masking, encoder, decoder and losses. Prints the
overhead beyond the teacher and the 3D network, and where the peak memory
comes from: the live memory entering and leaving each stage of the
warm-up step and how far each stage raised the peak. On CUDA it counts the
device-to-host synchronisations of one training step.
"""
import argparse
import collections
import contextlib
import ctypes
import ctypes.util
import resource
import time
import warnings
from typing import Optional

import torch
from mmengine.config import DictAction

from ._shared import random_unit_clouds, synchronize


class StageTimer:
    """``timer(name)`` is a context manager adding elapsed time to ``name``.

    Args:
        device (torch.device): synchronised before reading the clock.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.totals = collections.defaultdict(float)

    @contextlib.contextmanager
    def __call__(self, name: str):
        synchronize(self.device)
        start = time.perf_counter()
        try:
            yield
        finally:
            synchronize(self.device)
            self.totals[name] += time.perf_counter() - start


class StageMemory:
    """``memory(name)`` records live memory and peak growth of a stage.

    On CPU the live memory is the resident set size after returning freed
    heap pages to the system (glibc ``malloc_trim``), on CUDA the allocated
    bytes; the peak is the process peak RSS or the CUDA allocator's peak.

    Args:
        device (torch.device): the device the model runs on.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.rows = []
        libc = ctypes.util.find_library('c')
        self._trim = getattr(ctypes.CDLL(libc), 'malloc_trim',
                             None) if libc else None

    def live(self) -> float:
        """Live memory in MiB (see the class docstring)."""
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            return torch.cuda.memory_allocated(self.device) / 2**20
        if self._trim is not None:
            self._trim(0)
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20

    @contextlib.contextmanager
    def __call__(self, name: str):
        live_in, peak_in = self.live(), _peak_memory_mib(self.device)
        yield
        peak_out = _peak_memory_mib(self.device)
        self.rows.append((name, live_in, self.live(), peak_out - peak_in))


def add_model_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """Options that pick and build the measured model.

    ``--config``, ``--device``, ``--pretrained-teacher`` and
    ``--cfg-options``, read by :func:`build_model`.

    Args:
        parser (argparse.ArgumentParser): the mode's parser.
        what (str): what the config's model is measured for (its help).
    """
    parser.add_argument(
        '--config',
        default='configs/i2pmae_pretrain.py',
        help=f'pretraining config whose {what}')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--pretrained-teacher',
        action='store_true',
        help="load the config's teacher weights instead of a random "
        'teacher of the same architecture')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='config overrides, e.g. model.backbone.with_cp=True')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``pretrain`` mode."""
    add_model_arguments(parser, 'model is measured')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-points', type=int, default=2048)
    parser.add_argument('--steps', type=int, default=3, help='timed steps')
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps')


def build_model(config: str, pretrained_teacher: bool, cfg_options=None):
    """Build the config's model (teacher randomly initialised by default)."""
    from mmdet3d.registry import MODELS
    from mmengine.config import Config

    import projects.I2PMAE.i2pmae  # noqa: F401
    from projects.I2PMAE.i2pmae.utils.quiet_init import init_weights_quietly
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.model.get('teacher') and not pretrained_teacher:
        cfg.model.teacher.pretrained = None
    model = MODELS.build(cfg.model)
    init_weights_quietly(model)
    return model


def _peak_memory_mib(device: torch.device) -> float:
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2**20
    # peak resident set size of the process (Linux reports KiB)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _train_step(model, optimizer, pts, stage) -> None:
    """One forward + backward + AdamW step, each part inside ``stage``."""
    losses = model.forward_pretrain(pts, check_values=False)['losses']
    with stage('backward'):
        optimizer.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
    with stage('optimizer'):
        optimizer.step()


def _print_memory(memory: StageMemory, device: torch.device) -> None:
    """The per-stage memory table of the (untimed) first step."""
    print(f'memory of the first step (MiB; live = '
          f'{"allocated" if device.type == "cuda" else "RSS after trim"})')
    print(f'{"part":<12} {"live in":>9} {"live out":>9} {"peak rise":>10}')
    for name, live_in, live_out, rise in memory.rows:
        print(f'{name:<12} {live_in:9.0f} {live_out:9.0f} {rise:10.0f}')
    live = {name: out for name, _, out, _ in memory.rows}
    kept = live['loss'] - memory.rows[0][1]
    print(f'kept for backward after the loss: {kept:.0f} MiB over the '
          f'{memory.rows[0][1]:.0f} MiB before the step (weights, '
          'optimizer state, libraries)')


def count_host_syncs(model, optimizer, pts: torch.Tensor) -> Optional[int]:
    """Device-to-host synchronisations of one training step on CUDA.

    The step is the runner's: the data preprocessor (which checks the
    batch), the loss, backward and the optimizer. Every synchronising CUDA
    call (``item()``, ``nonzero()``, a copy to the host, ...) raises one
    warning under ``torch.cuda.set_sync_debug_mode('warn')``; they are
    counted.

    Args:
        model (I2PMAE): the model, on ``pts.device``.
        optimizer (torch.optim.Optimizer): its optimizer.
        pts (Tensor): ``[B, N, 3]`` clouds.

    Returns:
        int | None: the count; None when ``pts`` is not on a CUDA device.
    """
    if pts.device.type != 'cuda':
        return None
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        torch.cuda.set_sync_debug_mode('warn')
        try:
            data = model.data_preprocessor(dict(inputs=dict(points=pts)), True)
            losses = model.loss(data['inputs'])
            optimizer.zero_grad(set_to_none=True)
            sum(losses.values()).backward()
            optimizer.step()
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    return sum('synchroniz' in str(w.message) for w in caught)


def host_syncs_line(model, optimizer, pts: torch.Tensor) -> str:
    """The printed line of :func:`count_host_syncs`."""
    syncs = count_host_syncs(model, optimizer, pts)
    return 'host syncs/step: ' + ('not measured (CUDA only)'
                                  if syncs is None else str(syncs))


def run(args: argparse.Namespace) -> None:
    """Measure and print the tables."""
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build_model(args.config, args.pretrained_teacher,
                        args.cfg_options).to(device)
    model.train()
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-3)
    pts = random_unit_clouds(args.batch_size, args.num_points, device)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    # first step: memory per stage (untimed: trimming the heap costs time)
    memory = StageMemory(device)
    model.stage_timer = memory
    _train_step(model, optimizer, pts, memory)
    model.stage_timer = None
    timer = StageTimer(device)
    no_stage = lambda name: contextlib.nullcontext()  # noqa: E731
    step_times = []
    for step in range(args.warmup + args.steps):
        timed = step >= args.warmup
        model.stage_timer = timer if timed else None
        start = time.perf_counter()
        _train_step(model, optimizer, pts, timer if timed else no_stage)
        if timed:
            step_times.append(time.perf_counter() - start)
    model.stage_timer = None
    n = len(step_times)
    total = sum(step_times) / n
    print(f'config: {args.config}  batch: {args.batch_size}  points: '
          f'{args.num_points}  device: {device}  steps: {n}')
    print(f'{"part":<12} {"ms/step":>10} {"share":>7}')
    for name in ('tokenizer', 'projection', 'teacher', 'masking', 'encoder',
                 'decoder', 'loss', 'backward', 'optimizer'):
        ms = timer.totals.get(name, 0.0) / n * 1000
        print(f'{name:<12} {ms:10.1f} {ms / (total * 1000):7.1%}')
    print(f'{"step total":<12} {total * 1000:10.1f}')
    network = sum(
        timer.totals.get(k, 0.0)
        for k in ('teacher', 'encoder', 'decoder', 'loss', 'backward')) / n
    print(f'overhead beyond the teacher and the 3D network (tokenizer, '
          f'projection, masking, optimizer, untimed gaps): '
          f'{(total - network) * 1000:.1f} ms = {1 - network / total:.1%} '
          'of the step')
    _print_memory(memory, device)
    kind = 'peak CUDA allocated' if device.type == 'cuda' else (
        'peak process RSS')
    print(f'{kind}: {_peak_memory_mib(device):.0f} MiB')
    print(host_syncs_line(model, optimizer, pts))

"""pretrain: time and peak memory of one I2P-MAE pretraining step.

Builds the model of a config, feeds random unit-sphere clouds and times
forward + backward + AdamW, split across tokenizer, projection (incl.
back-projection), teacher, masking, encoder, decoder and losses.
"""
import argparse
import collections
import contextlib
import resource
import time

import torch


class StageTimer:
    """``timer(name)`` is a context manager adding elapsed time to ``name``.

    Args:
        device (torch.device): synchronised before reading the clock.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.totals = collections.defaultdict(float)

    def _sync(self) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)

    @contextlib.contextmanager
    def __call__(self, name: str):
        self._sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.totals[name] += time.perf_counter() - start


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``pretrain`` mode."""
    parser.add_argument(
        '--config',
        default='configs/i2pmae_pretrain.py',
        help='pretraining config whose model is measured')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-points', type=int, default=2048)
    parser.add_argument('--steps', type=int, default=3, help='timed steps')
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--pretrained-teacher',
        action='store_true',
        help="load the config's teacher weights instead of a random "
        'teacher of the same architecture')


def build_model(config: str, pretrained_teacher: bool):
    """Build the config's model (teacher randomly initialised by default)."""
    from mmdet3d.registry import MODELS
    from mmengine.config import Config

    import projects.I2PMAE.i2pmae  # noqa: F401
    cfg = Config.fromfile(config)
    if cfg.model.get('teacher') and not pretrained_teacher:
        cfg.model.teacher.pretrained = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _peak_memory_mib(device: torch.device) -> float:
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2**20
    # peak resident set size of the process (Linux reports KiB)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(args: argparse.Namespace) -> None:
    """Measure and print the table."""
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build_model(args.config, args.pretrained_teacher).to(device)
    model.train()
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-3)
    timer = StageTimer(device)
    pts = torch.randn(args.batch_size, args.num_points, 3, device=device)
    pts = pts / pts.norm(dim=-1, keepdim=True).amax(1, keepdim=True)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    step_times = []
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            # the warm-up's backward and optimizer times are dropped
            timer.totals.clear()
            model.stage_timer = timer
        start = time.perf_counter()
        losses = model.forward_pretrain(pts)['losses']
        with timer('backward'):
            optimizer.zero_grad(set_to_none=True)
            sum(losses.values()).backward()
        with timer('optimizer'):
            optimizer.step()  # the timer synchronises on leaving
        if step >= args.warmup:
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
    kind = 'peak CUDA allocated' if device.type == 'cuda' else (
        'peak process RSS')
    print(f'{kind}: {_peak_memory_mib(device):.0f} MiB')

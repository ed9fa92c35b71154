"""partseg: time and peak memory of one part-segmentation training step.

Builds the segmentor of a config, feeds random unit-sphere clouds with
random categories and part labels, and times the model's own loss path
(forward, backward, AdamW), split into tokenizer, encoder, decode head
(propagation to every point and the per-point MLP), loss, backward and
optimizer, so that the decode head's share is visible.
"""
import argparse
import time

import torch

# the pretrain mode's stage timer and peak-memory reading
from .pretrain import StageTimer
from .pretrain import _peak_memory_mib as peak_memory_mib

#: the options: name, type, default, help
OPTIONS = (
    ('--config', str, 'configs/i2pmae_partseg_shapenetpart.py',
     'part-segmentation config whose model is measured'),
    ('--batch-size', int, 16, None),
    ('--num-points', int, 2048, None),
    ('--steps', int, 3, 'timed steps'),
    ('--warmup', int, 1, 'untimed steps'),
    ('--seed', int, 0, None),
    ('--device', str, 'cuda' if torch.cuda.is_available() else 'cpu', None),
)
#: model attribute -> the stage its forward is timed as
STAGES = (('tokenizer', 'tokenizer'), ('backbone', 'encoder'), ('decode_head',
                                                                'decode head'))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the ``partseg`` mode to its sub-parser."""
    for name, kind, default, text in OPTIONS:
        parser.add_argument(name, type=kind, default=default, help=text)


def build_segmentor(config: str):
    """The config's model, initialised.

    Args:
        config (str): config path.

    Returns:
        nn.Module: the segmentor.
    """
    from mmdet3d.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import projects.I2PMAE.i2pmae  # noqa: F401  (registers the models)
    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def make_batch(model, batch_size: int, num_points: int,
               generator: torch.Generator) -> dict:
    """Random clouds with a random category and part labels of it.

    Args:
        model (nn.Module): the segmentor (its ``part_table`` gives the
            parts of each category).
        batch_size (int): clouds.
        num_points (int): points per cloud.
        generator (torch.Generator): the random source.

    Returns:
        dict: ``inputs`` and ``data_samples`` as the data preprocessor
        takes them.
    """
    from mmdet3d.structures import PointData
    from mmpretrain.structures import DataSample

    points = torch.randn(batch_size, num_points, 3, generator=generator)
    points /= points.norm(dim=-1, keepdim=True).amax(1, keepdim=True)
    num_categories = len(model.category_names)
    samples = []
    for i in range(batch_size):
        category = int(
            torch.randint(num_categories, (1, ), generator=generator))
        parts = model.part_table[category].nonzero().flatten().cpu()
        labels = parts[torch.randint(
            len(parts), (num_points, ), generator=generator)]
        sample = DataSample(metainfo=dict(category_id=category, sample_idx=i))
        sample.gt_pts_seg = PointData(pts_semantic_mask=labels)
        samples.append(sample)
    return dict(inputs=dict(points=points), data_samples=samples)


def _time_forward(module, timer: StageTimer, name: str) -> None:
    """Add the time of every ``module.forward`` call to ``name``.

    The instance's ``forward`` is wrapped (not a forward hook): the decode
    head's ``loss`` calls ``self.forward`` directly. ``del module.forward``
    restores it.
    """
    forward = module.forward

    def timed(*args, **kwargs):
        with timer(name):
            return forward(*args, **kwargs)

    module.forward = timed


def time_head_alone(model, data: dict, steps: int,
                    device: torch.device) -> float:
    """Milliseconds of the decode head's forward, loss and backward on
    fixed (detached) encoder outputs, the mean of ``steps`` runs after one
    warm-up.

    Args:
        model (nn.Module): the segmentor.
        data (dict): the preprocessed batch.
        steps (int): timed runs.
        device (torch.device): synchronised before reading the clock.

    Returns:
        float: ms per run.
    """
    samples = data['data_samples']
    with torch.no_grad():
        feats = model.head_inputs(data['inputs']['points'],
                                  [s.metainfo for s in samples])
    timer = StageTimer(device)
    for step in range(1 + steps):
        if step == 1:
            timer.totals.clear()
        with timer('head'):
            logits = model.decode_head(feats)
            loss = model.decode_head.loss_by_feat(logits, samples)
            sum(loss.values()).backward()
    return timer.totals['head'] / max(steps, 1) * 1000


def run(args: argparse.Namespace) -> None:
    """Measure and print the table."""
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    model = build_segmentor(args.config).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    data = model.data_preprocessor(
        make_batch(model, args.batch_size, args.num_points,
                   torch.Generator().manual_seed(args.seed)), True)
    timer = StageTimer(device)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    step_times = []
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            timer.totals.clear()
            for attr, name in STAGES:
                _time_forward(getattr(model, attr), timer, name)
        start = time.perf_counter()
        with timer('forward'):
            losses = model(**data, mode='loss')
        with timer('backward'):
            optimizer.zero_grad(set_to_none=True)
            sum(losses.values()).backward()
        with timer('optimizer'):
            optimizer.step()
        if step >= args.warmup:
            step_times.append(time.perf_counter() - start)
    for attr, _ in STAGES:
        del getattr(model, attr).forward
    head_ms = time_head_alone(model, data, args.steps, device)
    n = len(step_times)
    total = sum(step_times) / n * 1000
    stages = {name: timer.totals[name] / n * 1000 for _, name in STAGES}
    stages['loss and checks'] = (
        timer.totals['forward'] / n * 1000 - sum(stages.values()))
    for name in ('backward', 'optimizer'):
        stages[name] = timer.totals[name] / n * 1000
    head = sum(p.numel() for p in model.decode_head.parameters())
    encoder = sum(p.numel() for p in model.backbone.parameters())
    print(f'config: {args.config}  batch: {args.batch_size}  points: '
          f'{args.num_points}  device: {device}  steps: {n}')
    print(f'parameters: encoder {encoder / 1e6:.2f} M, decode head '
          f'{head / 1e6:.2f} M')
    print(f'{"part":<16} {"ms/step":>10} {"share":>7}')
    for name, ms in stages.items():
        print(f'{name:<16} {ms:10.1f} {ms / total:7.1%}')
    print(f'{"step total":<16} {total:10.1f}')
    print(f'decode head alone, forward + loss + backward: {head_ms:.1f} '
          'ms/step')
    kind = 'peak CUDA allocated' if device.type == 'cuda' else (
        'peak process RSS')
    print(f'{kind}: {peak_memory_mib(device):.0f} MiB')

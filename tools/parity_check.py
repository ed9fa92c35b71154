"""Numerical parity of this plugin with the official I2P-MAE code.

Usage::

    python tools/parity_check.py FIXTURE [--tol 1e-4]

FIXTURE is a file in the format of the project's official-parity fixture
(``config``, ``points``, ``official_state_dict``, ``clip_openai_state_dict``,
``records`` and optionally ``finetune``; any sizes, depths, head counts and
batch sizes). The official weights are converted with the project's
converter, the models are built from the fixture's config, the recorded
top-scale mask is injected and every recorded quantity is compared. One line
per quantity reports its max absolute and relative error (relative to the
largest reference magnitude; integer and boolean records must match
exactly). The last line is ``parity: PASS`` or ``parity: FAIL``; the exit
code is 0 only on PASS.
"""
import argparse
import copy
import os.path as osp
import sys
from typing import Dict, List, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from projects.I2PMAE.i2pmae.models import CLIPTeacher  # noqa: E402
from projects.I2PMAE.i2pmae.models import I2PMAE, PointClassifier
from projects.I2PMAE.i2pmae.utils.official_checkpoint import \
    convert_official_state_dict  # noqa: E402

Row = Tuple[str, float, float, bool]


def tokenizer_and_encoder(cfg: dict, final_norm: bool) -> dict:
    """``tokenizer`` and ``backbone`` configs from an official config."""
    return dict(
        tokenizer=dict(
            type='MultiScalePointTokenizer',
            num_groups=cfg['num_groups'],
            group_sizes=cfg['group_sizes']),
        backbone=dict(
            type='I2PMAEEncoder',
            embed_dims=cfg['encoder_dims'],
            depths=cfg['encoder_depths'],
            num_heads=cfg['num_heads'],
            drop_path_rate=cfg['drop_path_rate'],
            local_radius=cfg['local_radius'],
            final_norm=final_norm))


def build_pretrain_model(cfg: dict, clip_state_dict: dict) -> I2PMAE:
    """Build ``I2PMAE`` from an official pretraining config.

    Args:
        cfg (dict): the official model config (``num_groups``,
            ``encoder_dims``, ``decoder_dims``, ``clip_config`` ...).
        clip_state_dict (dict): OpenAI-layout teacher weights.

    Returns:
        I2PMAE: the model, weights not yet loaded.
    """
    num_scales = len(cfg['num_groups'])
    decoded = num_scales - len(cfg['decoder_dims'])
    return I2PMAE(
        **tokenizer_and_encoder(cfg, final_norm=True),
        neck=dict(
            type='I2PMAEDecoder',
            embed_dims=cfg['decoder_dims'],
            depths=cfg['decoder_depths'],
            num_heads=cfg['num_heads'],
            up_blocks=cfg['decoder_up_blocks'],
            drop_path_rate=cfg['drop_path_rate']),
        head=dict(
            type='I2PMAEHead',
            in_channels=cfg['decoder_dims'][-1],
            group_size=cfg['group_sizes'][decoded],
            feat_dim_2d=cfg['clip_config']['feat_dim']),
        mask_generator=dict(
            type='GuidedMaskGenerator', mask_ratio=cfg['mask_ratio']),
        projector=dict(type='MultiViewDepthProjector'),
        teacher=CLIPTeacher(pretrained=clip_state_dict))


def build_classifier(cfg: dict, num_classes: int,
                     pooling: str) -> PointClassifier:
    """Build ``PointClassifier`` from an official fine-tuning config."""
    dim = cfg['encoder_dims'][-1]
    return PointClassifier(
        **tokenizer_and_encoder(cfg, final_norm=False),
        head=dict(
            type='PointClsHead',
            in_channels=2 * dim if pooling == 'concat' else dim,
            num_classes=num_classes,
            loss=dict(
                type='SmoothCrossEntropyLoss',
                smoothing=cfg.get('smooth', 0.0))),
        pooling=pooling)


def load_converted(model: torch.nn.Module, official: dict) -> None:
    """Convert official weights and load them strictly."""
    state_dict, _ = convert_official_state_dict(official)
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    if missing or unexpected:
        raise RuntimeError(f'converted weights do not fit: missing '
                           f'{missing}, unexpected {unexpected}')


def compare(name: str, ours: torch.Tensor, ref: torch.Tensor,
            tol: float) -> Row:
    """Max absolute / relative error of ``ours`` against ``ref``."""
    ours, ref = ours.detach().cpu(), ref.detach().cpu()
    if ours.shape != ref.shape:
        print(f'{name}: shape {tuple(ours.shape)} != reference '
              f'{tuple(ref.shape)}')
        return name, float('inf'), float('inf'), False
    if not ref.is_floating_point():
        diff = (ours != ref).sum().item()
        return name, float(diff), float(diff), diff == 0
    abs_err = (ours.double() -
               ref.double()).abs().max().item() if (ref.numel()) else 0.0
    scale = ref.double().abs().max().item() if ref.numel() else 1.0
    rel_err = abs_err / max(scale, 1e-12)
    return name, abs_err, rel_err, rel_err <= tol


def pretrain_rows(fixture: dict, tol: float) -> List[Row]:
    """Compare every pretraining record."""
    cfg, rec = fixture['config'], fixture['records']
    points = fixture['points'].float()
    model = build_pretrain_model(cfg, fixture['clip_openai_state_dict'])
    load_converted(model, fixture['official_state_dict'])
    rows = []
    # eval-mode SVM feature first: the fixture's BatchNorm statistics are
    # those after its training forward, which we must not update before
    model.eval()
    with torch.no_grad():
        rows.append(
            compare('svm_feature', model.extract_feat(points),
                    rec['svm_feature'], tol))
    model.train()
    num_scales = len(cfg['num_groups'])
    with torch.no_grad():
        out = model.forward_pretrain(points, top_mask=rec['masks'][-1])
    b = points.shape[0]
    rows.append(
        compare('view_images', out['images'],
                torch.cat(list(rec['view_images']), 0), tol))
    rows.append(compare('img_feats', out['img_feats'], rec['img_feats'], tol))
    rows.append(
        compare('img_attn_cls', out['img_attn'], rec['img_attn_cls'][:, 0, 1:],
                tol))
    rows.append(
        compare('spatial_sals', out['saliency'], rec['spatial_sals'], tol))
    prev_n = points.shape[1]
    for s in range(num_scales):
        scale = out['scales'][s]
        rows.append(
            compare(f'centers[{s}]', scale.centers, rec['centers'][s], tol))
        offset = torch.arange(b).view(b, 1, 1) * prev_n
        rows.append(
            compare(f'group_idx[{s}]', (scale.idx.cpu() + offset).reshape(-1),
                    rec['group_idx'][s], tol))
        rows.append(
            compare(f'neighborhoods[{s}]', scale.neighborhoods,
                    rec['neighborhoods'][s], tol))
        prev_n = scale.centers.shape[1]
    for s in range(num_scales):
        rows.append(
            compare(f'masks[{s}]', out['masks'][s], rec['masks'][s], tol))
        enc = out['encoder']
        rows.append(
            compare(f'x_vis_valid[{s}]', enc.valid[s], rec['x_vis_valid'][s],
                    tol))
        if enc.valid[s].shape == rec['x_vis_valid'][s].shape:
            valid = rec['x_vis_valid'][s]
            rows.append(
                compare(f'x_vis[{s}]', enc.feats[s][valid],
                        rec['x_vis'][s][valid], tol))
    for key in ('loss_3d', 'loss_2d'):
        rows.append(compare(key, out['losses'][key], rec[key], tol))
    return rows


def finetune_rows(fixture: dict, tol: float) -> List[Row]:
    """Compare the fine-tuning classifiers' eval-mode logits."""
    rows = []
    poolings = dict(modelnet40='mean+max', scanobjectnn='concat')
    for name, entry in fixture.get('finetune', {}).items():
        if name not in poolings:
            print(f'{name}: unknown fine-tuning model, skipped')
            continue
        model = build_classifier(entry['config'], entry['num_classes'],
                                 poolings[name])
        load_converted(model, entry['state_dict'])
        model.eval()
        with torch.no_grad():
            logits = model(dict(points=fixture['points'].float()))
        rows.append(compare(f'{name}.logits', logits, entry['logits'], tol))
    return rows


def run(fixture_path: str, tol: float = 1e-4) -> bool:
    """Run every comparison, print the table, return whether all pass."""
    if not osp.isfile(fixture_path):
        raise SystemExit(f'error: fixture not found: {fixture_path}')
    # a trusted, project-owned file holding plain python containers
    fixture: Dict = torch.load(fixture_path, weights_only=False)
    missing = {
        'config', 'points', 'official_state_dict', 'clip_openai_state_dict',
        'records'
    } - set(fixture)
    if missing:
        raise SystemExit(f'error: {fixture_path} lacks {sorted(missing)}')
    fixture = copy.deepcopy(fixture)
    torch.manual_seed(0)
    rows = pretrain_rows(fixture, tol) + finetune_rows(fixture, tol)
    width = max(len(r[0]) for r in rows)
    print(f'{"quantity":<{width}}  {"max_abs_err":>12}  {"rel_err":>10}  ok')
    for name, abs_err, rel_err, ok in rows:
        print(f'{name:<{width}}  {abs_err:12.3e}  {rel_err:10.3e}  '
              f'{"yes" if ok else "NO"}')
    passed = all(r[3] for r in rows)
    print(f'parity: {"PASS" if passed else "FAIL"}')
    return passed


def main(argv=None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('fixture', help='official-parity fixture (.pt)')
    parser.add_argument(
        '--tol', type=float, default=1e-4, help='max relative error')
    args = parser.parse_args(argv)
    sys.exit(0 if run(args.fixture, args.tol) else 1)


if __name__ == '__main__':
    main()

"""Numerical parity of this plugin with the official I2P-MAE code.

Usage::

    python tools/parity_check.py FIXTURE [--tol 1e-4]

FIXTURE holds ``config``, ``points``, ``official_state_dict``,
``clip_openai_state_dict``, ``records`` and optionally ``finetune`` (any
sizes). The official weights are converted with the project's converter,
the models are built from the fixture's config (with the official mask
propagation), the recorded top-scale mask is injected and every recorded
quantity is compared: one line each with its max absolute and relative
error (relative to the largest reference magnitude; integer and boolean
records must match exactly) and, where needed, a note.

kNN neighbours whose squared distances tie to float32 round-off may be
ranked differently by the official ``torch.cdist``; such groups pass and
are counted in the ``group_idx[s]`` note as ``reordered near-ties``. Where
a tie swaps a neighbour across the k-th place, the downstream quantities
are computed with the recorded groups and say so.

The last line is ``parity: PASS`` or ``parity: FAIL`` (exit code 0 only on
PASS).
"""
import argparse
import copy
import os.path as osp
import sys
from typing import Dict, List, NamedTuple, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from projects.I2PMAE.i2pmae.models import CLIPTeacher  # noqa: E402
from projects.I2PMAE.i2pmae.models import (I2PMAE, MultiScalePointTokenizer,
                                           PointClassifier, TokenScale)
from projects.I2PMAE.i2pmae.ops import gather_points  # noqa: E402
from projects.I2PMAE.i2pmae.utils.official_checkpoint import \
    convert_official_state_dict  # noqa: E402

#: A tie is a gap below ``TIE_EPS_FACTOR * eps32 * (|q| + |r|)^2`` between
#: two squared distances (see :func:`tie_tolerance`).
TIE_EPS_FACTOR = 4.0


class Row(NamedTuple):
    """One line of the report."""
    name: str
    abs_err: float
    rel_err: float
    ok: bool
    note: str = ''


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


def build_pretrain_model(cfg: dict,
                         clip_state_dict: dict,
                         propagation: str = 'official') -> I2PMAE:
    """Build ``I2PMAE`` from an official pretraining config.

    Args:
        cfg (dict): the official model config (``num_groups``,
            ``encoder_dims``, ``decoder_dims``, ``clip_config`` ...).
        clip_state_dict (dict): OpenAI-layout teacher weights.
        propagation (str): mask propagation of the mask generator;
            ``'official'`` (default here) reproduces the official code.

    Returns:
        I2PMAE: the model, weights not yet loaded.
    """
    num_scales = len(cfg['num_groups'])
    decoded = num_scales - len(cfg['decoder_dims'])
    components = tokenizer_and_encoder(cfg, final_norm=True)
    # the official encoder normalises every scale (the recorded x_vis),
    # the finer ones unread; I2PMAE's default builds only the read norms
    components['backbone']['norm_scales'] = list(range(num_scales))
    return I2PMAE(
        **components,
        neck=dict(
            type='I2PMAEDecoder',
            embed_dims=cfg['decoder_dims'],
            depths=cfg['decoder_depths'],
            num_heads=cfg['num_heads'],
            up_blocks=cfg['decoder_up_blocks'],
            drop_path_rate=cfg['drop_path_rate']),
        head=dict(
            type='I2PMAEPretrainHead',
            in_channels=cfg['decoder_dims'][-1],
            group_size=cfg['group_sizes'][decoded],
            feat_dim_2d=cfg['clip_config']['feat_dim']),
        mask_generator=dict(
            type='GuidedMaskGenerator',
            mask_ratio=cfg['mask_ratio'],
            propagation=propagation),
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


def compare(name: str,
            ours: torch.Tensor,
            ref: torch.Tensor,
            tol: float,
            note: str = '') -> Row:
    """Max absolute / relative error of ``ours`` against ``ref``."""
    ours, ref = ours.detach().cpu(), ref.detach().cpu()
    if ours.shape != ref.shape:
        return Row(
            name, float('inf'), float('inf'), False,
            f'shape {tuple(ours.shape)} != reference '
            f'{tuple(ref.shape)}')
    if not ref.is_floating_point():
        diff = (ours != ref).sum().item()
        return Row(name, float(diff), float(diff), diff == 0, note)
    abs_err = (ours.double() -
               ref.double()).abs().max().item() if (ref.numel()) else 0.0
    scale = ref.double().abs().max().item() if ref.numel() else 1.0
    rel_err = abs_err / max(scale, 1e-12)
    return Row(name, abs_err, rel_err, rel_err <= tol, note)


def recorded_group_idx(rec: dict, scales: List[TokenScale],
                       num_points: int) -> List[torch.Tensor]:
    """The recorded neighbour indices per sample (batch offset removed).

    Args:
        rec (dict): the fixture's ``records``.
        scales (list[TokenScale]): our tokenizer output (for the shapes).
        num_points (int): points per cloud at scale 0.

    Returns:
        list[Tensor]: long ``[B, G_s, K_s]`` per scale, or ``None`` where
        the record's size does not fit (reported as a shape mismatch).
    """
    out, prev_n = [], num_points
    for s, scale in enumerate(scales):
        b, g, k = scale.idx.shape
        flat = rec['group_idx'][s].long().cpu()
        if flat.numel() != b * g * k:
            out.append(None)
        else:
            offset = torch.arange(b).view(b, 1, 1) * prev_n
            out.append(flat.reshape(b, g, k) - offset)
        prev_n = g
    return out


def tie_tolerance(query: torch.Tensor, ref_a: torch.Tensor,
                  ref_b: torch.Tensor) -> torch.Tensor:
    """Largest gap between two squared distances that still counts as a tie.

    The official kNN ranks by ``torch.cdist``, which for more than 25
    points computes ``|q|^2 + |r|^2 - 2 q.r`` in float32, so each squared
    distance carries an absolute round-off of up to about
    ``2 * eps * (|q| + |r|)^2`` (``eps`` of float32; below ``0.9 * eps *
    (|q| + |r|)^2`` measured for near neighbours); two rankings may
    disagree wherever the exact distances differ by less than the sum of
    two such errors.

    Args:
        query (Tensor): ``[..., 3]`` query points (float64).
        ref_a (Tensor): ``[..., 3]`` one neighbour per query.
        ref_b (Tensor): ``[..., 3]`` another neighbour per query.

    Returns:
        Tensor: ``[...]`` float64 tolerance.
    """
    radius = query.norm(dim=-1) + torch.maximum(
        ref_a.norm(dim=-1), ref_b.norm(dim=-1))
    return TIE_EPS_FACTOR * torch.finfo(torch.float32).eps * radius**2


class GroupingDiff(NamedTuple):
    """How a recorded kNN grouping differs from ours.

    Attributes:
        reordered (int): groups whose neighbours differ only by near-ties
            (every position holds the same index or one at a tied
            distance).
        boundary (int): of those, groups whose neighbour *set* differs
            (a tied neighbour swapped across the k-th place).
        mismatched (Tensor): bool ``[B, G]``, groups that really differ.
    """
    reordered: int
    boundary: int
    mismatched: torch.Tensor


def compare_grouping(ours: torch.Tensor, ref: torch.Tensor,
                     centers: torch.Tensor,
                     points: torch.Tensor) -> GroupingDiff:
    """Classify every group of a recorded kNN grouping against ours.

    A recorded group passes if each position holds our index or one whose
    exact squared distance ties with ours within :func:`tie_tolerance`; its
    indices must be distinct and in range.

    Args:
        ours (Tensor): long ``[B, G, K]`` our neighbour indices.
        ref (Tensor): long ``[B, G, K]`` recorded neighbour indices.
        centers (Tensor): ``[B, G, 3]`` the query points.
        points (Tensor): ``[B, N, 3]`` the points the indices refer to.

    Returns:
        GroupingDiff: the counts and the mismatching groups.
    """
    ours, ref = ours.cpu().long(), ref.cpu().long()
    num_points = points.shape[1]
    in_range = ((ref >= 0) & (ref < num_points)).all(-1)
    ref_safe = ref.clamp(0, num_points - 1)
    srt = ref_safe.sort(-1)[0]
    distinct = (srt[..., 1:] != srt[..., :-1]).all(-1)
    pts = points.detach().cpu().double()
    query = centers.detach().cpu().double().unsqueeze(2)
    at_ours = gather_points(pts, ours)
    at_ref = gather_points(pts, ref_safe)
    d_ours = ((at_ours - query)**2).sum(-1)
    d_ref = ((at_ref - query)**2).sum(-1)
    tol = tie_tolerance(query.expand_as(at_ours), at_ours, at_ref)
    same = ours == ref_safe
    tied = same | ((d_ours - d_ref).abs() <= tol)
    good = in_range & distinct & tied.all(-1)
    differs = ~same.all(-1)
    same_set = (ours.sort(-1)[0] == srt).all(-1)
    reordered = good & differs
    return GroupingDiff(
        int(reordered.sum()), int((reordered & ~same_set).sum()), ~good)


def grouping_rows(scales: List[TokenScale], ref_idx: List, rec: dict,
                  points: torch.Tensor, tol: float) -> Tuple[List[Row], bool]:
    """Compare our tokenizer's centres, neighbour lists and neighbourhoods.

    Near-tie reorderings are reported in the notes. Neighbourhoods are
    compared in the recorded neighbour order; recorded neighbours that are
    not among ours (swapped across the k-th place by a tie) have no
    counterpart and are left out (and counted in the note).

    Returns:
        tuple[list[Row], bool]: the rows, and whether some recorded group
        holds a different neighbour set than ours (then downstream
        quantities must be computed with the recorded grouping).
    """
    rows, any_boundary, prev = [], False, points
    for s, scale in enumerate(scales):
        rows.append(
            compare(f'centers[{s}]', scale.centers, rec['centers'][s], tol))
        ref = ref_idx[s]
        if ref is None or scale.centers.shape != rec['centers'][s].shape:
            rows.append(
                compare(f'group_idx[{s}]', scale.idx.reshape(-1),
                        rec['group_idx'][s], tol))
            prev = scale.centers
            continue
        diff = compare_grouping(scale.idx, ref, scale.centers, prev)
        bad_entries = float((scale.idx.cpu() != ref)[diff.mismatched].sum())
        note = ''
        if diff.reordered:
            note = f'reordered near-ties: {diff.reordered} groups'
            if diff.boundary:
                note += (f' ({diff.boundary} with a tied neighbour swapped '
                         'across the k-th place)')
        if diff.mismatched.any():
            note = (f'{int(diff.mismatched.sum())} groups differ; ' +
                    note).rstrip('; ')
        rows.append(
            Row(f'group_idx[{s}]', bad_entries, bad_entries,
                not diff.mismatched.any(), note))
        any_boundary |= diff.boundary > 0
        # align our neighbourhoods to the recorded order
        match = ref.unsqueeze(-1) == scale.idx.cpu().unsqueeze(-2)
        found = match.any(-1)
        pos = match.int().argmax(-1)
        ours = scale.neighborhoods.detach().cpu()
        aligned = ours.gather(2, pos.unsqueeze(-1).expand_as(ours))
        row = compare(f'neighborhoods[{s}]', aligned[found],
                      rec['neighborhoods'][s][found], tol)
        left_out = int((~found).sum())
        rows.append(
            row._replace(note=f'{left_out} unmatched neighbours left out'
                         if left_out else ''))
        prev = scale.centers
    return rows, any_boundary


class RecordedGroupingTokenizer(MultiScalePointTokenizer):
    """Our FPS centres grouped with recorded neighbour lists.

    Used when the recorded kNN grouping differs from ours only by near-ties
    that change a neighbour set, so that everything downstream is compared
    on the same groups.

    Args:
        num_groups (Sequence[int]): centres per scale.
        group_sizes (Sequence[int]): neighbours per centre.
        group_idx (list[Tensor]): long ``[B, G_s, K_s]`` per scale.
    """

    def __init__(self, num_groups, group_sizes,
                 group_idx: List[torch.Tensor]) -> None:
        super().__init__(num_groups, group_sizes)
        self.group_idx = group_idx

    def forward(self, points: torch.Tensor) -> List[TokenScale]:
        """Tokenise with our centres and the recorded neighbours."""
        out, prev = [], points
        for scale, idx in zip(super().forward(points), self.group_idx):
            idx = idx.to(points.device)
            neigh_abs = gather_points(prev, idx)
            out.append(
                TokenScale(scale.centers, idx,
                           neigh_abs - scale.centers.unsqueeze(2), neigh_abs))
            prev = scale.centers
        return out


def pretrain_rows(fixture: dict, tol: float) -> List[Row]:
    """Compare every pretraining record."""
    cfg, rec = fixture['config'], fixture['records']
    points = fixture['points'].float()
    model = build_pretrain_model(cfg, fixture['clip_openai_state_dict'])
    load_converted(model, fixture['official_state_dict'])
    num_scales = len(cfg['num_groups'])
    with torch.no_grad():
        scales = model.tokenizer(points)
    ref_idx = recorded_group_idx(rec, scales, points.shape[1])
    rows, any_boundary = grouping_rows(scales, ref_idx, rec, points, tol)
    downstream_note = ''
    if any_boundary:
        model.tokenizer = RecordedGroupingTokenizer(cfg['num_groups'],
                                                    cfg['group_sizes'],
                                                    ref_idx)
        downstream_note = 'with the recorded kNN groups'
    # eval-mode SVM feature first: the fixture's BatchNorm statistics are
    # those after its training forward, which we must not update before
    model.eval()
    with torch.no_grad():
        rows.append(
            compare('svm_feature', model.extract_feat(points),
                    rec['svm_feature'], tol, downstream_note))
    model.train()
    with torch.no_grad():
        out = model.forward_pretrain(points, top_mask=rec['masks'][-1])
    views = torch.cat(list(rec['view_images']), 0)
    rows += [
        compare('view_images', out['images'], views, tol),
        compare('img_feats', out['img_feats'], rec['img_feats'], tol),
        compare('img_attn_cls', out['img_attn'], rec['img_attn_cls'][:, 0, 1:],
                tol),
        compare('spatial_sals', out['saliency'], rec['spatial_sals'], tol)
    ]
    enc = out['encoder']
    for s in range(num_scales):
        rows.append(
            compare(f'masks[{s}]', out['masks'][s], rec['masks'][s], tol,
                    downstream_note))
        rows.append(
            compare(f'x_vis_valid[{s}]', enc.valid[s], rec['x_vis_valid'][s],
                    tol, downstream_note))
        if enc.valid[s].shape == rec['x_vis_valid'][s].shape:
            valid = rec['x_vis_valid'][s]
            rows.append(
                compare(f'x_vis[{s}]', enc.feats[s][valid],
                        rec['x_vis'][s][valid], tol, downstream_note))
    for key in ('loss_3d', 'loss_2d'):
        rows.append(
            compare(key, out['losses'][key], rec[key], tol, downstream_note))
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
    for name, abs_err, rel_err, ok, note in rows:
        line = (f'{name:<{width}}  {abs_err:12.3e}  {rel_err:10.3e}  '
                f'{"yes" if ok else "NO"}')
        print(f'{line}  {note}' if note else line)
    passed = all(r.ok for r in rows)
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

"""Conversion of official I2P-MAE checkpoints to this plugin's key names."""
import re
from collections import OrderedDict
from typing import Dict, Tuple

from torch import Tensor

#: official prefix → our prefix, tried in order (first match wins)
KEY_MAP = (
    ('h_encoder.token_embed.', 'backbone.token_embeds.'),
    ('h_encoder.encoder_pos_embeds.', 'backbone.pos_embeds.'),
    ('h_encoder.encoder_blocks.', 'backbone.stages.'),
    ('h_encoder.encoder_norms.', 'backbone.norms.'),
    ('mask_token', 'neck.mask_token'),
    ('h_decoder.', 'neck.stages.'),
    ('decoder_pos_embeds.', 'neck.pos_embeds.'),
    ('token_prop.', 'neck.propagations.'),
    ('decoder_norm.', 'neck.norm.'),
    ('rec_head_3d.', 'head.rec_3d.'),
    ('rec_head_2d.', 'head.rec_2d.'),
    ('cls_head_finetune.', 'head.mlp.'),
    ('norm.', 'norm.'),
)
#: official keys without learnable state in our models
DROPPED = (re.compile(r'^clip_model\.'), re.compile(r'^group_dividers\.'))


def official_model_kind(state_dict: Dict[str, Tensor]) -> str:
    """Which official model a state dict belongs to.

    Args:
        state_dict (dict): official (``module.``-stripped) state dict.

    Returns:
        str: ``'pretrain'`` (I2P_MAE), ``'classifier'`` (fine-tuning
        models) or ``'encoder'`` (hierarchical encoder only).
    """
    if any(k.startswith('cls_head_finetune.') for k in state_dict):
        return 'classifier'
    if any(
            k.startswith(('rec_head_3d.', 'h_decoder.', 'mask_token'))
            for k in state_dict):
        return 'pretrain'
    if any(k.startswith('h_encoder.') for k in state_dict):
        return 'encoder'
    raise ValueError('the state dict holds no official I2P-MAE keys '
                     '(expected h_encoder.*, and rec_head_3d.* or '
                     'cls_head_finetune.*)')


def unwrap_official_checkpoint(ckpt: dict) -> Dict[str, Tensor]:
    """Take the model state dict out of an official checkpoint.

    Accepts a full training checkpoint (``base_model`` or ``model`` key)
    or a bare state dict; removes ``module.`` (DDP) prefixes.
    """
    if not isinstance(ckpt, dict):
        raise ValueError(f'expected a checkpoint dict, got {type(ckpt)}')
    for key in ('base_model', 'model', 'state_dict'):
        if key in ckpt and isinstance(ckpt[key], dict):
            ckpt = ckpt[key]
            break
    return OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in ckpt.items())


def convert_official_state_dict(ckpt: dict) -> Tuple[Dict[str, Tensor], str]:
    """Rename an official I2P-MAE state dict to this plugin's layout.

    ``clip_model.*`` (the frozen teacher) is dropped; 1x1 ``Conv1d``
    reconstruction heads become ``Linear`` weights.

    Args:
        ckpt (dict): an official checkpoint or state dict.

    Returns:
        tuple[dict, str]: the converted state dict and the model kind
        (see :func:`official_model_kind`).
    """
    state_dict = unwrap_official_checkpoint(ckpt)
    kind = official_model_kind(state_dict)
    converted = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        if any(p.match(key) for p in DROPPED):
            continue
        for old, new in KEY_MAP:
            if key.startswith(old):
                new_key = new + key[len(old):]
                break
        else:
            unknown.append(key)
            continue
        is_head = new_key in ('head.rec_3d.weight', 'head.rec_2d.weight')
        if is_head and value.dim() == 3:
            value = value.squeeze(-1)  # 1x1 Conv1d -> Linear
        converted[new_key] = value
    if unknown:
        raise ValueError('unrecognised official keys: ' +
                         ', '.join(unknown[:10]) +
                         (' ...' if len(unknown) > 10 else ''))
    if kind == 'encoder':
        converted = OrderedDict(
            (k[len('backbone.'):], v) for k, v in converted.items())
    return converted, kind

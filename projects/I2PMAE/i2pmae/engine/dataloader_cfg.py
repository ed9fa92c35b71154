"""Keep DataLoader options of a config consistent with each other."""
from typing import List

from mmengine.config import Config

__all__ = ['sync_persistent_workers']


def sync_persistent_workers(cfg: Config) -> List[str]:
    """Turn ``persistent_workers`` off where ``num_workers`` is 0.

    torch refuses ``persistent_workers=True`` without worker processes, so
    ``--cfg-options train_dataloader.num_workers=0`` alone would fail. Call
    this after every override is merged; it changes every top-level
    ``*_dataloader`` dict of ``cfg`` in place (workers > 0 keep the
    config's choice).

    Args:
        cfg (Config): the config.

    Returns:
        list[str]: the dataloaders whose ``persistent_workers`` was turned
        off.
    """
    changed = []
    for key in list(cfg.keys()):
        loader = cfg.get(key)
        if not key.endswith('_dataloader') or not isinstance(loader, dict):
            continue
        if loader.get('persistent_workers') and not loader.get(
                'num_workers', 0):
            loader['persistent_workers'] = False
            changed.append(key)
    return changed

"""Scope-independent building of the plugin's sub-components."""
from typing import Optional, Union

from mmdet3d.registry import MODELS
from mmengine.registry import DefaultScope
from torch import nn


def build_component(cfg: Union[dict, nn.Module, None]) -> Optional[nn.Module]:
    """Build a sub-component from mmdet3d's MODELS (modules pass through).

    The build runs in the ``mmdet3d`` scope whatever scope is current, so
    the plugin's components resolve even after another library (or a
    Runner with another ``default_scope``) changed the default scope.

    Args:
        cfg (dict | nn.Module | None): a config, a built module or None.

    Returns:
        nn.Module | None: the built (or given) module.
    """
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    with DefaultScope.overwrite_default_scope('mmdet3d'):
        return MODELS.build(cfg)

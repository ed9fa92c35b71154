"""I2P-MAE plugin for OpenMMLab.

Importing this package registers every component into mmdet3d's registries
(``MODELS``, ``DATASETS``, ``TRANSFORMS``, ``METRICS``, ``HOOKS``, ``LOOPS``)
and makes mmengine checkpoints loadable under ``torch.load(weights_only=True)``.
"""
from .utils import safe_checkpoint  # noqa: F401  (patches loading first)
from . import ops  # noqa: F401,E402
from . import datasets  # noqa: F401,E402
from . import models  # noqa: F401,E402
from . import evaluation  # noqa: F401,E402
from . import engine  # noqa: F401,E402

__version__ = '0.1.0'

"""I2P-MAE plugin for OpenMMLab.

Importing this package registers every component into mmdet3d's registries
(``MODELS``, ``DATASETS``, ``TRANSFORMS``, ``METRICS``, ``HOOKS``, ``LOOPS``)
and makes mmengine checkpoints loadable with ``weights_only=True`` (see
``utils/safe_checkpoint.py``).
"""
from . import datasets  # noqa: F401,E402
from . import engine  # noqa: F401,E402
from . import evaluation  # noqa: F401,E402
from . import models  # noqa: F401,E402
from . import ops  # noqa: F401,E402
from .utils import safe_checkpoint  # noqa: F401

__version__ = '0.1.0'

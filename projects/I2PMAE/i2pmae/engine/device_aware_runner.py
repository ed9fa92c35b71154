"""A Runner whose distributed set-up follows the device: NCCL on GPUs,
gloo on CPUs."""
import copy
import datetime
from typing import Dict, Optional

from mmdet3d.registry import RUNNERS
from mmengine.device import get_device
from mmengine.dist import get_backend, is_distributed
from mmengine.model import is_model_wrapper
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import Runner
from torch import distributed as torch_dist
from torch import nn

__all__ = ['DeviceAwareRunner', 'resolve_dist_backend']

#: ``env_cfg.dist_cfg.backend`` values that pick the backend by device
AUTO_BACKENDS = (None, 'auto')


def resolve_dist_backend(backend: Optional[str], device: str) -> str:
    """The ``torch.distributed`` backend for a configured one and a device.

    Args:
        backend (str, optional): ``env_cfg.dist_cfg.backend``; None or
            ``'auto'`` picks ``'nccl'`` on CUDA and ``'gloo'`` on a CPU.
        device (str): mmengine's :func:`~mmengine.device.get_device`
            (``'cuda'``, ``'cpu'``, ...).

    Returns:
        str: the backend to initialise.

    Raises:
        ValueError: ``'nccl'`` was asked for but no GPU is visible.
    """
    if backend in AUTO_BACKENDS:
        return 'gloo' if device == 'cpu' else 'nccl'
    if backend == 'nccl' and device == 'cpu':
        raise ValueError(
            "env_cfg.dist_cfg.backend='nccl' needs GPUs but none is visible; "
            "set it to 'auto' (gloo on CPUs, NCCL on GPUs) or 'gloo'")
    return backend


@RUNNERS.register_module()
class DeviceAwareRunner(Runner):
    """:class:`~mmengine.runner.Runner` that also trains distributed on CPUs.

    mmengine's distributed set-up assumes one GPU per process: it calls
    ``torch.cuda.set_device`` and gives ``MMDistributedDataParallel`` the
    local rank as ``device_ids``. This Runner keeps that path on GPUs and,
    when no GPU is visible (mmengine's :func:`~mmengine.device.get_device`
    is ``'cpu'``), initialises the process group without CUDA calls and
    wraps the model without ``device_ids`` (what DDP requires for CPU
    modules). ``env_cfg.dist_cfg.backend`` unset or ``'auto'`` picks NCCL
    on GPUs and gloo on CPUs; other values are used as given.

    CPU processes are started by ``torchrun`` (launcher ``'pytorch'``,
    ``tools/dist_train.sh``), on one node or several; the ``slurm`` and
    ``mpi`` launchers go through mmengine and need GPUs.

    Args:
        *args: see :class:`~mmengine.runner.Runner`.
        **kwargs: see :class:`~mmengine.runner.Runner`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.distributed:
            self.logger.info(f'distributed: {get_backend()} backend, world '
                             f'size {self.world_size}, device {get_device()}')

    def setup_env(self, env_cfg: Dict) -> None:
        """Resolve the backend, start a CPU process group, then set up.

        Args:
            env_cfg (dict): the config's ``env_cfg`` (see
                :meth:`mmengine.runner.Runner.setup_env`).

        Raises:
            ValueError: a backend that the device cannot run, or a CPU run
                started by a launcher other than ``'pytorch'``.
        """
        if self.distributed and not is_distributed():
            env_cfg = copy.deepcopy(dict(env_cfg))
            dist_cfg = dict(env_cfg.get('dist_cfg') or {})
            device = get_device()
            dist_cfg['backend'] = resolve_dist_backend(
                dist_cfg.get('backend'), device)
            if device == 'cpu':
                self._init_cpu_process_group(dist_cfg)
            env_cfg['dist_cfg'] = dist_cfg
        # mmengine's set-up skips its init_dist once a group exists
        super().setup_env(env_cfg)

    def _init_cpu_process_group(self, dist_cfg: dict) -> None:
        """``torch.distributed.init_process_group`` without CUDA calls.

        Args:
            dist_cfg (dict): ``backend`` and the other keyword arguments of
                ``init_process_group`` (``timeout`` in seconds).
        """
        if self.launcher != 'pytorch':
            raise ValueError(
                f"launcher={self.launcher!r} needs GPUs; without one, start "
                "the processes with torchrun (launcher 'pytorch', e.g. "
                'tools/dist_train.sh CONFIG 2)')
        kwargs = dict(dist_cfg)
        if kwargs.get('timeout') is not None:
            kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
        # RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT come from torchrun
        torch_dist.init_process_group(**kwargs)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: nn.Module) -> nn.Module:
        """Wrap the model; on CPUs, without ``device_ids``.

        Args:
            model_wrapper_cfg (dict, optional): the config's
                ``model_wrapper_cfg``; None wraps with
                ``MMDistributedDataParallel`` like mmengine (buffers not
                broadcast, the config's ``find_unused_parameters``).
            model (nn.Module): the model.

        Returns:
            nn.Module: the wrapped model (the model itself when not
            distributed).

        Raises:
            ValueError: ``sync_bn`` is set for a CPU run (SyncBatchNorm runs
                on GPUs only).
        """
        if (not self.distributed or is_model_wrapper(model)
                or get_device() != 'cpu'):
            return super().wrap_model(model_wrapper_cfg, model)
        if self.cfg.get('sync_bn', None) is not None:
            raise ValueError(
                f'sync_bn={self.cfg.sync_bn!r} needs GPUs (SyncBatchNorm '
                'does not run on CPUs); remove sync_bn for CPU training')
        if model_wrapper_cfg is None:
            model_wrapper_cfg = dict(
                broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters',
                                                    False))
        model_wrapper_cfg = dict(model_wrapper_cfg)
        model_wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
        return MODEL_WRAPPERS.build(
            model_wrapper_cfg, default_args=dict(module=model))

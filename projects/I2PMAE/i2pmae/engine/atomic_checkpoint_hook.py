"""CheckpointHook whose checkpoints and ``last_checkpoint`` are atomic."""
import os.path as osp
from typing import Optional

from mmdet3d.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from .atomic_local_backend import ATOMIC_LOCAL_BACKEND, atomic_write

__all__ = ['AtomicCheckpointHook']


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` that never leaves half files.

    Differences from the parent, all about interruptions (a kill, a full
    disk) while saving:

    * checkpoints of a local ``out_dir`` are written through
      :class:`~.atomic_local_backend.AtomicLocalBackend` (temporary file in
      the same folder, then :func:`os.replace`): a checkpoint file is
      either complete or absent;
    * ``work_dir/last_checkpoint`` is written the same way, and only after
      the checkpoint it names is complete;
    * with ``max_keep_ckpts``, the outdated checkpoint is deleted after the
      new one is written (the parent deletes it first), so an interrupted
      save never leaves fewer good checkpoints than before.

    Args:
        backend_args (dict, optional): file backend of the checkpoints.
            None (the default) selects ``'atomic_local'`` when ``out_dir``
            is local (no ``scheme://``); remote backends are used as given.
        **kwargs: the other :class:`mmengine.hooks.CheckpointHook`
            arguments.
    """

    def __init__(self,
                 out_dir: Optional[str] = None,
                 file_client_args: Optional[dict] = None,
                 backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        if (backend_args is None and file_client_args is None
                and (out_dir is None or '://' not in str(out_dir))):
            backend_args = dict(backend=ATOMIC_LOCAL_BACKEND)
        super().__init__(
            out_dir=out_dir,
            file_client_args=file_client_args,
            backend_args=backend_args,
            **kwargs)

    def _keep_step(self, runner, step: int) -> Optional[int]:
        """Record ``step`` among the kept checkpoints.

        Args:
            runner (Runner): the runner.
            step (int): epoch or iteration of the checkpoint being saved.

        Returns:
            int | None: the step whose checkpoint falls out of
            ``max_keep_ckpts`` and is to be deleted, if any.
        """
        if self.max_keep_ckpts <= 0:
            return None
        if self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step:
            return None  # the same step saved again (after a new best)
        outdated = None
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            outdated = self.keep_ckpt_ids.popleft()
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
        return outdated

    def _remove_step(self, step: int) -> None:
        """Delete the checkpoint of ``step`` (a file, or a folder).

        Args:
            step (int): epoch or iteration of the checkpoint.
        """
        path = self.file_backend.join_path(self.out_dir,
                                           self.filename_tmpl.format(step))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        """Save the checkpoint of ``step``, then point ``last_checkpoint``.

        Args:
            runner (Runner): the runner.
            step (int): epoch or iteration number of the checkpoint.
            meta (dict): ``epoch`` / ``iter`` to store in the checkpoint.
        """
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        outdated = self._keep_step(runner, step)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write(
            str(self.last_ckpt).encode('utf-8'),
            osp.join(runner.work_dir, 'last_checkpoint'))
        if outdated is not None:
            self._remove_step(outdated)

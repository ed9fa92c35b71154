"""Score the test split once, with the weights of the last epoch."""
from mmdet3d.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log

__all__ = ['FinalTestHook']


@HOOKS.register_module()
class FinalTestHook(Hook):
    """Run the runner's test loop once after training.

    When validation scores a share held out from the train split (and
    ``save_best`` follows it), the test split is scored only here, with the
    weights of the last epoch, and by ``tools/test.py`` (e.g. on the best
    checkpoint): nothing about it steers the run. The metrics are logged as
    ``Epoch(test)`` lines (every metric of ``test_evaluator``, e.g. the
    votes of ``VoteAccuracy``) and kept in the message hub under ``test/``.

    Priority ``VERY_LOW``: after every other hook's ``after_train``.
    """

    priority = 'VERY_LOW'

    def before_train(self, runner) -> None:
        """Build the test loop (and read the test data) before training.

        A test that cannot run (no test settings, missing data) then stops
        the run before its first iteration rather than after its last.

        Args:
            runner (Runner): the runner.

        Raises:
            RuntimeError: the runner has no test loop (``test_dataloader``,
                ``test_cfg`` and ``test_evaluator`` unset).
        """
        if runner._test_loop is None:
            raise RuntimeError(
                'FinalTestHook needs test_dataloader, test_cfg and '
                'test_evaluator in the config (or remove the hook from '
                'custom_hooks)')
        # builds the loop, its dataloader and its dataset
        dataset = runner.test_loop.dataloader.dataset
        print_log(
            f'FinalTestHook: the {len(dataset)} test samples are scored '
            'after the last epoch',
            logger='current')

    def after_train(self, runner) -> None:
        """Score the test split with the final weights.

        Args:
            runner (Runner): the runner.
        """
        print_log(
            f'FinalTestHook: scoring the test split with the weights of '
            f'epoch {runner.epoch} (iteration {runner.iter})',
            logger='current')
        runner.test_loop.run()

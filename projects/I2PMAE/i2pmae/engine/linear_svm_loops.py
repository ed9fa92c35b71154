"""Validation and test loops of the linear-SVM evaluation of an encoder."""
import copy
import time
from typing import List, Optional, Union

from mmdet3d.registry import LOOPS
from mmengine.dist import is_main_process
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from mmengine.runner import TestLoop, ValLoop
from torch.utils.data import DataLoader

from ..evaluation.linear_svm_metric import LinearSVMMetric
from ..utils.progress import ProgressReporter
from .feature_extraction import extract_features

__all__ = ['LinearSVMValLoop', 'LinearSVMTestLoop', 'dataloader_from_config']

DataLoaderRef = Union[DataLoader, dict, str]


def dataloader_from_config(runner, dataloader: DataLoaderRef,
                           what: str) -> Union[DataLoader, dict]:
    """Resolve a dataloader given by the name of a top-level config key.

    Args:
        runner (Runner): the runner whose ``cfg`` holds the key.
        dataloader (DataLoader | dict | str): a dataloader, its config, or
            the name of the config key that holds its config (e.g.
            ``'svm_train_dataloader'``).
        what (str): the setting that names it, for the error message.

    Returns:
        DataLoader | dict: the dataloader or a copy of its config.

    Raises:
        ValueError: the named key is not in the config, or holds no dict.
    """
    if not isinstance(dataloader, str):
        return dataloader
    cfg = getattr(runner, 'cfg', None)
    found = cfg.get(dataloader, None) if cfg is not None else None
    if found is None:
        raise ValueError(
            f"config key '{dataloader}' is missing: {what} names it. Add a "
            'dataset config that defines it to _base_ (e.g. '
            'configs/_base_/datasets/modelnet40_svm.py) or set '
            f'{what} to a dataloader config')
    if not isinstance(found, dict):
        raise ValueError(f"config key '{dataloader}' (named by {what}) must "
                         f'be a dataloader config dict, got {found!r}')
    return copy.deepcopy(found)


class _LinearSVMLoop:
    """What the validation and test loops of the linear SVM share.

    The scored dataloader runs like mmengine's ``ValLoop``/``TestLoop``
    (hooks per iteration, ``evaluator.process``, ``evaluator.evaluate``
    gathers the ranks' records); before it, the features of
    ``fit_dataloader`` (when given) are extracted with
    :func:`extract_features` and handed to every :class:`LinearSVMMetric` of
    the evaluator as its fitted split.

    Args:
        runner (Runner): the runner.
        dataloader (DataLoader | dict | str): the scored data (with a
            ``holdout`` metric: the data that is split); a str names the
            top-level config key holding its config.
        evaluator (Evaluator | dict | list): must hold a
            :class:`LinearSVMMetric`.
        fit_dataloader (DataLoader | dict | str, optional): the data the SVM
            is fitted on; None for metrics with ``holdout``.
        fp16 (bool): extract features under ``autocast``.
        lazy_init (bool): build the dataloaders (and read their datasets)
            at the first run instead of now. The runner builds the
            validation loop before training, so by default missing data is
            an error at once rather than at the first validation.
    """

    _stage = ''

    def __init__(self,
                 runner,
                 dataloader: DataLoaderRef,
                 evaluator: Union[Evaluator, dict, list],
                 fit_dataloader: Optional[DataLoaderRef] = None,
                 fp16: bool = False,
                 lazy_init: bool = False) -> None:
        # ValLoop/TestLoop.__init__ would build the dataloader at once
        self._runner = runner
        name = type(self).__name__
        self._dataloader = dataloader_from_config(runner, dataloader,
                                                  f'{self._stage}_dataloader')
        self._fit_dataloader = None if fit_dataloader is None else (
            dataloader_from_config(runner, fit_dataloader,
                                   f'{self._stage}_cfg.fit_dataloader'))
        if isinstance(evaluator, (dict, list)):
            evaluator = runner.build_evaluator(evaluator)
        self.evaluator = evaluator
        self.svm_metrics: List[LinearSVMMetric] = [
            m for m in evaluator.metrics if isinstance(m, LinearSVMMetric)
        ]
        if not self.svm_metrics:
            raise ValueError(
                f'{name} needs a LinearSVMMetric in {self._stage}_evaluator, '
                f'got {[type(m).__name__ for m in evaluator.metrics]}')
        for metric in self.svm_metrics:
            if (metric.holdout is None) == (fit_dataloader is None):
                raise ValueError(
                    f'{name}: give either {self._stage}_cfg.fit_dataloader '
                    '(fit on that split, score this one) or a LinearSVMMetric '
                    'with holdout (fit and score parts of this split), not '
                    f'both or neither (fit_dataloader={fit_dataloader!r}, '
                    f'holdout={metric.holdout!r})')
        self.fp16 = fp16
        self.val_loss = dict()
        self.test_loss = dict()
        if not lazy_init:
            self._build_dataloaders()

    def _build_dataloaders(self) -> None:
        runner = self.runner
        diff_rank_seed = runner._randomness_cfg.get('diff_rank_seed', False)
        for attr in ('_dataloader', '_fit_dataloader'):
            cfg = getattr(self, attr)
            if isinstance(cfg, dict):
                setattr(
                    self, attr,
                    runner.build_dataloader(
                        cfg, seed=runner.seed, diff_rank_seed=diff_rank_seed))
                if attr == '_dataloader':
                    metainfo = getattr(self._dataloader.dataset, 'metainfo',
                                       None)
                    self.evaluator.dataset_meta = metainfo
                    runner.visualizer.dataset_meta = metainfo

    @property
    def dataloader(self) -> DataLoader:
        """The scored dataloader (built on first use with ``lazy_init``)."""
        self._build_dataloaders()
        return self._dataloader

    @property
    def fit_dataloader(self) -> Optional[DataLoader]:
        """The dataloader the SVM is fitted on, if any."""
        self._build_dataloaders()
        return self._fit_dataloader

    def run(self) -> dict:
        """Extract features, fit the SVM, score and log.

        Returns:
            dict: ``svm/accuracy`` (percent) and ``svm/C`` (with the
            metric's prefix), the same on every rank.
        """
        stage, runner = self._stage, self.runner
        runner.call_hook(f'before_{stage}')
        runner.model.eval()
        if self.fit_dataloader is not None:
            # before the epoch hooks: the iteration timer then times only the
            # scored iterations
            start = time.perf_counter()
            fit_records = extract_features(
                runner.model,
                self.fit_dataloader,
                step=f'{stage}_step',
                fp16=self.fp16,
                collect_device=self.svm_metrics[0].collect_device,
                task='linear SVM: features to fit')
            for metric in self.svm_metrics:
                metric.fit_results = fit_records
            print_log(
                f'linear SVM: features of the '
                f'{len(self.fit_dataloader.dataset)} samples to fit '
                f'extracted in {time.perf_counter() - start:.1f} s',
                logger='current')
        runner.call_hook(f'before_{stage}_epoch')
        total = len(self.dataloader)
        progress = (
            ProgressReporter(
                total,
                task='linear SVM: features to '
                f'{"split" if self.fit_dataloader is None else "score"}')
            if is_main_process() and total else None)
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
            if progress is not None:
                progress.update()
        if progress is not None:
            progress.finish()
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        runner.call_hook(f'after_{stage}_epoch', metrics=metrics)
        runner.call_hook(f'after_{stage}')
        return metrics


@LOOPS.register_module()
class LinearSVMValLoop(_LinearSVMLoop, ValLoop):
    """Linear-SVM validation (see :class:`_LinearSVMLoop` for the args).

    In the pretraining configs ``val_dataloader='svm_train_dataloader'``
    and the metric has ``holdout=0.2``: the SVM is fitted on 80% of the SVM
    train split and scores the stratified 20% held out from it, so nothing
    about the test split steers a run (or the choice of a checkpoint).
    """

    _stage = 'val'


@LOOPS.register_module()
class LinearSVMTestLoop(_LinearSVMLoop, TestLoop):
    """Linear-SVM test (see :class:`_LinearSVMLoop` for the args).

    In the pretraining configs ``test_dataloader='svm_test_dataloader'`` and
    ``fit_dataloader='svm_train_dataloader'``: fitted on the whole train
    split, scored on the test split (``tools/test.py CONFIG CKPT``).
    """

    _stage = 'test'

"""Linear-SVM accuracy of encoder features (the self-supervised benchmark).
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet3d.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement

from .linear_svm import DEFAULT_C_GRID, check_features, fit_linear_svm
from .stratified_holdout import stratified_holdout

__all__ = ['LinearSVMMetric', 'feature_record', 'stack_feature_records']


def _to_numpy(value) -> np.ndarray:
    if torch.is_tensor(value):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def feature_record(sample) -> dict:
    """What the metric keeps of one predicted data sample.

    Args:
        sample (BaseDataElement | dict): a data sample returned by the
            model's ``val_step``/``test_step`` (or its ``to_dict()``), with
            the encoder feature as ``feature`` (``I2PMAE.predict``), the
            class as ``gt_label`` and, optionally, the dataset position as
            ``sample_idx``.

    Returns:
        dict: ``feature`` (float32 ``[C]``), ``label`` (int) and ``index``
        (int or None).

    Raises:
        ValueError: the sample has no ``feature`` or no ``gt_label``.
    """
    if isinstance(sample, BaseDataElement):
        sample = sample.to_dict()
    if sample.get('feature') is None:
        raise ValueError(
            "a data sample has no 'feature': the linear-SVM evaluation needs "
            "a model whose predict mode stores the encoder feature as "
            "'feature' (e.g. I2PMAE)")
    if sample.get('gt_label') is None:
        raise ValueError(
            "a data sample has no 'gt_label': the linear-SVM evaluation "
            'needs labelled data')
    label = _to_numpy(sample['gt_label']).reshape(-1)
    index = sample.get('sample_idx')
    return dict(
        feature=_to_numpy(sample['feature']).astype(np.float32).reshape(-1),
        label=int(label[0]),
        index=None if index is None else int(index))


def stack_feature_records(
        records: Sequence[dict]) -> Tuple[np.ndarray, np.ndarray]:
    """Features and labels of records, in dataset order when it is known.

    Args:
        records (Sequence[dict]): :func:`feature_record` outputs.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``[N, C]`` float32 features and
        ``[N]`` int64 labels, sorted by ``index`` when every record has one.
    """
    records = list(records)
    if records and all(r['index'] is not None for r in records):
        records.sort(key=lambda r: r['index'])
    if not records:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
    features = np.stack([r['feature'] for r in records])
    labels = np.asarray([r['label'] for r in records], dtype=np.int64)
    return features, labels


@METRICS.register_module()
class LinearSVMMetric(BaseMetric):
    """Accuracy of a linear SVM fitted on encoder features.

    The features of the samples the evaluator sees (``process``) are
    scored by a linear SVM (``[StandardScaler,] SVC(kernel='linear')``, see
    :func:`fit_linear_svm`) fitted on other features of the same encoder:

    * ``holdout=None``: the fitted features come from another split and
      are set as :attr:`fit_results` before :meth:`evaluate` (by
      ``LinearSVMTestLoop``/``LinearSVMValLoop`` with a ``fit_dataloader``);
    * ``holdout=0.2``: the processed samples are themselves split
      (:func:`stratified_holdout`, deterministic): the SVM is fitted on 80%
      and scores the 20% held out. Used to validate during pretraining on
      the SVM train split, so that the test split selects nothing.

    C is fixed (``C=0.01``) or, with ``C=None``, chosen by stratified k-fold
    cross-validation on the fitted features only. Results (prefix
    ``svm``): ``svm/accuracy`` (percent) and ``svm/C``.

    Args:
        C (float, optional): a fixed C; None (default) chooses it from
            ``c_grid`` by cross-validation.
        standardize (bool): z-score each feature dimension with the
            statistics of the fitted features. Defaults to True (the
            features' spread across samples changes by several times during
            pretraining; a fixed C would not fit them all).
        c_grid (Sequence[float]): candidates for C.
        cv_folds (int): folds of the cross-validation (fewer when a class
            has fewer samples, at least 2). Defaults to 5.
        holdout (float, optional): score a stratified share of the
            processed samples instead of a separate split.
        holdout_seed (int): seed of the held-out draw. Defaults to 0.
        seed (int): seed of the cross-validation folds. Defaults to 0.
        n_jobs (int, optional): parallel cross-validation fits.
        collect_device (str): ``'cpu'`` or ``'gpu'``, to gather results
            across ranks.
        prefix (str, optional): metric name prefix; ``'svm'`` if None.
    """

    default_prefix = 'svm'

    def __init__(self,
                 C: Optional[float] = None,
                 standardize: bool = True,
                 c_grid: Sequence[float] = DEFAULT_C_GRID,
                 cv_folds: int = 5,
                 holdout: Optional[float] = None,
                 holdout_seed: int = 0,
                 seed: int = 0,
                 n_jobs: Optional[int] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if C is not None and not C > 0:
            raise ValueError(f'LinearSVMMetric: C must be positive or None '
                             f'(cross-validation), got {C}')
        if C is None and (not len(c_grid) or min(c_grid) <= 0):
            raise ValueError('LinearSVMMetric: c_grid must hold positive '
                             f'values, got {c_grid}')
        if int(cv_folds) < 2:
            raise ValueError(
                f'LinearSVMMetric: cv_folds must be >= 2, got {cv_folds}')
        if holdout is not None and not 0 < holdout < 1:
            raise ValueError('LinearSVMMetric: holdout must be in (0, 1) or '
                             f'None, got {holdout}')
        self.C = C
        self.standardize = bool(standardize)
        self.c_grid = tuple(float(c) for c in c_grid)
        self.cv_folds = int(cv_folds)
        self.holdout = holdout
        self.holdout_seed = holdout_seed
        self.seed = seed
        self.n_jobs = n_jobs
        #: records of the fitted split (main process), set before evaluate
        self.fit_results: Optional[List[dict]] = None

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Keep the feature, label and index of each predicted sample.

        Args:
            data_batch: the batch (unused).
            data_samples (Sequence): the model's outputs.
        """
        self.results.extend(feature_record(s) for s in data_samples)

    def compute_metrics(self, results: List[dict]) -> dict:
        """Fit the SVM and score the processed samples (main process).

        Args:
            results (list[dict]): records of every rank, padding removed.

        Returns:
            dict: ``accuracy`` (percent) and ``C``.

        Raises:
            ValueError: no fitted features (``holdout=None`` and no
                :attr:`fit_results`), both, or features that cannot be
                fitted.
        """
        fit_results, self.fit_results = self.fit_results, None
        features, labels = stack_feature_records(results)
        if self.holdout is not None:
            if fit_results is not None:
                raise ValueError(
                    'LinearSVMMetric: holdout is set and fit features were '
                    'given too; use one (holdout for validation on one '
                    'split, a fit_dataloader to score another split)')
            check_features(features, labels, 'linear SVM features')
            fit_idx, score_idx = stratified_holdout(labels, self.holdout,
                                                    self.holdout_seed)
            if not len(score_idx):
                raise ValueError(f'LinearSVMMetric: holdout={self.holdout} of '
                                 f'{len(labels)} samples holds none out')
            fit_x, fit_y = features[fit_idx], labels[fit_idx]
            features, labels = features[score_idx], labels[score_idx]
            source = f'{len(fit_y)} of the split ({self.holdout:.0%} held out)'
        else:
            if fit_results is None:
                raise ValueError(
                    'LinearSVMMetric: no features to fit the SVM on: set '
                    'holdout, or evaluate with LinearSVMTestLoop / '
                    'LinearSVMValLoop and a fit_dataloader')
            fit_x, fit_y = stack_feature_records(fit_results)
            source = f'{len(fit_y)} of the fit split'
        check_features(features, labels, 'linear SVM scored features')
        fit = fit_linear_svm(
            fit_x,
            fit_y,
            C=self.C,
            standardize=self.standardize,
            c_grid=self.c_grid,
            cv_folds=self.cv_folds,
            seed=self.seed,
            n_jobs=self.n_jobs)
        predicted = fit.classifier.predict(features.astype(np.float64))
        accuracy = 100.0 * float(np.mean(predicted == labels))
        how = (f'C={fit.C:g} by {fit.cv_folds}-fold cross-validation over '
               f'{list(self.c_grid)} (accuracy {fit.cv_accuracy:.2f}%)'
               if fit.cv_accuracy is not None else f'C={fit.C:g} (fixed)')
        searched = fit.cv_accuracy is not None and len(set(self.c_grid)) > 1
        if searched and fit.C in (min(self.c_grid), max(self.c_grid)):
            how += '; at the edge of c_grid, a wider grid may fit better'
        print_log(
            f'linear SVM: fitted on {source} ({fit_x.shape[1]}-d features, '
            f'{"standardised" if self.standardize else "raw"}), {how}; '
            f'accuracy {accuracy:.2f}% on {len(labels)} samples',
            logger='current')
        return dict(accuracy=accuracy, C=fit.C)

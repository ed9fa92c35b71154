"""evaluation components of the I2P-MAE plugin."""
from .linear_svm import (DEFAULT_C_GRID, LinearSVMFit, build_linear_svm,
                         check_features, cv_fold_count, fit_linear_svm)
from .linear_svm_metric import (LinearSVMMetric, feature_record,
                                stack_feature_records)
from .part_seg_miou import PartSegMIoU, shape_part_ious
from .stratified_holdout import stratified_holdout
from .vote_accuracy import VoteAccuracy

__all__ = [
    'DEFAULT_C_GRID', 'LinearSVMFit', 'build_linear_svm', 'check_features',
    'cv_fold_count', 'fit_linear_svm', 'LinearSVMMetric', 'feature_record',
    'stack_feature_records', 'stratified_holdout', 'VoteAccuracy',
    'PartSegMIoU', 'shape_part_ious'
]

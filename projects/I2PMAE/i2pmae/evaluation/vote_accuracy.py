"""Accuracy of the test-time voting predictions of a classifier."""
from typing import Sequence

from mmdet3d.registry import METRICS
from mmpretrain.evaluation import Accuracy

__all__ = ['VoteAccuracy']


@METRICS.register_module()
class VoteAccuracy(Accuracy):
    """mmpretrain's ``Accuracy`` of the ``vote_score`` of data samples.

    :class:`~..models.PointClassifier` with ``test_cfg.votes`` adds
    ``vote_score`` (the softmax of the logits averaged over the augmented
    views) to every data sample of its test step, beside the plain
    ``pred_score``. With ``mmpretrain.Accuracy`` in the same evaluator both
    are logged: ``accuracy/top1`` and ``vote/accuracy/top1``.

    Args:
        topk (int | Sequence[int]): see ``mmpretrain.Accuracy``. Defaults to
            ``(1, )``.
        thrs (float | Sequence[float | None] | None): see
            ``mmpretrain.Accuracy``. Defaults to 0.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): metric-name prefix. Defaults to
            ``'vote/accuracy'``.
    """

    default_prefix = 'vote/accuracy'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the vote score and the label of every sample.

        Args:
            data_batch: the batch (unused).
            data_samples (Sequence[dict]): the model's outputs.

        Raises:
            ValueError: a sample without ``vote_score``.
        """
        for data_sample in data_samples:
            if 'vote_score' not in data_sample:
                raise ValueError(
                    'VoteAccuracy: a data sample has no vote_score; '
                    'predictions get one only in the test step of a model '
                    'that votes (PointClassifier with model.test_cfg.votes '
                    '> 0). Remove VoteAccuracy from the evaluator or set '
                    'the votes')
            self.results.append(
                dict(
                    pred_score=data_sample['vote_score'].cpu(),
                    gt_label=data_sample['gt_label'].cpu()))

"""Encoder features of a whole dataloader, gathered from every rank."""
from typing import List, Optional

import torch
from mmengine.dist import collect_results, is_main_process
from mmengine.runner.amp import autocast

from ..evaluation.linear_svm_metric import feature_record
from ..utils.progress import ProgressReporter

__all__ = ['extract_features']


def extract_features(model,
                     dataloader,
                     step: str = 'test_step',
                     fp16: bool = False,
                     collect_device: str = 'cpu',
                     task: str = 'features') -> Optional[List[dict]]:
    """Run the model over a dataloader and gather one record per sample.

    The model is put in evaluation mode and run without gradients through
    ``model.<step>`` (``val_step`` / ``test_step``: data preprocessor, then
    ``predict``). Each output sample becomes a
    :func:`~..evaluation.feature_record` (feature, label, dataset index).
    Under DDP every rank processes its share of the distributed sampler;
    :func:`mmengine.dist.collect_results` puts the shares back in sampler
    order and drops the padding the sampler added (``len(dataset)``
    records). The main process shows progress (mmengine's ``ProgressBar``
    on a terminal).

    Args:
        model (nn.Module): the runner's model (wrapped or not).
        dataloader (DataLoader): the data.
        step (str): ``'val_step'`` or ``'test_step'``.
        fp16 (bool): run under ``autocast``.
        collect_device (str): ``'cpu'`` or ``'gpu'`` gathering.
        task (str): what the progress lines call the work.

    Returns:
        list[dict] | None: the records of the whole dataset on the main
        process; None on the other ranks.
    """
    model.eval()
    progress = (
        ProgressReporter(len(dataloader), task=task)
        if is_main_process() and len(dataloader) else None)
    records = []
    with torch.no_grad():
        for data_batch in dataloader:
            with autocast(enabled=fp16):
                outputs = getattr(model, step)(data_batch)
            records.extend(feature_record(sample) for sample in outputs)
            if progress is not None:
                progress.update()
    if progress is not None:
        progress.finish()
    return collect_results(records, len(dataloader.dataset), collect_device)

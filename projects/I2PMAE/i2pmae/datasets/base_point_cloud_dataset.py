"""Common base of the point-cloud classification / segmentation datasets."""
import copy
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmdet3d.registry import TRANSFORMS
from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

from .file_io import require_path
from .samplers import isolated_rng


def build_pipeline(pipeline: Sequence[Union[dict, Callable]]) -> List:
    """Build transform configs with mmdet3d's registry.

    Building under the ``mmdet3d`` scope lets a dataset be built from plain
    Python without a runner having set the default scope first.

    Args:
        pipeline (Sequence[dict | Callable]): transform configs or objects.

    Returns:
        list: built transforms.
    """
    built = []
    for transform in pipeline:
        if isinstance(transform, dict):
            with DefaultScope.overwrite_default_scope('mmdet3d'):
                transform = TRANSFORMS.build(copy.deepcopy(transform))
        elif not callable(transform):
            raise TypeError('pipeline entries must be dicts or callables, '
                            f'got {type(transform)}')
        built.append(transform)
    return built


class BasePointCloudDataset(BaseDataset):
    """Base class of the point-cloud datasets of this package.

    Subclasses implement :meth:`load_data_list`, whose data infos carry
    ``gt_label`` and either ``cloud_index`` into ``self._clouds`` (in-memory
    clouds: an array ``[n, N, C]`` or a list of ``[N_i, C]`` arrays) or
    ``points_path``, read by the subclass's :meth:`load_points`.
    :meth:`prepare_data` adds ``points`` (float32 ``[N, C]``; C is 3, or 6
    with normals) to a copy of the data info and runs the pipeline.

    A :class:`~.samplers.SeededIndex` (from
    :class:`~.samplers.SeededSampler`) runs the pipeline under its seed
    (:func:`~.samplers.isolated_rng`), so the sample's augmentation is a
    pure function of (seed, epoch, position) and the global RNGs are left as
    they were; a plain ``int`` index draws from the global RNGs.

    Args:
        data_root (str): the dataset folder.
        split (str): which split to read; checked against ``SPLITS``.
        use_normals (bool): keep the normal columns (x, y, z, nx, ny, nz)
            when the files have them. Defaults to False (xyz only).
        pipeline (list[dict | Callable]): transforms, ending in
            ``PackPointCloudInputs``.
        metainfo (dict, optional): overrides of ``METAINFO``.
        test_mode (bool): passed to :class:`mmengine.dataset.BaseDataset`.
        **kwargs: other :class:`mmengine.dataset.BaseDataset` arguments
            (``indices``, ``serialize_data``, ``lazy_init`` ...).
    """

    #: splits accepted by ``split``
    SPLITS: Sequence[str] = ('train', 'test')
    #: human-readable layout quoted in the errors about missing files
    LAYOUT: str = ''

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 use_normals: bool = False,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 metainfo: Optional[dict] = None,
                 test_mode: bool = False,
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'split must be one of {tuple(self.SPLITS)}, '
                             f'got {split!r}')
        if not data_root:
            raise ValueError('data_root must be the dataset folder, got '
                             f'{data_root!r}')
        require_path(data_root, f'{type(self).__name__} data_root',
                     self.LAYOUT)
        self.split = split
        self.use_normals = use_normals
        self._clouds: Union[np.ndarray, List[np.ndarray], None] = None
        super().__init__(
            data_root=data_root,
            metainfo=metainfo,
            pipeline=build_pipeline(pipeline),
            test_mode=test_mode,
            **kwargs)

    def path(self, *parts: str) -> str:
        """Join ``parts`` onto ``data_root``.

        Args:
            *parts (str): path components.

        Returns:
            str: the joined path.
        """
        return osp.join(self.data_root, *parts)

    def require(self, path: str, what: str) -> str:
        """Check that a file of the layout exists.

        Args:
            path (str): the path.
            what (str): what the path is.

        Returns:
            str: ``path``.
        """
        return require_path(path, what, self.LAYOUT)

    def require_files(self, paths: Sequence[str], what: str) -> None:
        """Check that every listed file exists, naming the first missing one.

        Args:
            paths (Sequence[str]): the files.
            what (str): what they are, e.g. ``'shape file(s) listed in the
                split'``.
        """
        missing = [path for path in paths if not osp.isfile(path)]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} {what} are missing, e.g. {missing[0]!r}. '
                f'Expected layout:\n{self.LAYOUT}')

    @property
    def num_classes(self) -> int:
        """Number of classes of the label space."""
        return len(self._metainfo['classes'])

    def load_points(self, data_info: dict) -> np.ndarray:
        """Read the cloud of an on-disk sample.

        Args:
            data_info (dict): the sample's data info (with ``points_path``).

        Returns:
            np.ndarray: ``[N, C]`` float32 cloud.
        """
        raise NotImplementedError(
            f'{type(self).__name__} keeps no clouds in memory and must '
            'implement load_points')

    def select_columns(self, points: np.ndarray, sample: str) -> np.ndarray:
        """Keep xyz, or xyz + normals when ``use_normals``.

        Args:
            points (np.ndarray): ``[N, C]`` cloud.
            sample (str): description of the sample for errors.

        Returns:
            np.ndarray: float32 ``[N, 3]`` (or ``[N, 6]``), a private copy
            that transforms may modify in place.
        """
        if self.use_normals and points.shape[1] < 6:
            raise ValueError(
                f'use_normals=True but {sample} of {type(self).__name__} '
                f'has {points.shape[1]} columns (expected x, y, z, nx, ny, '
                'nz)')
        points = points[:, :6 if self.use_normals else 3]
        return np.array(points, dtype=np.float32, copy=True)

    def load_sample(self, data_info: dict) -> dict:
        """Per-point arrays of one sample.

        Args:
            data_info (dict): the sample's data info.

        Returns:
            dict: ``points`` (and, in segmentation datasets,
            ``pts_semantic_mask``).
        """
        if 'cloud_index' in data_info:
            points = self._clouds[data_info['cloud_index']]
        else:
            points = self.load_points(data_info)
        return dict(
            points=self.select_columns(points,
                                       f'sample {data_info["sample_idx"]}'))

    def __getitem__(self, idx: int) -> dict:
        """Sample ``idx`` through the pipeline.

        Args:
            idx (int): sample index; a :class:`~.samplers.SeededIndex` runs
                the pipeline (and any refetch of another sample) under its
                seed.

        Returns:
            dict: the pipeline's output.
        """
        seed = getattr(idx, 'seed', None)
        if seed is None:
            return super().__getitem__(idx)
        with isolated_rng(seed):
            return super().__getitem__(int(idx))

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Load the cloud of sample ``idx`` and run the pipeline on it.

        Args:
            idx (int): sample index.

        Returns:
            dict | None: the pipeline's output.
        """
        data_info = self.get_data_info(idx)
        data_info.update(self.load_sample(data_info))
        data_info['num_points'] = len(data_info['points'])
        return self.pipeline(data_info)

    def get_cat_ids(self, idx: int) -> List[int]:
        """Class of sample ``idx`` (for class-balanced wrappers).

        Args:
            idx (int): sample index.

        Returns:
            list[int]: ``[gt_label]``.
        """
        return [int(self.get_data_info(idx)['gt_label'])]

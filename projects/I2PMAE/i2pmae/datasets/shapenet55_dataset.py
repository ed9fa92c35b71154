"""ShapeNet-55 (the pre-training set of Point-BERT / Point-MAE / I2P-MAE)."""
import os.path as osp
from typing import List

from mmdet3d.registry import DATASETS

from .base_point_cloud_dataset import BasePointCloudDataset
from .file_io import check_finite, read_lines, read_npy_points

SHAPENET55_LAYOUT = """\
<data_root>/                        e.g. data/ShapeNet55-34
    ShapeNet-55/
        train.txt                   one '<taxonomy>-<model>.npy' per line
        test.txt
    shapenet_pc/
        <taxonomy>-<model>.npy      float array [8192, 3]"""


@DATASETS.register_module()
class ShapeNet55Dataset(BasePointCloudDataset):
    """ShapeNet-55 point clouds for self-supervised pre-training.

    Each sample is one ``.npy`` cloud of 8192 points read on demand; the
    pipeline samples 2048 of them and normalises them to the unit sphere.
    ``gt_label`` is the index of the sample's taxonomy (ShapeNet synset) in
    the sorted set of taxonomies of ``train.txt`` and ``test.txt`` (those that
    exist), so train and test share one label space. The files are laid
    out as in ``SHAPENET55_LAYOUT``.

    Args:
        data_root (str): the ``ShapeNet55-34`` folder.
        split (str): ``'train'`` or ``'test'``.
        whole (bool): train on train + test (the "whole" ShapeNet-55 setting
            of the official pre-training). Defaults to False.
        list_dir (str): folder of the split lists, relative to data_root.
        pc_dir (str): folder of the ``.npy`` clouds, relative to data_root.
        **kwargs: see :class:`BasePointCloudDataset`.
    """

    LAYOUT = SHAPENET55_LAYOUT

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 whole: bool = False,
                 list_dir: str = 'ShapeNet-55',
                 pc_dir: str = 'shapenet_pc',
                 **kwargs) -> None:
        self.whole = whole
        self.list_dir = list_dir
        self.pc_dir = pc_dir
        super().__init__(data_root=data_root, split=split, **kwargs)

    def _list_file(self, split: str) -> str:
        return self.path(self.list_dir, f'{split}.txt')

    def _read_list(self, split: str) -> List[str]:
        return read_lines(
            self._list_file(split), 'ShapeNet-55 split file', self.LAYOUT)

    def load_data_list(self) -> List[dict]:
        """Read the split lists.

        Returns:
            list[dict]: data infos with ``points_path``, ``taxonomy_id``,
            ``model_id`` and ``gt_label``.
        """
        self.require(self.path(self.pc_dir), 'ShapeNet-55 cloud folder')
        splits = ['train', 'test'] if self.whole else [self.split]
        entries = []
        for split in splits:
            for row, line in enumerate(self._read_list(split), start=1):
                stem, ext = osp.splitext(osp.basename(line))
                if ext != '.npy' or '-' not in stem:
                    raise ValueError(
                        f'ShapeNet-55 split file {self._list_file(split)!r}, '
                        f"row {row}: expected '<taxonomy>-<model>.npy', got "
                        f'{line!r}')
                entries.append((line, *stem.split('-', 1)))
        if 'classes' not in self._metainfo:
            taxonomies = {e[1] for e in entries}
            for split in ('train', 'test'):
                if split not in splits and osp.isfile(self._list_file(split)):
                    taxonomies.update(
                        osp.basename(line).split('-', 1)[0]
                        for line in self._read_list(split))
            self._metainfo['classes'] = tuple(sorted(taxonomies))
        class_index = {c: i for i, c in enumerate(self._metainfo['classes'])}
        data_list = []
        for file_name, taxonomy_id, model_id in entries:
            if taxonomy_id not in class_index:
                raise ValueError(f'ShapeNet-55 sample {file_name!r}: taxonomy '
                                 f'{taxonomy_id!r} is not in the class list '
                                 f'{self._metainfo["classes"]}')
            data_list.append(
                dict(
                    points_path=self.path(self.pc_dir, file_name),
                    taxonomy_id=taxonomy_id,
                    model_id=model_id,
                    gt_label=class_index[taxonomy_id]))
        self.require_files([d['points_path'] for d in data_list],
                           'ShapeNet-55 cloud(s) listed in the split file')
        return data_list

    def load_points(self, data_info: dict):
        """Read one ``.npy`` cloud.

        Args:
            data_info (dict): data info with ``points_path``.

        Returns:
            np.ndarray: ``[N, 3]`` float32 cloud.
        """
        path = data_info['points_path']
        points = read_npy_points(path)
        check_finite(points, f'ShapeNet-55 sample {path!r}')
        return points

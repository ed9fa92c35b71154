"""ShapeNetPart part segmentation (16 categories, 50 parts)."""
import json
from typing import List, Optional, Sequence

import numpy as np
from mmdet3d.registry import DATASETS

from .base_point_cloud_dataset import BasePointCloudDataset
from .class_names import SHAPENETPART_SEG_CLASSES
from .file_io import check_finite, read_lines, read_point_txt

SHAPENETPART_LAYOUT = """\
<data_root>/            e.g. data/shapenetcore_partanno_segmentation_benchmark_v0_normal
    synsetoffset2category.txt               '<Category> <synset>' per line
    train_test_split/
        shuffled_train_file_list.json       ["shape_data/<synset>/<token>", ...]
        shuffled_val_file_list.json
        shuffled_test_file_list.json
    <synset>/<token>.txt                    rows 'x y z nx ny nz part'"""  # noqa: E501


@DATASETS.register_module()
class ShapeNetPartDataset(BasePointCloudDataset):
    """ShapeNetPart part segmentation: 16 categories, 50 parts.

    Each sample is a ``.txt`` file read on demand with rows
    ``x y z nx ny nz part`` (part ids are global, 0..49). The category id is
    the category's row in ``synsetoffset2category.txt``; it is both
    ``gt_label`` and ``category_id``. Per-point part labels go to
    ``pts_semantic_mask``. Samples are ordered by category, then by token.
    The files are laid out as in ``SHAPENETPART_LAYOUT``.

    Args:
        data_root (str): the ShapeNetPart folder.
        split (str): ``'train'``, ``'val'``, ``'test'`` or ``'trainval'``.
        class_choice (Sequence[str], optional): keep these categories only
            (ids stay those of the full list).
        **kwargs: see :class:`BasePointCloudDataset`.
    """

    SPLITS = ('train', 'val', 'test', 'trainval')
    LAYOUT = SHAPENETPART_LAYOUT
    METAINFO = dict(
        classes=tuple(SHAPENETPART_SEG_CLASSES),
        seg_classes=SHAPENETPART_SEG_CLASSES,
        num_parts=50)

    def __init__(self,
                 data_root: str,
                 split: str = 'trainval',
                 class_choice: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        self.class_choice = None if class_choice is None else set(class_choice)
        super().__init__(data_root=data_root, split=split, **kwargs)

    def _read_categories(self) -> List[tuple]:
        """(category, synset) of ``synsetoffset2category.txt``, in order."""
        path = self.path('synsetoffset2category.txt')
        seg_classes = self._metainfo['seg_classes']
        categories = []
        for row, line in enumerate(
                read_lines(path, 'ShapeNetPart category file', self.LAYOUT),
                start=1):
            fields = line.split()
            if len(fields) != 2:
                raise ValueError(f'ShapeNetPart category file {path!r}, row '
                                 f"{row}: expected '<Category> <synset>', got "
                                 f'{line!r}')
            if fields[0] not in seg_classes:
                raise ValueError(
                    f'ShapeNetPart category file {path!r}, row {row}: '
                    f'category {fields[0]!r} is not in the class list '
                    f'{tuple(seg_classes)}')
            categories.append((fields[0], fields[1]))
        if self.class_choice is not None:
            unknown = self.class_choice - {c for c, _ in categories}
            if unknown:
                raise ValueError(f'class_choice {sorted(unknown)} not in '
                                 f'{[c for c, _ in categories]}')
        return categories

    def _read_split_tokens(self) -> set:
        """The split's shapes as (synset, token) pairs."""
        names = ['train', 'val'] if self.split == 'trainval' else [self.split]
        pairs = set()
        for name in names:
            path = self.require(
                self.path('train_test_split',
                          f'shuffled_{name}_file_list.json'),
                'ShapeNetPart split file')
            try:
                with open(path, 'r') as f:
                    entries = json.load(f)
            except ValueError as err:
                raise ValueError(f'ShapeNetPart split file {path!r} is not '
                                 f'valid JSON: {err}') from None
            if not isinstance(entries, list):
                raise ValueError(
                    f'ShapeNetPart split file {path!r}: expected '
                    'a JSON list of "shape_data/<synset>/<token>"')
            for entry in entries:
                parts = str(entry).strip('/').split('/')
                if len(parts) < 2:
                    raise ValueError(
                        f'ShapeNetPart split file {path!r}: entry {entry!r} '
                        'is not "shape_data/<synset>/<token>"')
                pairs.add((parts[-2], parts[-1]))
        return pairs

    def load_data_list(self) -> List[dict]:
        """List the split's shapes.

        Returns:
            list[dict]: data infos with ``points_path``, ``category``,
            ``category_id``, ``gt_label`` and ``token``.
        """
        categories = self._read_categories()
        self._metainfo['classes'] = tuple(c for c, _ in categories)
        pairs = self._read_split_tokens()
        synset_to_id = {s: i for i, (_, s) in enumerate(categories)}
        unknown = sorted({s for s, _ in pairs} - set(synset_to_id))
        if unknown:
            raise ValueError(
                f'ShapeNetPart split {self.split!r} lists synsets {unknown} '
                'that are not in synsetoffset2category.txt')
        data_list = [
            dict(
                points_path=self.path(synset, f'{token}.txt'),
                category=category,
                category_id=category_id,
                gt_label=category_id,
                token=token)
            for category_id, (category, synset) in enumerate(categories)
            if self.class_choice is None or category in self.class_choice
            for token in sorted(t for s, t in pairs if s == synset)
        ]
        self.require_files([d['points_path'] for d in data_list],
                           'ShapeNetPart shape file(s) listed in the split')
        return data_list

    def load_sample(self, data_info: dict) -> dict:
        """Read one shape file.

        Args:
            data_info (dict): data info with ``points_path`` and
                ``category``.

        Returns:
            dict: ``points`` float32 ``[N, 3 or 6]`` and
            ``pts_semantic_mask`` int64 ``[N]`` (global part ids).
        """
        path = data_info['points_path']
        rows = read_point_txt(path, num_columns=7)
        check_finite(rows[:, :6], f'ShapeNetPart sample {path!r}')
        mask = rows[:, 6].astype(np.int64)
        parts = np.asarray(
            self._metainfo['seg_classes'][data_info['category']])
        bad = ~np.isin(mask, parts) | (mask != rows[:, 6])
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f'ShapeNetPart sample {path!r}, row {row + 1}: part label '
                f'{rows[row, 6]:g} is not one of the parts {tuple(parts)} '
                f'of {data_info["category"]}')
        return dict(
            points=self.select_columns(rows, f'ShapeNetPart sample {path!r}'),
            pts_semantic_mask=mask)

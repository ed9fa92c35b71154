"""Class lists of the public point-cloud benchmarks."""

#: ModelNet40 classes, in the order of ``modelnet40_shape_names.txt``.
MODELNET40_CLASSES = ('airplane', 'bathtub', 'bed', 'bench', 'bookshelf',
                      'bottle', 'bowl', 'car', 'chair', 'cone', 'cup',
                      'curtain', 'desk', 'door', 'dresser', 'flower_pot',
                      'glass_box', 'guitar', 'keyboard', 'lamp', 'laptop',
                      'mantel', 'monitor', 'night_stand', 'person', 'piano',
                      'plant', 'radio', 'range_hood', 'sink', 'sofa', 'stairs',
                      'stool', 'table', 'tent', 'toilet', 'tv_stand', 'vase',
                      'wardrobe', 'xbox')

#: ScanObjectNN classes, in label order.
SCANOBJECTNN_CLASSES = ('bag', 'bin', 'box', 'cabinet', 'chair', 'desk',
                        'display', 'door', 'shelf', 'table', 'bed', 'pillow',
                        'sink', 'sofa', 'toilet')

#: ShapeNetPart categories (``synsetoffset2category.txt`` order) and their
#: global part ids (50 parts in all).
SHAPENETPART_SEG_CLASSES = {
    'Airplane': (0, 1, 2, 3),
    'Bag': (4, 5),
    'Cap': (6, 7),
    'Car': (8, 9, 10, 11),
    'Chair': (12, 13, 14, 15),
    'Earphone': (16, 17, 18),
    'Guitar': (19, 20, 21),
    'Knife': (22, 23),
    'Lamp': (24, 25, 26, 27),
    'Laptop': (28, 29),
    'Motorbike': (30, 31, 32, 33, 34, 35),
    'Mug': (36, 37),
    'Pistol': (38, 39, 40),
    'Rocket': (41, 42, 43),
    'Skateboard': (44, 45, 46),
    'Table': (47, 48, 49),
}

#: ShapeNet synset offset of each ShapeNetPart category.
SHAPENETPART_SYNSETS = {
    'Airplane': '02691156',
    'Bag': '02773838',
    'Cap': '02954340',
    'Car': '02958343',
    'Chair': '03001627',
    'Earphone': '03261776',
    'Guitar': '03467517',
    'Knife': '03624134',
    'Lamp': '03636649',
    'Laptop': '03642806',
    'Motorbike': '03790512',
    'Mug': '03797390',
    'Pistol': '03948459',
    'Rocket': '04099429',
    'Skateboard': '04225987',
    'Table': '04379243',
}

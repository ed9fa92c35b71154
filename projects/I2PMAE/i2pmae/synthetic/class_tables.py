"""Class tables of the synthetic shapes: class name -> recipe.

The recipe of class ``name`` is ``recipes.recipe_<name>`` (lower case).
"""
from typing import Dict

from ..datasets.class_names import SHAPENETPART_SEG_CLASSES
from . import recipes
from .recipes import Recipe

#: class name -> recipe of the classification layouts (ShapeNet-55,
#: ModelNet40, ScanObjectNN and few-shot use these)
CLASSIFICATION_RECIPES: Dict[str, Recipe] = {
    name: getattr(recipes, f'recipe_{name}')
    for name in ('sphere', 'box', 'cylinder', 'cone', 'torus', 'capsule',
                 'pyramid', 'bowl', 'tube', 'table', 'chair', 'stool', 'lamp',
                 'mug', 'bottle', 'shelf')
}

#: the 16 synthetic classes, in label order
SYNTHETIC_CLASSES = tuple(CLASSIFICATION_RECIPES)

#: ShapeNetPart category -> recipe, in the order of the real categories
#: (local part labels 0..k-1 map onto the category's global part ids)
PART_RECIPES: Dict[str, Recipe] = {
    category: getattr(recipes, f'recipe_{category.lower()}')
    for category in SHAPENETPART_SEG_CLASSES
}

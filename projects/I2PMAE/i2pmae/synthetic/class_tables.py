"""Class tables of the synthetic shapes: names -> recipes.

The classification layouts (ShapeNet-55, ModelNet40, ScanObjectNN,
few-shot) use the 16 classes of :data:`CLASSIFICATION_RECIPES`, in label
order; the ShapeNetPart layout uses the 16 real categories of
:data:`PART_RECIPES`.
"""
from typing import Dict

from .recipes import (Recipe, recipe_airplane, recipe_bag, recipe_bottle,
                      recipe_bowl, recipe_box, recipe_cap, recipe_capsule,
                      recipe_car, recipe_chair, recipe_cone, recipe_cylinder,
                      recipe_earphone, recipe_guitar, recipe_knife,
                      recipe_lamp, recipe_laptop, recipe_motorbike, recipe_mug,
                      recipe_pistol, recipe_pyramid, recipe_rocket,
                      recipe_shelf, recipe_skateboard, recipe_sphere,
                      recipe_stool, recipe_table, recipe_torus, recipe_tube)

#: class name -> recipe of the classification layouts (ShapeNet-55,
#: ModelNet40, ScanObjectNN and few-shot use these)
CLASSIFICATION_RECIPES: Dict[str, Recipe] = {
    'sphere': recipe_sphere,
    'box': recipe_box,
    'cylinder': recipe_cylinder,
    'cone': recipe_cone,
    'torus': recipe_torus,
    'capsule': recipe_capsule,
    'pyramid': recipe_pyramid,
    'bowl': recipe_bowl,
    'tube': recipe_tube,
    'table': recipe_table,
    'chair': recipe_chair,
    'stool': recipe_stool,
    'lamp': recipe_lamp,
    'mug': recipe_mug,
    'bottle': recipe_bottle,
    'shelf': recipe_shelf,
}

#: the 16 synthetic classes, in label order
SYNTHETIC_CLASSES = tuple(CLASSIFICATION_RECIPES)

#: ShapeNetPart category -> recipe (local part labels 0..k-1 map onto the
#: category's global part ids)
PART_RECIPES: Dict[str, Recipe] = {
    'Airplane': recipe_airplane,
    'Bag': recipe_bag,
    'Cap': recipe_cap,
    'Car': recipe_car,
    'Chair': recipe_chair,
    'Earphone': recipe_earphone,
    'Guitar': recipe_guitar,
    'Knife': recipe_knife,
    'Lamp': recipe_lamp,
    'Laptop': recipe_laptop,
    'Motorbike': recipe_motorbike,
    'Mug': recipe_mug,
    'Pistol': recipe_pistol,
    'Rocket': recipe_rocket,
    'Skateboard': recipe_skateboard,
    'Table': recipe_table,
}

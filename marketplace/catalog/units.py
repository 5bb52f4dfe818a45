"""The names of the units goods are counted in (`catalog.models.UNITS`), as a reader says them."""

UNIT_NAMES = {
    "jin": ("斤", "jin", "jin"),
    "kg": ("公斤", "kg", "kg"),
    "box": ("箱", "box", "boxes"),
    "bag": ("袋", "bag", "bags"),
    "bottle": ("瓶", "bottle", "bottles"),
    "piece": ("件", "piece", "pieces"),
    "pack": ("包", "pack", "packs"),
}


def unit_name(unit, locale="zh", plural=False):
    """`box` -> 箱 in Chinese, box (or boxes) in English; an unknown unit as it was stored."""
    names = UNIT_NAMES.get(unit)
    if names is None:
        return unit
    if str(locale).startswith("en"):
        return names[2] if plural else names[1]
    return names[0]

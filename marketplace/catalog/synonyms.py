"""Synonyms and regional names of produce, for search: a buyer in the north-east types 苞米, a
seller in Shandong lists 玉米, and both mean the same cob.

Each group lists names that mean the same thing. A product whose title (or village, cooperative)
holds one of them is indexed under the others' bigrams and pinyin too (`search.index_terms`), so a
search for any name finds it; the title's own name still ranks first (`browse` scores matches in
the title above matches through a synonym). Extend the table here and run `flask catalog reindex`.

Only names of two characters or more: a one-character name (梨) is a character every longer
name already holds (雪梨, 凤梨), and a search for one character already finds them all.
"""

GROUPS = (
    ("土豆", "马铃薯", "洋芋"),
    ("西红柿", "番茄"),
    ("玉米", "苞米", "棒子", "包谷"),
    ("山楂", "山里红"),
    ("小米", "粟米"),
    ("红薯", "地瓜", "番薯", "白薯"),
    ("花生", "落花生", "长生果"),
    ("香菜", "芫荽"),
    ("核桃", "胡桃"),
    ("辣椒", "海椒"),
    ("茄子", "矮瓜"),
    ("土鸡蛋", "柴鸡蛋", "笨鸡蛋"),
    ("黄豆", "大豆"),
    ("蜂蜜", "蜜糖"),
)


def _others():
    found = {}
    for group in GROUPS:
        for name in group:
            found.setdefault(name, set()).update(other for other in group if other != name)
    return {name: tuple(sorted(others)) for name, others in found.items()}


SYNONYMS = _others()  # name -> the other names of its group

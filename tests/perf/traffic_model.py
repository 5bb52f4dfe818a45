"""The traffic model of the `traffic` benchmark: URLs drawn as shoppers arrive, one list per page class.

- product pages: a Zipf distribution (s = 1) over ALL active products, the popular ones spread
  through the catalogue by a fixed shuffle (not the lowest ids);
- catalogue and search pages 1…N of their listing, N read from the database: half the requests
  on page 1, a quarter on pages 2–5, a quarter anywhere up to the last page (the last one
  included); every sort; the common filters (category, label, price band);
- searches from ~200 words: produce names and the district's village names;
- cooperative and village pages (the catalogue filtered by seller or origin), the town impact
  pages, the home page, and the API's public reads (product list, product detail, towns, impact).

`mix` draws from all classes with the weights in MIX. Visitors (first visit without a cookie,
returning with one) are chosen by the load generator per request, not here.
"""
import random
from math import ceil
from urllib.parse import quote

from sqlalchemy import text

PRODUCE_WORDS = (
    "小米 有机小米 雪梨 山楂 核桃 蜂蜜 富硒 苹果 大枣 花椒 香椿 红薯 土豆 玉米 小麦 大米 黑米 绿豆 红豆 黄豆 "
    "黑豆 花生 芝麻 板栗 柿子 桃 蜜桃 樱桃 葡萄 草莓 西瓜 甜瓜 梨 杏 李子 山药 南瓜 冬瓜 黄瓜 西红柿 茄子 辣椒 "
    "白菜 萝卜 胡萝卜 芹菜 菠菜 韭菜 大葱 大蒜 生姜 蘑菇 香菇 木耳 银耳 金针菇 鸡蛋 鸭蛋 土鸡 山羊 黑猪 牛肉 "
    "羊肉 小杂粮 荞麦 高粱 燕麦 薏米 红枣 枸杞 菊花 金银花 茶叶 绿茶 红茶 蜂王浆 蜂巢 槐花蜜 枣花蜜 山花蜂蜜 "
    "核桃仁 花生油 香油 芝麻油 粉条 粉丝 挂面 煎饼 馒头 豆腐 腐竹 咸菜 酱菜 辣椒酱 山楂片 山楂糕 果脯 柿饼 "
    "葡萄干 核桃粉 玉米面 小米粥 杂粮粉 土豆粉 地瓜干 红薯粉 南瓜子 葵花籽 西瓜子 桑葚 蓝莓 猕猴桃 石榴 "
    "无花果 香瓜 哈密瓜 橙子 橘子 柚子 柠檬 芒果 菠萝 荔枝 龙眼 香蕉 苹果醋 米醋 陈醋 酱油 黄酒 白酒 果酒 "
    "山楂酒 蜂蜜水 礼盒 特产 农家 散养 野生 有机 绿色 手工 新鲜 "
    "pear honey millet walnut hawthorn apple selenium organic"
).split()
MIX = {"product": 40, "catalogue": 12, "search": 14, "home": 8, "cooperative": 6, "village": 6, "impact": 4, "api": 10}
SORTS = ("featured", "price_asc", "price_desc", "newest")
PER_PAGE = 12


def _pages(rng, last):
    """A page number of a listing of `last` pages: page 1 half the time, 2–5 a quarter, any page a quarter."""
    roll = rng.random()
    if last <= 1 or roll < 0.5:
        return 1
    if roll < 0.75:
        return rng.randint(2, min(5, last))
    return rng.choice([last, rng.randint(1, last)])  # the last page itself half of these


class Zipf:
    def __init__(self, items, rng, s=1.0):
        self.items = list(items)
        rng.shuffle(self.items)
        total, self.cumulative = 0.0, []
        for rank in range(1, len(self.items) + 1):
            total += 1 / rank ** s
            self.cumulative.append(total)
        self.total = total

    def draw(self, rng):
        from bisect import bisect_left

        return self.items[min(bisect_left(self.cumulative, rng.random() * self.total), len(self.items) - 1)]


def build(connection, draws=4_000, seed=22):
    """{page class: [path, …]} with `draws` paths per class (repeats as the distributions give), and "mix"."""
    rng = random.Random(seed)
    q = lambda sql, **params: connection.execute(text(sql), params).all()  # noqa: E731
    listed = "status = 'active' AND direction = 'uplink' AND lowest_price_fen IS NOT NULL"
    slugs = [row[0] for row in q(f"SELECT slug FROM products WHERE {listed} ORDER BY id")]
    products = Zipf(slugs, rng)
    total = len(slugs)
    categories = q(f"SELECT category_id, count(*) FROM products WHERE {listed} GROUP BY category_id")
    labels = {label: q(f"SELECT count(*) FROM products WHERE {listed} AND {column}")[0][0] for label, column in
              (("selenium", "label_selenium_rich"), ("organic", "label_organic"),
               ("poor_direct", "label_poor_household_direct"))}
    coops = q(f"SELECT s.cooperative_id, count(*) FROM products p JOIN sellers s ON s.id = p.seller_id "
              f"WHERE {listed.replace('status', 'p.status').replace('direction', 'p.direction')} "
              f"AND s.cooperative_id IS NOT NULL GROUP BY s.cooperative_id")
    villages = q(f"SELECT origin_village_id, count(*) FROM products WHERE {listed} AND origin_village_id IS NOT NULL "
                 f"GROUP BY origin_village_id")
    village_names = [row[0] for row in q("SELECT name_zh FROM villages ORDER BY id LIMIT 60")]
    towns = [row[0] for row in q("SELECT slug FROM towns ORDER BY id")]
    words = list(dict.fromkeys(PRODUCE_WORDS + [name for name in village_names if name]))[:200]
    hits = {}
    for word in words:  # how many pages each search has (the same match as the storefront's, near enough)
        terms = [word[i:i + 2] for i in range(len(word) - 1)] if len(word) > 1 and not word.isascii() else [word.lower()]
        hits[word] = q(f"SELECT count(*) FROM products WHERE {listed} AND "
                       + " AND ".join(f"strpos(search_terms, :t{i}) > 0" for i in range(len(terms))),
                       **{f"t{i}": f" {term} " for i, term in enumerate(terms)})[0][0]

    def listing(base, count):
        sort = rng.choice(SORTS)
        page = _pages(rng, max(1, ceil(count / PER_PAGE)))
        joiner = "&" if "?" in base else "?"
        return f"{base}{joiner}sort={sort}" + (f"&page={page}" if page > 1 else "")

    def catalogue():
        roll = rng.random()
        if roll < 0.4:
            return listing("/products", total)
        if roll < 0.7:
            category, count = rng.choice(categories)
            return listing(f"/products?category={category}", count)
        if roll < 0.9:
            label, count = rng.choice(list(labels.items()))
            return listing(f"/products?label={label}", count)
        return listing("/products?max_price=50", total // 3)  # a price band: pages a guess, the end page may be empty

    def search():
        word = rng.choice(words)
        return listing(f"/products?q={quote(word)}", hits[word])

    def api():
        roll = rng.random()
        if roll < 0.45:
            return f"/api/v1/products/{quote(products.draw(rng))}"
        if roll < 0.8:
            word = rng.choice(words)
            return f"/api/v1/products?q={quote(word)}&sort={rng.choice(SORTS)}"
        if roll < 0.9:
            return "/api/v1/towns"
        return f"/api/v1/towns/{rng.choice(towns)}/impact"

    makers = {
        "product": lambda: f"/products/{quote(products.draw(rng))}",
        "catalogue": catalogue,
        "search": search,
        "home": lambda: "/",
        "cooperative": lambda: (lambda coop: listing(f"/products?cooperative={coop[0]}", coop[1]))(rng.choice(coops)),
        "village": lambda: (lambda village: listing(f"/products?village={village[0]}", village[1]))(rng.choice(villages)),
        "impact": lambda: f"/towns/{rng.choice(towns)}/impact",
        "api": api,
    }
    urls = {name: [make() for _ in range(draws)] for name, make in makers.items()}
    weights = [MIX[name] for name in makers]
    names = list(makers)
    urls["mix"] = [rng.choice(urls[rng.choices(names, weights)[0]]) for _ in range(draws * 2)]
    described = {"products": total, "words": len(words), "towns": len(towns), "cooperatives": len(coops),
                 "villages": len(villages)}
    return urls, described

"""The demo district: Zichuan (淄川区) as the article describes it, with fictional households.

Every row is found by a natural key before it is created, so running the seed twice changes
nothing. Names of people are invented; none is anyone named in the article.
"""
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from marketplace.catalog.models import Category, Product, ProductPhoto, Seller, Variant
from marketplace.coops.models import Cooperative, Membership, ShareHolding, SharingRule
from marketplace.coops.services import record_supply_lot
from marketplace.crypto import blind_index, mask
from marketplace.demo import buyer_address
from marketplace.demo.organisations import seed_demo_organisation
from marketplace.demo.pictures import draw_product_picture
from marketplace.demo.presales import seed_demo_presales
from marketplace.demo.subscriptions import seed_demo_subscriptions
from marketplace.downlink.models import DeliveryArea
from marketplace.extensions import db
from marketplace.funds.models import FixedReturnInvestment, InvestmentHolding
from marketplace.people.models import Household, Supplier, User
from marketplace.places.models import ServicePoint, Town, Village

DEMO_PASSWORD = "demo1234"

TOWNS = [
    ("taihe", "太河镇", "Taihe Town"), ("zhaili", "寨里镇", "Zhaili Town"), ("longquan", "龙泉镇", "Longquan Town"),
    ("lingzi", "岭子镇", "Lingzi Town"), ("xihe", "西河镇", "Xihe Town"),
    ("devzone", "淄川经济开发区", "Zichuan Development Zone"), ("kunlun", "昆仑镇", "Kunlun Town"),
    ("shuangyang", "双杨镇", "Shuangyang Town"),
]
# (town slug, name, English, provincial poor village, demo households)
VILLAGES = [
    ("taihe", "响泉村", "Xiangquan Village", False, 10), ("taihe", "东东峪村", "Dongdongyu Village", True, 6),
    ("taihe", "北下册村", "Beixiace Village", True, 6), ("taihe", "纱帽村", "Shamao Village", True, 8),
    ("taihe", "岛坪村", "Daoping Village", True, 6), ("taihe", "柏树村", "Baishu Village", False, 0),
    ("zhaili", "土堆村", "Tudui Village", True, 6), ("zhaili", "西崖村", "Xiya Village", False, 4),
    ("longquan", "久润富硒生态园", "Jiurun Selenium Eco-park", False, 6), ("lingzi", "李里村", "Lili Village", True, 12),
    ("xihe", "北坪村", "Beiping Village", False, 4), ("devzone", "黄家铺社区", "Huangjiapu Community", False, 0),
]
SURNAMES = [("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("孙", "Sun"),
            ("赵", "Zhao"), ("周", "Zhou"), ("吴", "Wu"), ("郑", "Zheng"), ("冯", "Feng"), ("韩", "Han")]
GIVEN = [("秀兰", "Xiulan"), ("建国", "Jianguo"), ("桂英", "Guiying"), ("长林", "Changlin"), ("玉梅", "Yumei"),
         ("守田", "Shoutian"), ("春花", "Chunhua"), ("满仓", "Mancang"), ("凤芝", "Fengzhi"), ("德顺", "Deshun"),
         ("淑珍", "Shuzhen"), ("金山", "Jinshan"), ("翠萍", "Cuiping"), ("丰年", "Fengnian")]

COOPERATIVES = [
    # key, town, village, zh, en, profit-return rate, dividend rate
    ("lili-grains", "lingzi", "李里村", "李里村小杂粮专业合作社", "Lili Minor Grains Cooperative", "0.30", "0.40"),
    ("jiurun-selenium", "longquan", "久润富硒生态园", "久润富硒果蔬专业合作社", "Jiurun Selenium-rich Produce Cooperative", "0.25", "0.30"),
    ("taihe-hawthorn", "taihe", "纱帽村", "太河山楂专业合作社", "Taihe Hawthorn Cooperative", "0.20", "0.30"),
    ("xiangquan-pears", "taihe", "响泉村", "响泉焦氏雪梨专业合作社", "Xiangquan Jiao-family Snow Pear Cooperative", "0.30", "0.30"),
    ("zhaili-millet", "zhaili", "土堆村", "寨里有机小米专业合作社", "Zhaili Organic Millet Cooperative", "0.25", "0.35"),
    ("xihe-ecommerce", "xihe", "北坪村", "西河双向流通电商合作社", "Xihe Two-way E-commerce Cooperative", "0.20", "0.30"),
    ("shamao-homestay", "taihe", "纱帽村", "纱帽村民宿合作社", "Shamao Homestay Cooperative", "0.00", "0.50"),
]
# cooperative key -> member villages
MEMBER_VILLAGES = {
    "lili-grains": ["李里村"], "jiurun-selenium": ["久润富硒生态园"], "taihe-hawthorn": ["纱帽村", "岛坪村"],
    "xiangquan-pears": ["响泉村"], "zhaili-millet": ["土堆村", "西崖村"], "xihe-ecommerce": ["北坪村"],
    "shamao-homestay": ["纱帽村"],
}
CATEGORIES = [
    ("fruit", "水果", "Fruit", "uplink"), ("grains", "五谷杂粮", "Grains", "uplink"),
    ("vegetables", "蔬菜", "Vegetables", "uplink"), ("specialties", "山货特产", "Mountain specialties", "uplink"),
    ("farm-supplies", "农资", "Farm supplies", "downlink"), ("household", "日用百货", "Household goods", "downlink"),
]
# slug, seller key, category, village, zh, en, labels, floor fen per lot unit, picture, story, variants
# variant: sku, zh, en, unit, price fen, stock, lot units per variant unit
PRODUCTS = [
    ("jiao-snow-pears", "coop:xiangquan-pears", "fruit", "响泉村", "焦氏雪梨", "Jiao-family snow pears",
     {"featured": True}, 400, "pear",
     ("响泉村山地果园的焦氏雪梨，皮薄汁多、脆甜化渣，由村里贫困户种植、合作社保底收购。",
      "Thin-skinned, juicy and crisp pears from Xiangquan's hillside orchards, grown by poor households and bought at a guaranteed floor by their cooperative."),
     [("PEAR-5J", "5斤装", "5 jin box", "box", 3990, 120, 5), ("PEAR-10J", "10斤装", "10 jin box", "box", 6990, 60, 10)]),
    ("lili-minor-grains", "coop:lili-grains", "grains", "李里村", "李里小杂粮", "Lili minor grains",
     {"featured": True}, 500, "grains",
     ("岭子镇李里村的谷子、豆子和高粱。合作社按每斤5元保底收购，卖得好再返还利润给农户。",
      "Millet, beans and sorghum from Lili Village. The cooperative guarantees 5 yuan a jin and returns profit to the growers."),
     [("GRAIN-1J", "1斤装", "1 jin bag", "jin", 800, 500, 1), ("GRAIN-5J", "5斤礼盒", "5 jin gift box", "box", 3800, 100, 5)]),
    ("zhaili-organic-millet", "coop:zhaili-millet", "grains", "土堆村", "寨里有机小米", "Zhaili organic millet",
     {"organic": True, "featured": True}, 600, "millet",
     ("寨里镇五千八百多亩有机谷子地里长出的小米，熬粥米油厚。",
      "Millet from Zhaili's 5,800 mu of organic fields; it cooks into a rich congee."),
     [("MILLET-2J", "2斤装", "2 jin bag", "jin", 2600, 200, 2), ("MILLET-5KG", "5公斤装", "5 kg sack", "bag", 11800, 40, 10)]),
    ("jiurun-selenium-tomatoes", "coop:jiurun-selenium", "vegetables", "久润富硒生态园", "久润富硒西红柿", "Jiurun selenium-rich tomatoes",
     {"selenium": True, "featured": True}, 300, "tomato",
     ("龙泉镇天然富硒土壤种出的西红柿，可到久润富硒生态园采摘。",
      "Tomatoes grown in Longquan's naturally selenium-rich soil; pick your own at the Jiurun eco-park."),
     [("TOMATO-3J", "3斤装", "3 jin box", "box", 2980, 80, 3)]),
    ("jiurun-selenium-cucumbers", "coop:jiurun-selenium", "vegetables", "久润富硒生态园", "富硒黄瓜", "Selenium-rich cucumbers",
     {"selenium": True}, 250, "cucumber",
     ("大棚里的富硒旱黄瓜，清脆爽口。", "Crunchy selenium-rich cucumbers from the greenhouses."),
     [("CUKE-3J", "3斤装", "3 jin box", "box", 2280, 80, 3)]),
    ("shamao-hawthorn", "coop:taihe-hawthorn", "fruit", "纱帽村", "纱帽山楂", "Shamao hawthorn",
     {"featured": True}, 150, "hawthorn",
     ("太河镇纱帽村、岛坪村的山楂，酸甜开胃，做糖葫芦、泡酒都好。",
      "Sweet-sour hawthorn from Shamao and Daoping, for candied haws or fruit wine."),
     [("HAW-5J", "5斤装", "5 jin bag", "bag", 2500, 150, 5)]),
    ("beixiace-honey", "household:北下册村:0", "specialties", "北下册村", "北下册山花蜂蜜", "Beixiace wildflower honey",
     {"poor_direct": True}, None, "honey",
     ("贫困户自家养蜂，山花蜜，免佣金直供。", "Wildflower honey from a poor household's own hives, sold direct with no commission."),
     [("HONEY-500G", "500克瓶装", "500 g jar", "bottle", 5800, 30, 1)]),
    ("xiya-walnuts", "household:西崖村:0", "specialties", "西崖村", "西崖薄皮核桃", "Xiya thin-shell walnuts",
     {}, None, "walnut",
     ("西崖村的薄皮核桃，农户直供。", "Thin-shell walnuts sold direct by a Xiya household."),
     [("WALNUT-2J", "2斤装", "2 jin bag", "bag", 4200, 40, 1)]),
    ("compound-fertiliser", "supplier:huimin", "farm-supplies", None, "复合肥 40公斤", "Compound fertiliser 40 kg",
     {}, None, "fertiliser", ("适合果园和大田的复合肥，送到村服务站。", "Compound fertiliser for orchards and fields, delivered to the village service point."),
     [("FERT-40KG", "40公斤/袋", "40 kg sack", "bag", 16500, 200, 1)]),
    ("corn-seed", "supplier:huimin", "farm-supplies", None, "玉米种子", "Corn seed",
     {}, None, "seed", ("高产玉米种子，每袋可种一亩。", "High-yield corn seed, one bag sows one mu."),
     [("SEED-CORN", "1亩用量/袋", "1 mu bag", "bag", 6800, 300, 1)]),
    ("peanut-oil", "supplier:huimin", "household", None, "压榨花生油 5升", "Pressed peanut oil 5 L",
     {}, None, "oil", ("物理压榨花生油。", "Mechanically pressed peanut oil."),
     [("OIL-5L", "5升/桶", "5 L bottle", "bottle", 9900, 150, 1)]),
    ("laundry-powder", "supplier:huimin", "household", None, "洗衣粉 2公斤", "Laundry powder 2 kg",
     {}, None, "detergent", ("家用洗衣粉。", "Laundry powder for the household."),
     [("SOAP-2KG", "2公斤/袋", "2 kg bag", "pack", 2590, 300, 1)]),
]
USERS = [
    ("buyer@demo.cn", "城市买家 小林", "buyer", {}),
    ("coop@demo.cn", "李里合作社 经理", "coop_manager", {"cooperative": "lili-grains"}),
    ("coop2@demo.cn", "响泉雪梨合作社 经理", "coop_manager", {"cooperative": "xiangquan-pears"}),
    ("town@demo.cn", "岭子镇电商专员 甲", "town_staff", {"town": "lingzi"}),
    ("town2@demo.cn", "岭子镇电商专员 乙", "town_staff", {"town": "lingzi"}),
    ("taihe@demo.cn", "太河镇电商专员", "town_staff", {"town": "taihe"}),
    # Staff of every town with a supplier of daily goods: Xihe pays Huimin in its payout batches.
    ("xihe-town@demo.cn", "西河镇电商专员 甲", "town_staff", {"town": "xihe"}),
    ("xihe-town2@demo.cn", "西河镇电商专员 乙", "town_staff", {"town": "xihe"}),
    ("supplier@demo.cn", "惠民农资超市", "supplier", {"supplier": "huimin"}),
    ("agent@demo.cn", "北坪村服务站代办员", "agent", {"service_point": "北坪村"}),
    ("admin@demo.cn", "平台管理员", "admin", {}),
    # Staff of the demo canteen buying under its 消费帮扶 quota (marketplace/demo/organisations.py).
    ("org-buyer@demo.cn", "一中食堂 采购员", "buyer", {}),
    ("org-approver@demo.cn", "一中食堂 审批人", "buyer", {}),
    ("org-finance@demo.cn", "一中食堂 财务", "buyer", {}),
]


def _get_or_create(model, lookup, **values):
    found = db.session.scalar(select(model).filter_by(**lookup))
    if found is not None:
        return found, False
    found = model(**lookup, **values)
    db.session.add(found)
    db.session.flush()
    return found, True


def seed_demo():
    """Build the demo district; returns counts of what exists afterwards."""
    towns = {slug: _get_or_create(Town, {"slug": slug}, name_zh=zh, name_en=en)[0] for slug, zh, en in TOWNS}
    villages = {}
    for town_slug, zh, en, poor, _ in VILLAGES:
        villages[zh], _created = _get_or_create(Village, {"town_id": towns[town_slug].id, "name_zh": zh},
                                                name_en=en, is_poor_village=poor)
    points = {}
    for zh in ("北坪村", "东东峪村", "北下册村", "李里村", "响泉村"):
        village = villages[zh]
        points[zh], _created = _get_or_create(
            ServicePoint, {"village_id": village.id, "name_zh": f"{zh}电商服务站"},
            name_en=f"{village.name_en} service point", address_zh=f"{zh}村委会一楼", is_free_stall=village.is_poor_village)
    households = _seed_households(villages)
    coops = _seed_cooperatives(towns, villages, households)
    # The article names no commission on daily goods: the demo supplier's agreed rate is 0.
    supplier, _created = _get_or_create(Supplier, {"name_zh": "惠民农资日用品超市"},
                                        name_en="Huimin Farm & Household Supplies", town_id=towns["xihe"].id,
                                        contact_phone="0533-0000000", commission_rate=Decimal(0))
    categories = {slug: _get_or_create(Category, {"slug": slug}, name_zh=zh, name_en=en, direction=direction)[0]
                  for slug, zh, en, direction in CATEGORIES}
    products = _seed_products(coops, households, supplier, categories, villages)
    _seed_lots(coops, households, products)
    _seed_investment(towns, households)
    _seed_users(coops, towns, supplier, points)
    db.session.flush()
    _seed_buyer_address()
    seed_demo_organisation()
    _seed_delivery_areas(supplier, towns, villages)
    db.session.commit()
    _seed_deposit(coops)
    seed_demo_presales()
    seed_demo_subscriptions()
    return counts()


def _seed_households(villages):
    households = {}
    number = 0
    for _town, village_zh, _en, poor_village, count in VILLAGES:
        village = villages[village_zh]
        households[village_zh] = []
        given_seen = {}
        for index in range(count):
            number += 1
            surname, surname_py = SURNAMES[(number * 7) % len(SURNAMES)]
            given, given_py = GIVEN[(number * 5 + index) % len(GIVEN)]
            # One label per household, unique in its village and the same in both languages: a
            # second 守田 of the village is 「守田 2」 / "Shoutian 2"; no surname in either.
            given_seen[given] = given_seen.get(given, 0) + 1
            mark = f" {given_seen[given]}" if given_seen[given] > 1 else ""
            registry_no = f"3703020{village.id:03d}{index + 1:04d}"
            household, created = _get_or_create(
                Household, {"registry_no_index": blind_index(registry_no)},
                village_id=village.id, head_name=f"{surname}{given}", people_count=1 + (number % 4),
                registry_no=registry_no, registry_no_masked=mask(registry_no),
                is_verified_poor=poor_village or index % 3 != 2,
                verification_evidence="演示数据：建档立卡名册" if poor_village or index % 3 != 2 else "",
                consent_public=index % 4 != 3,
                display_label_zh=f"{given}{mark} · {village_zh}", display_label_en=f"{given_py}{mark}, {village.name_en}",
                payout_method="bank" if index % 2 == 0 else "cash",
            )
            if created and household.payout_method == "bank":
                account = f"62170000{number:011d}"
                household.bank_account = account
                household.bank_account_masked = mask(account)
                household.bank_name = "淄川农商银行（演示）"
            households[village_zh].append(household)
    return households


def _seed_cooperatives(towns, villages, households):
    coops = {}
    for key, town, village, zh, en, profit_rate, dividend_rate in COOPERATIVES:
        coop, created = _get_or_create(
            Cooperative, {"registration_no": f"DEMO-{key}"}, town_id=towns[town].id, village_id=villages[village].id,
            name_zh=zh, name_en=en, story_zh=f"{zh}带动周边贫困户增收。", story_en=f"{en} lifts nearby poor households.")
        coops[key] = coop
        if created:
            db.session.add(SharingRule(cooperative_id=coop.id, profit_return_rate=Decimal(profit_rate),
                                       dividend_rate=Decimal(dividend_rate), period="quarter",
                                       weight_land=Decimal("1.0"), weight_house=Decimal("0.8"),
                                       weight_fund=Decimal("1.2"), weight_cash=Decimal("1.0"),
                                       effective_at=datetime(2026, 1, 1), note="演示数据初始规则"))
        for village_zh in MEMBER_VILLAGES[key]:
            for index, household in enumerate(households[village_zh]):
                member, member_created = _get_or_create(
                    Membership, {"cooperative_id": coop.id, "household_id": household.id},
                    joined_on=date(2018, 3, 1))
                if member_created:
                    kind = "fund" if key == "shamao-homestay" else ("land" if index % 2 == 0 else "cash")
                    db.session.add(ShareHolding(membership_id=member.id, kind=kind,
                                                quantity=Decimal(1 + index % 3) if kind != "fund" else Decimal(household.people_count)))
    db.session.flush()
    return coops


def _seller_for(key, coops, households, supplier):
    kind, _, rest = key.partition(":")
    if kind == "coop":
        return _get_or_create(Seller, {"cooperative_id": coops[rest].id}, kind="cooperative")[0]
    if kind == "household":
        village, _, index = rest.partition(":")
        return _get_or_create(Seller, {"household_id": households[village][int(index)].id}, kind="household")[0]
    return _get_or_create(Seller, {"supplier_id": supplier.id}, kind="supplier")[0]


def _seed_products(coops, households, supplier, categories, villages):
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    products = {}
    for (slug, seller_key, category, village, zh, en, labels, floor, picture, story, variants) in PRODUCTS:
        seller = _seller_for(seller_key, coops, households, supplier)
        product, created = _get_or_create(
            Product, {"slug": slug}, seller_id=seller.id, category_id=categories[category].id,
            origin_village_id=villages[village].id if village else None,
            direction=categories[category].direction, title_zh=zh, title_en=en, story_zh=story[0], story_en=story[1],
            label_selenium_rich=labels.get("selenium", False), label_organic=labels.get("organic", False),
            label_poor_household_direct=labels.get("poor_direct", False), floor_price_fen=floor,
            is_featured=labels.get("featured", False))
        products[slug] = product
        for sku, vzh, ven, unit, price, stock, lot_units in variants:
            _get_or_create(Variant, {"sku": sku}, product_id=product.id, name_zh=vzh, name_en=ven, unit=unit,
                           price_fen=price, stock_available=stock, lot_units=lot_units)
        picture_path = upload_dir / "products" / f"{slug}.jpg"
        if not picture_path.exists():
            draw_product_picture(picture, picture_path)
        _get_or_create(ProductPhoto, {"product_id": product.id, "position": 0},
                       filename=f"products/{slug}.jpg", thumbnail=f"products/{slug}-thumb.jpg")
    db.session.flush()
    return products


def _seed_lots(coops, households, products):
    """Supply lots delivered by member households; each posts its floor purchase once."""
    db.session.commit()
    plan = [("lili-grains", "李里村", "lili-minor-grains", 100), ("xiangquan-pears", "响泉村", "jiao-snow-pears", 200),
            ("zhaili-millet", "土堆村", "zhaili-organic-millet", 150), ("jiurun-selenium", "久润富硒生态园", "jiurun-selenium-tomatoes", 80),
            ("jiurun-selenium", "久润富硒生态园", "jiurun-selenium-cucumbers", 80), ("taihe-hawthorn", "纱帽村", "shamao-hawthorn", 300),
            ("taihe-hawthorn", "岛坪村", "shamao-hawthorn", 250)]
    for coop_key, village, product_slug, quantity in plan:
        for index, household in enumerate(households[village][:4]):
            record_supply_lot(
                cooperative_id=coops[coop_key].id, product_id=products[product_slug].id, household_id=household.id,
                quantity=quantity + 10 * index, idempotency_token=f"demo-lot:{product_slug}:{household.id}",
                received_on=date(2026, 10, 1) + timedelta(days=index), grade="一级")


def _seed_investment(towns, households):
    """The article's 60万元 invested at 7 % a year for Dongdongyu and Beixiace (840元 a person)."""
    investment, created = _get_or_create(
        FixedReturnInvestment, {"name_zh": "东东峪、北下册扶贫资金入股"}, town_id=towns["taihe"].id,
        name_en="Dongdongyu and Beixiace poverty-fund investment", company_name="淄川某农业开发公司（演示）",
        principal_fen=60_000_000, annual_rate=Decimal("0.07"), started_on=date(2018, 1, 1))
    for village in ("东东峪村", "北下册村"):
        for household in households[village]:
            _get_or_create(InvestmentHolding, {"investment_id": investment.id, "household_id": household.id},
                           units=Decimal(household.people_count))


def _seed_users(coops, towns, supplier, points):
    for email, name, role, scope in USERS:
        user = db.session.scalar(select(User).filter_by(email=email))
        if user is not None:
            continue
        user = User(email=email, name=name, role=role,
                    cooperative_id=coops[scope["cooperative"]].id if "cooperative" in scope else None,
                    town_id=towns[scope["town"]].id if "town" in scope else None,
                    supplier_id=supplier.id if "supplier" in scope else None,
                    service_point_id=points[scope["service_point"]].id if "service_point" in scope else None)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)


def _seed_buyer_address():
    """The city buyer's saved address in 淄博市张店区, preselected at checkout (the demo orders keep free text)."""
    from marketplace.orders.addresses import add_address, default_address

    buyer = db.session.scalar(select(User.id).filter_by(email="buyer@demo.cn"))
    if default_address(buyer) is None:
        add_address(buyer, buyer_address.RECIPIENT_NAME, buyer_address.RECIPIENT_PHONE,
                    buyer_address.buyer_region().checked(), commit=False)


def _seed_deposit(coops):
    """Lili's cooperative transferred ¥3,000 to fund its floor purchases (保底收购): recorded by one
    Lingzi staff member, approved by the other. The other cooperatives' floor money awaits funding."""
    from marketplace.payouts.funding import approve_deposit, record_deposit
    from marketplace.payouts.models import CooperativeDeposit

    lili = coops["lili-grains"].id
    if db.session.scalar(select(CooperativeDeposit.id).filter_by(cooperative_id=lili)) is not None:
        return
    maker, checker = (db.session.scalar(select(User.id).filter_by(email=email)) for email in ("town@demo.cn", "town2@demo.cn"))
    deposit = record_deposit(maker, lili, 300_000, "DEMO-ICBC-20261005-0001")
    approve_deposit(checker, deposit.id)


# Where the demo supplier delivers daily goods (日用品下乡): its own town, and two poor villages and Lili.
DELIVERY_AREAS = [("town", "xihe"), ("village", "东东峪村"), ("village", "北下册村"), ("village", "李里村")]


def _seed_delivery_areas(supplier, towns, villages):
    for kind, key in DELIVERY_AREAS:
        place = {"town_id": towns[key].id, "village_id": None} if kind == "town" else \
            {"town_id": None, "village_id": villages[key].id}
        _get_or_create(DeliveryArea, {"supplier_id": supplier.id, **place})


def counts():
    from marketplace import models

    names = ["Town", "Village", "ServicePoint", "Household", "Cooperative", "Membership", "Product", "Variant",
             "SupplyLot", "User", "JournalEntry", "Posting"]
    return {name: db.session.query(getattr(models, name)).count() for name in names}

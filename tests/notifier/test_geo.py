"""Geography: départements, régions (INSEE 2016), NUTS-3, names without accents."""

import pytest

from tenderwatch.notifier import geo


def test_every_departement_is_listed_once() -> None:
    deps = geo.all_departements()
    assert len(deps) == 101
    assert {"2A", "2B", "971", "972", "973", "974", "976"} <= set(deps)


def test_every_departement_has_a_known_region() -> None:
    regions = geo.all_regions()
    assert len(regions) == 18
    assert all(d.region_code in regions for d in geo.all_departements().values())


def test_departements_of_region_by_code() -> None:
    assert geo.departements_of_region("11") == ["75", "77", "78", "91", "92", "93", "94", "95"]


def test_departements_of_region_by_name_ignores_case_accents_and_dashes() -> None:
    expected = geo.departements_of_region("84")
    assert geo.departements_of_region("auvergne rhone alpes") == expected
    assert geo.departements_of_region("AUVERGNE-RHÔNE-ALPES") == expected


def test_departements_of_unknown_region_raises() -> None:
    with pytest.raises(KeyError):
        geo.departements_of_region("Atlantide")


def test_region_of_departement() -> None:
    assert geo.region_of("26") == "84"
    assert geo.region_of("2A") == "94"
    assert geo.region_of("974") == "04"


def test_overseas_region_code_one_digit_is_padded() -> None:
    assert geo.region_code(1) == "01"
    assert geo.region_name("01") == "Guadeloupe"


def test_region_aliases() -> None:
    assert geo.region_code("PACA") == "93"
    assert geo.region_code("Provence-Alpes-Côte d’Azur") == "93"


def test_departement_code_from_int_and_name() -> None:
    assert geo.departement_code(7) == "07"
    assert geo.departement_code("drome") == "26"
    assert geo.departement_code("2a") == "2A"
    assert geo.departement_code("100") is None


def test_old_corsica_code_stands_for_both_halves() -> None:
    assert geo.departement_codes("20") == ("2A", "2B")


def test_departement_from_nuts3() -> None:
    assert geo.departement_from_nuts3("FRK23") == "26"
    assert geo.departement_from_nuts3("frk26") == "69"


def test_nuts_code_of_a_single_departement_region_maps() -> None:
    assert geo.departement_from_nuts3("FRY4") == "974"


def test_nuts_code_spanning_several_departements_does_not_map() -> None:
    assert geo.departement_from_nuts3("FRK2") is None
    assert geo.departement_from_nuts3("DE300") is None

from reljudge.records import Pair, Product, normalise, pair_hash, query_key


def test_hash_ignores_case_spacing_and_unicode_width():
    a = Product("B1", "Ｗireless  Earbuds", brand="Auralis")
    b = Product("B1", "wireless earbuds ", brand="AURALIS")
    assert pair_hash("USB C  charger", a) == pair_hash("usb c charger", b)


def test_hash_changes_with_any_product_field():
    base = Product("B1", "earbuds", color="black")
    assert pair_hash("q", base) != pair_hash("q", Product("B1", "earbuds", color="white"))
    assert pair_hash("q", base) != pair_hash("q2", base)


def test_fields_do_not_run_into_each_other():
    assert pair_hash("ab", Product("c", "d")) != pair_hash("a", Product("bc", "d"))


def test_query_key_is_stable_for_normalised_queries():
    assert query_key("Dog Bed") == query_key(" dog  bed") != query_key("dog beds")
    assert normalise("  A\tB ") == "a b"


def test_pair_hash_property_matches_function():
    p = Pair("q", Product("B1", "t"))
    assert p.pair_hash == pair_hash("q", Product("B1", "t"))

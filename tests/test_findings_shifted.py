"""Finding.shifted: a finding moved with its text, fixes and all."""

from medcode.server.findings import Finding, Fix


def test_a_shifted_finding_moves_with_its_fixes():
    f = Finding("invalid-code", "E11.X is not a code", 10, 15, "E11X", "icd10cm", fixes=[Fix("Change to E11.9", 10, 15, "E119", True)])
    g = f.shifted(100)
    assert (g.start, g.end) == (110, 115)
    assert g.fixes == [Fix("Change to E11.9", 110, 115, "E119", True)]
    assert f.fixes == [Fix("Change to E11.9", 10, 15, "E119", True)]  # the original stays
    assert (g.rule, g.message, g.code, g.code_set, g.more) == (f.rule, f.message, f.code, f.code_set, f.more)
    assert f.shifted(0) is f


def test_a_finding_without_fixes_shares_its_empty_list():
    """50,000 claims' findings are copied at their offsets: no empty list per copy."""
    f = Finding("header-code", "E11 is a header", 3, 6)
    g = f.shifted(-2)
    assert (g.start, g.end, g.fixes) == (1, 4, [])
    assert g.fixes is f.fixes

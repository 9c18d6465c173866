import pytest

from hooks.quantity import canonical

# Expected values are what k8s.io/apimachinery resource.MustParse(x).String() returns.
CASES = [
    ("0.5", "500m"),
    ("1", "1"),
    (1, "1"),
    ("1000m", "1"),
    ("1500", "1500"),
    ("2000", "2k"),
    ("1.5", "1500m"),
    ("0.0001", "100u"),
    ("0.1n", "1n"),
    ("-0.5", "-500m"),
    ("0", "0"),
    ("0Gi", "0"),
    ("128Gi", "128Gi"),
    ("1.5Gi", "1536Mi"),
    ("0.5Ki", "512"),
    ("1024", "1024"),
    ("2048Ki", "2Mi"),
    ("1e3", "1e3"),
    ("1E3", "1e3"),
    ("12e2", "1200"),
    ("100M", "100M"),
    ("16", "16"),
]


@pytest.mark.parametrize("given,want", CASES, ids=[str(g) for g, _ in CASES])
def test_canonical(given, want):
    assert canonical(given) == want


@pytest.mark.parametrize("bad", ["", "1.2.3", "5 cores", "1Kb", "Gi"])
def test_malformed(bad):
    with pytest.raises(ValueError, match="quantities must match"):
        canonical(bad)


@pytest.mark.parametrize("huge", ["1e100", "1e999", "9" * 70 + "Ei"])
def test_out_of_range(huge):
    with pytest.raises(ValueError, match="out of range"):
        canonical(huge)

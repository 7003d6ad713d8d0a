"""Golden samples: each parses into its guide model without errors and writes back byte for byte."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from claimflow_x12 import parse, serialize, validate

SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.x12"))
EXPECTED_MODEL = {
    "270": "EligibilityInquiry270",
    "271": "EligibilityResponse271",
    "276": "ClaimStatusRequest276",
    "277_": "ClaimStatusResponse277",
    "277ca": "ClaimAcknowledgment277CA",
    "835": "Remittance835",
    "837i": "Claim837I",
    "837p": "Claim837P",
    "999": "Acknowledgment999",
}


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_round_trips_byte_for_byte(path: Path) -> None:
    data = path.read_bytes()
    result = parse(data)
    assert validate(result) == []
    assert "".join(serialize(i) for i in result.interchanges).encode() == data


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_parses_into_its_guide_model(path: Path) -> None:
    prefix = next(k for k in sorted(EXPECTED_MODEL, key=len, reverse=True) if path.name.startswith(k))
    assert [type(t).__name__ for t in parse(path.read_bytes()).transactions] == [EXPECTED_MODEL[prefix]]


def test_every_guide_has_a_golden_sample() -> None:
    covered = {EXPECTED_MODEL[k] for k in EXPECTED_MODEL if any(p.name.startswith(k) for p in SAMPLES)}
    assert covered == set(EXPECTED_MODEL.values())


def test_samples_cover_non_default_separators_and_line_breaks(read_sample: Callable[[str], str]) -> None:
    results = [parse(p.read_bytes()).interchanges[0].separators for p in SAMPLES]
    assert any(s.element != "*" and s.segment != "~" for s in results)
    assert {s.line_break for s in results} >= {"", "\n", "\r\n"}
    assert read_sample("837i_outpatient.x12").count("~\r\n") > 10

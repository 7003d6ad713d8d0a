"""The seeded population: deterministic, realistic enough to exercise every eligibility answer."""

from __future__ import annotations

from datetime import date

from payer_sandbox.domain.codes import PayerKind
from payer_sandbox.domain.population import CoverageStatus, Relationship, generate_population

AS_OF = date(2025, 3, 3)


def test_same_seed_gives_the_same_population_and_another_seed_a_different_one() -> None:
    first = generate_population(42, 2025)
    again = generate_population(42, 2025)
    other = generate_population(43, 2025)
    assert first.members == again.members
    assert first.out_of_network_npis == again.out_of_network_npis
    assert first.members != other.members


def test_every_member_id_has_its_payers_format_and_identifies_one_family() -> None:
    population = generate_population(7, 2025, subscribers_per_payer=50)
    for member in population.members:
        assert population.payers[member.payer_id].member_id_valid(member.member_id), member
    subscribers = [m for m in population.members if m.person_code == "00"]
    assert len({(m.payer_id, m.member_id) for m in subscribers}) == len(subscribers)


def test_population_has_the_anchor_members_dependents_and_every_coverage_status() -> None:
    population = generate_population(7, 2025, subscribers_per_payer=50)
    maria = population.subscriber("60054", "W123456789")
    assert maria is not None
    assert (maria.first_name, maria.last_name, maria.birth_date) == ("MARIA", "LOPEZ", date(1984, 3, 9))
    lucas = population.dependent("60054", "W123456789", "Lucas", None)
    assert lucas is not None
    assert lucas.relationship is Relationship.CHILD
    statuses = {m.status(AS_OF) for m in population.members}
    assert statuses == {CoverageStatus.ACTIVE, CoverageStatus.INACTIVE, CoverageStatus.FUTURE}
    kinds = {p.kind for p in population.payers.values()}
    assert kinds == set(PayerKind)
    assert any(m.person_code != "00" for m in population.members if m.payer_id == "HMO01")


def test_out_of_network_npis_are_valid_npis() -> None:
    from claimflow_x12 import npi_is_valid

    population = generate_population(7, 2025)
    assert population.out_of_network_npis
    assert all(npi_is_valid(npi) for npi in population.out_of_network_npis)
    assert not population.in_network(next(iter(population.out_of_network_npis)))
    assert population.in_network("1234567893")

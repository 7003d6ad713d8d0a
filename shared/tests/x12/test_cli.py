"""The ``claimflow x12`` command line: parse, validate, ack."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from claimflow_x12 import parse
from claimflow_x12.cli import app
from claimflow_x12.guides.ack_999 import Acknowledgment999, AcknowledgmentCode

runner = CliRunner()


def test_parse_prints_typed_json_with_billing_names(samples: Path) -> None:
    result = runner.invoke(app, ["parse", str(samples / "835_multi_claim_reversal_plb.x12")])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    (transaction,) = payload["transactions"]
    assert transaction["model"] == "Remittance835"
    assert transaction["control_number"] == "0001"
    body = transaction["transaction"]
    assert body["financial_information"]["total_payment"] == "488.10"
    first_claim = body["header_numbers"][0]["claims"][0]
    assert first_claim["claim"]["patient_control_number"] == "PCN20240105B"
    assert first_claim["claim"]["paid_amount"] == "300.00"
    assert first_claim["service_lines"][0]["dates"][0]["date"] == "2024-01-02"
    assert payload["errors"] == []


def test_validate_passes_a_clean_file(samples: Path) -> None:
    result = runner.invoke(app, ["validate", str(samples / "837p_dependent_corrected.x12")])
    assert result.exit_code == 0
    assert "no errors" in result.output


def test_validate_prints_positions_and_exits_non_zero(samples: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.x12"
    text = (samples / "835_multi_claim_reversal_plb.x12").read_text()
    broken.write_text(text.replace("CLP|PCN20240103C|1|250.00|200.00", "CLP|PCN20240103C|1|250.00|201.00"))
    result = runner.invoke(app, ["validate", str(broken)])
    assert result.exit_code == 1
    assert "segment 47 CLP04 loop 2100" in result.output
    as_json = runner.invoke(app, ["validate", "--json", str(broken)])
    assert json.loads(as_json.output)[0]["segment_id"] == "CLP"


def test_ack_writes_a_999(samples: Path, tmp_path: Path) -> None:
    broken = tmp_path / "claims.x12"
    broken.write_text(
        (samples / "837p_dependent_corrected.x12")
        .read_text()
        .replace("REF*F8*ACME2023122900017~", "")
        .replace("SE*51", "SE*50")
    )
    out = tmp_path / "claims.999"
    result = runner.invoke(app, ["ack", str(broken), "--out", str(out), "--control-number", "17"])
    assert result.exit_code == 0, result.output
    parsed = parse(out.read_bytes())
    assert parsed.errors == []
    ack = parsed.transactions[0]
    assert isinstance(ack, Acknowledgment999)
    assert ack.group_trailer.acknowledgment_code is AcknowledgmentCode.REJECTED
    assert ack.transaction_responses[0].segment_errors[0].segment_error.segment_id_code == "REF"
    header = parsed.interchanges[0].header
    assert (header.sender_id, header.receiver_id, header.control_number) == ("CLEARHOUSE01", "CLAIMFLOW", 17)
    assert [a.acknowledgment_code for a in parsed.interchanges[0].acknowledgments] == ["A"]


def test_ack_to_stdout_includes_ta1_for_envelope_errors(samples: Path, tmp_path: Path) -> None:
    broken = tmp_path / "claims.x12"
    broken.write_text(
        (samples / "835_multi_claim_reversal_plb.x12").read_text().replace("IEA|1|000000502", "IEA|1|000000503")
    )
    result = runner.invoke(app, ["ack", str(broken)])
    assert result.exit_code == 0
    assert "TA1|000000502|240110|0930|R|001'" in result.output
    assert "AK9|A|1|1|1'" in result.output


def test_not_x12_is_a_clean_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    result = runner.invoke(app, ["parse", str(junk)])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)


def _ack_numbers(text: str) -> tuple[int, int, list[str]]:
    """ISA13, GS06 and the ST02s of an acknowledgment interchange (which must read back without errors)."""
    parsed = parse(text)
    assert parsed.errors == []
    (group,) = parsed.groups
    return (
        group.interchange.control_number,
        group.header.control_number,
        [t.header.control_number for t in group.transactions],
    )


def test_ack_numbers_each_run_from_a_persistent_sequence(samples: Path, tmp_path: Path) -> None:
    claims = samples / "837p_dependent_corrected.x12"
    database = f"sqlite:///{tmp_path / 'acks.db'}"
    runs = []
    for _ in range(2):
        result = runner.invoke(app, ["ack", str(claims), "--control-numbers", database], env={})
        assert result.exit_code == 0, result.output
        runs.append(_ack_numbers(result.output))
    assert runs == [(1, 1, ["0001"]), (2, 2, ["0002"])]
    # CLAIMFLOW_DATABASE_URL names the same sequences when the option is not given
    from_env = runner.invoke(app, ["ack", str(claims)], env={"CLAIMFLOW_DATABASE_URL": database})
    assert from_env.exit_code == 0, from_env.output
    assert _ack_numbers(from_env.output) == (3, 3, ["0003"])


def test_an_explicit_control_number_wins_over_the_database(samples: Path, tmp_path: Path) -> None:
    claims = samples / "837p_dependent_corrected.x12"
    env = {"CLAIMFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'acks.db'}"}
    result = runner.invoke(app, ["ack", str(claims), "--control-number", "41"], env=env)
    assert result.exit_code == 0, result.output
    assert _ack_numbers(result.output)[:2] == (41, 41)
    assert not (tmp_path / "acks.db").exists()


def test_ack_refuses_a_migrated_database_without_the_sequence_table(samples: Path, tmp_path: Path) -> None:
    service_db = tmp_path / "service.db"
    with sqlite3.connect(service_db) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    claims = samples / "837p_dependent_corrected.x12"
    result = runner.invoke(app, ["ack", str(claims), "--control-numbers", f"sqlite:///{service_db}"], env={})
    assert result.exit_code == 2
    assert "has no x12_control_number table" in result.output
    with sqlite3.connect(service_db) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables == ["alembic_version"]

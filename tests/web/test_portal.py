"""The public portal: search, process and organisation pages with charts, explanations, bulk downloads, feed."""

from __future__ import annotations

import io
import json

import duckdb
import pyarrow.parquet as pq

from tests.web.conftest import WebApp


def _warehouse(web: WebApp, sql: str) -> list[tuple]:
    with duckdb.connect(web.settings.warehouse, read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_search_finds_processes_and_organisations(web: WebApp) -> None:
    public = web.client()
    (title, ocid, buyer) = _warehouse(web, "SELECT title, ocid, buyer_name FROM processes ORDER BY ocid LIMIT 1")[0]
    word = title.split()[0]
    page = public.get("/search", params={"q": word})
    assert page.status_code == 200 and f"/processes/syn/{ocid}" in page.text
    assert buyer in public.get("/search", params={"q": buyer}).text
    found = public.get("/api/v1/organisations", params={"q": buyer}).json()["organisations"]
    assert found and found[0]["name"] == buyer


def test_process_page_explains_every_flag(web: WebApp) -> None:
    rows = _warehouse(
        web,
        """SELECT f.ocid, count(*) FROM flag_results f WHERE f.status = 'flagged' AND f.subject_type = 'process'
           GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1""",
    )
    ocid, flagged = rows[0]
    api = web.api(None).get(f"/api/v1/processes/syn/{ocid}").json()
    assert len(api["flags"]) == flagged and all(flag["explanation"] for flag in api["flags"])
    page = web.client().get(f"/processes/syn/{ocid}")
    assert page.text.count('<li><a href="/flags/') == flagged
    for flag in api["flags"]:
        assert flag["explanation"].replace("'", "&#39;").replace('"', "&#34;")[:40] in page.text
    # The public sees no triage state and no registry (personal) results.
    assert "triaged" not in page.text


def test_organisation_profile_has_charts(web: WebApp) -> None:
    (buyer,) = _warehouse(web, "SELECT buyer_id FROM processes GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0]
    page = web.client().get(f"/organisations/syn/{buyer}")
    assert page.status_code == 200
    assert page.text.count("<svg") >= 3  # spending, competition, flags
    assert "Spending over time" in page.text and "Competition" in page.text
    profile = web.api(None).get(f"/api/v1/organisations/syn/{buyer}").json()
    assert (
        sum(month["processes"] for month in profile["as_buyer"])
        == _warehouse(web, f"SELECT count(*) FROM processes WHERE buyer_id = '{buyer}'")[0][0]
    )
    assert "alerts" not in profile  # alert states are for auditors


def test_bulk_downloads_match_the_warehouse(web: WebApp) -> None:
    public = web.client()
    processes = _warehouse(web, "SELECT count(*) FROM processes")[0][0]
    csv = public.get("/downloads/processes.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == processes + 1
    parquet = public.get("/downloads/flags.parquet", params={"dataset": "syn"})
    table = pq.read_table(io.BytesIO(parquet.content))
    expected = _warehouse(
        web,
        """SELECT count(*) FROM flag_results WHERE run_id = (SELECT max(run_id) FROM flag_runs)""",
    )[0][0]
    assert table.num_rows == expected
    assert set(table.column("subject_type").to_pylist()) <= {"process", "buyer", "procuring_entity", "tenderer"}
    releases = public.get("/downloads/releases.jsonl").text.strip().splitlines()
    assert len(releases) == _warehouse(web, "SELECT count(*) FROM source_releases")[0][0]
    assert all(json.loads(line)["ocid"] for line in releases[:50])
    (ocid,) = _warehouse(web, "SELECT ocid FROM processes LIMIT 1")[0]
    package = public.get(f"/processes/syn/{ocid}/ocds.json").json()
    assert package["releases"] and {r["ocid"] for r in package["releases"]} == {ocid}
    assert public.get("/downloads/users.csv").status_code == 404


def test_change_feed_pages_with_a_cursor(web: WebApp) -> None:
    public = web.api(None)
    first = public.get("/api/v1/changes", params={"limit": 1}).json()
    assert [change["kind"] for change in first["changes"]] == ["ingest"]
    rest = public.get("/api/v1/changes", params={"after": first["next"]}).json()
    assert [change["kind"] for change in rest["changes"]] == ["flags"]
    assert public.get("/api/v1/changes", params={"after": rest["next"]}).json()["changes"] == []


def test_flag_pages_and_catalogue(web: WebApp) -> None:
    public = web.client()
    catalogue = web.api(None).get("/api/v1/indicators").json()
    assert len(catalogue) >= 40 and all(item["summary"] and item["source"] for item in catalogue)
    assert "R003" in public.get("/flags").text
    assert public.get("/flags/R003").status_code == 200
    assert public.get("/flags/X999").status_code == 404


def test_search_matches_word_prefixes_and_pages_by_ocid(web: WebApp) -> None:
    public = web.api(None)
    expected = [
        ocid
        for (ocid,) in _warehouse(
            web,
            """SELECT ocid FROM processes WHERE regexp_matches(lower(title || ' ' || buyer_name), '(^|[^a-z0-9])minis')
               AND regexp_matches(lower(title || ' ' || buyer_name), '(^|[^a-z0-9])defen') ORDER BY ocid""",
        )
    ]
    assert len(expected) > 60
    seen: list[str] = []
    after = None
    while True:
        params = {"q": "Minis DEFEN", "limit": 50, **({"after": after} if after else {})}
        page = public.get("/api/v1/processes", params=params).json()
        seen += [row["ocid"] for row in page["processes"]]
        after = page["next"]
        if after is None:
            break
    assert seen == expected
    assert public.get("/api/v1/processes", params={"q": expected[0]}).json()["processes"][0]["ocid"] == expected[0]
    assert public.get("/api/v1/processes", params={"q": "zzzqqq"}).json()["processes"] == []

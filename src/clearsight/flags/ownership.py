"""SQL shared by the indicators that read beneficial ownership (`clearsight ingest bods`): the key that joins an
OCDS party to an ownership entity, and the chain of owners of a company at a date."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import Field

from clearsight.flags.base import Params, sql_literal


class OwnershipParams(Params):
    """The parameter of every indicator that follows owners from a company."""

    max_depth: int = Field(
        3, ge=1, le=6, description="Ownership hops followed from a company up to a person (1: direct owners only)."
    )


def ownership_snippets(party_alias: str) -> Callable[[OwnershipParams], dict[str, str]]:
    """Snippets of an ownership indicator: the owner chain from relation `owned` (see `owner_chain`), and
    `${party_key}`, the identifier key of the party row aliased `party_alias`."""

    def snippets(params: OwnershipParams) -> dict[str, str]:
        return {**owner_chain("owned", params.max_depth), "party_key": party_identifier_key(party_alias)}

    return snippets


def ownership_context(dataset: str) -> dict[str, str]:
    """Relations of the run context (`runner.run_context`) read from the dataset's ownership tables:
    `${entity_keys}`, every identifier key of every entity; `${ownership_edges}`, every interest whose holder is
    known (subject → party, with the interest's dates)."""
    d = sql_literal(dataset)
    return {
        "entity_keys": "(SELECT DISTINCT record_id, identifier_key FROM (SELECT record_id, unnest(identifier_keys) "
        f"AS identifier_key FROM ownership_entities WHERE dataset = {d}) AS keys)",
        "ownership_edges": "(SELECT subject, interested_party AS party, start_date, end_date FROM ownership_interests "
        f"WHERE dataset = {d} AND interested_party IS NOT NULL)",
    }


def party_identifier_key(alias: str) -> str:
    """'SCHEME-id' of party `alias` (a row of `parties`), as clearsight.ownership.bods.identifier_key writes the
    entities' keys: the scheme in upper case, Companies House numbers with their leading zeros."""
    scheme = f"upper(trim({alias}.identifier_scheme))"
    return (
        f"{scheme} || '-' || CASE WHEN {scheme} = 'GB-COH' THEN lpad(upper(trim({alias}.identifier_id)), 8, '0') "
        f"ELSE trim({alias}.identifier_id) END"
    )


def owner_chain(start: str, max_depth: int) -> dict[str, str]:
    """Snippets `hop_ctes` and `hops` for the owners of the companies in relation `start` (columns ocid, party,
    moment, record_id: the entity), up to `max_depth` hops, each interest in force at `moment`. The SQL using them
    defines `edges` (subject, party, start_date, end_date) before `${hop_ctes}` and selects from `(${hops})`,
    whose rows are (ocid, party, moment, owner, depth). Hops are unrolled, not recursive, so every engine runs
    them; a cycle of companies ends at `max_depth`."""

    def in_force(edge: str, row: str) -> str:
        return (
            f"({edge}.start_date IS NULL OR {edge}.start_date <= {row}.moment) "
            f"AND ({edge}.end_date IS NULL OR {edge}.end_date >= {row}.moment)"
        )

    ctes = [
        f"hop_1 AS (SELECT k.ocid, k.party, k.moment, e.party AS owner FROM {start} AS k "
        f"JOIN edges AS e ON e.subject = k.record_id AND {in_force('e', 'k')})"
    ]
    hops = ["SELECT ocid, party, moment, owner, 1 AS depth FROM hop_1"]
    for depth in range(2, max_depth + 1):
        ctes.append(
            f"hop_{depth} AS (SELECT h.ocid, h.party, h.moment, e.party AS owner FROM hop_{depth - 1} AS h "
            f"JOIN edges AS e ON e.subject = h.owner AND {in_force('e', 'h')})"
        )
        hops.append(f"SELECT ocid, party, moment, owner, {depth} FROM hop_{depth}")
    return {"hop_ctes": ",\n".join(ctes), "hops": "\nUNION ALL\n".join(hops)}

"""Turn one compiled release into rows of the canonical contracting tables."""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa

from clearsight.ingest import normalise as n
from clearsight.model import CONTRACTING_TABLES, Table

_K = n.register_known_keys
RELEASE_KEYS = _K(
    frozenset(
        {
            "ocid",
            "id",
            "date",
            "tag",
            "initiationType",
            "parties",
            "buyer",
            "planning",
            "tender",
            "awards",
            "contracts",
            "language",
            "relatedProcesses",
            "bids",
            "version",
        }
    )
)
TENDER_KEYS = _K(
    frozenset(
        {
            "id",
            "title",
            "description",
            "status",
            "procuringEntity",
            "items",
            "value",
            "minValue",
            "procurementMethod",
            "procurementMethodDetails",
            "procurementMethodRationale",
            "mainProcurementCategory",
            "additionalProcurementCategories",
            "awardCriteria",
            "awardCriteriaDetails",
            "submissionMethod",
            "submissionMethodDetails",
            "tenderPeriod",
            "enquiryPeriod",
            "hasEnquiries",
            "eligibilityCriteria",
            "awardPeriod",
            "contractPeriod",
            "numberOfTenderers",
            "tenderers",
            "documents",
            "milestones",
            "amendments",
            "amendment",
            "lots",
        }
    )
)
ORGANISATION_KEYS = _K(
    frozenset(
        {
            "id",
            "name",
            "identifier",
            "additionalIdentifiers",
            "address",
            "contactPoint",
            "roles",
            "details",
        }
    )
)
VALUE_KEYS = _K(frozenset({"amount", "currency"}))
PERIOD_KEYS = _K(frozenset({"startDate", "endDate", "maxExtentDate", "durationInDays"}))
AWARD_KEYS = _K(
    frozenset(
        {
            "id",
            "title",
            "description",
            "status",
            "date",
            "value",
            "suppliers",
            "items",
            "contractPeriod",
            "documents",
            "amendments",
            "amendment",
            "relatedBids",
            "relatedLots",
        }
    )
)
CONTRACT_KEYS = _K(
    frozenset(
        {
            "id",
            "awardID",
            "title",
            "description",
            "status",
            "period",
            "value",
            "items",
            "dateSigned",
            "documents",
            "implementation",
            "relatedProcesses",
            "milestones",
            "amendments",
            "amendment",
        }
    )
)
BID_KEYS = _K(frozenset({"id", "date", "status", "tenderers", "value", "documents", "relatedLots"}))
ITEM_KEYS = _K(
    frozenset(
        {
            "id",
            "description",
            "classification",
            "additionalClassifications",
            "quantity",
            "unit",
            "relatedLot",
        }
    )
)

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMPTZ": pa.string(),  # ISO 8601 text, cast by the engine on insert
    "JSON": pa.string(),
    "VARCHAR[]": pa.list_(pa.string()),
}


def arrow_schema(table: Table) -> pa.Schema:
    return pa.schema([(column.name, _ARROW_TYPES[column.type]) for column in table.columns])


class RowBuffer:
    """Rows for every contracting table, accumulated as tuples in column order."""

    def __init__(self, tables: tuple[Table, ...] = CONTRACTING_TABLES) -> None:
        self.tables = tables
        self.rows: dict[str, list[tuple[Any, ...]]] = {table.name: [] for table in tables}
        self.schemas = {table.name: arrow_schema(table) for table in tables}

    def __len__(self) -> int:
        return len(self.rows["processes"])

    def to_arrow(self) -> dict[str, pa.Table]:
        out = {}
        for name, rows in self.rows.items():
            schema = self.schemas[name]
            if rows:
                columns = list(zip(*rows, strict=True))
                arrays = [pa.array(column, type=field.type) for column, field in zip(columns, schema, strict=True)]
                out[name] = pa.Table.from_arrays(arrays, schema=schema)
            else:
                out[name] = schema.empty_table()
        return out

    def mark(self) -> dict[str, int]:
        """Row counts now, to undo a partly flattened release with `rollback`."""
        return {name: len(rows) for name, rows in self.rows.items()}

    def rollback(self, mark: dict[str, int]) -> None:
        for name, rows in self.rows.items():
            del rows[mark[name] :]

    def clear(self) -> None:
        for rows in self.rows.values():
            rows.clear()


def _obj(value: Any, known: frozenset[str], path: str, log: n.IssueLog) -> dict[str, Any]:
    if type(value) is dict:
        return n.fix_key_case(value, known, path, log)
    if value is not None:
        log.add(path, "object_invalid", value)
    return {}


def _objects(value: Any, known: frozenset[str], path: str, log: n.IssueLog) -> list[dict[str, Any]]:
    if value is None:
        return []
    if type(value) is not list:
        if type(value) is dict:
            log.add(path, "object_not_array", "{…}")
            return [n.fix_key_case(value, known, path, log)]
        log.add(path, "array_invalid", value)
        return []
    out = []
    for index, item in enumerate(value):
        if type(item) is dict:
            out.append(n.fix_key_case(item, known, path, log) if known else item)
        else:
            log.add(f"{path}/{index}", "object_invalid", item)
    return out


def _money(value: Any, path: str, log: n.IssueLog) -> tuple[float | None, str | None]:
    obj = _obj(value, VALUE_KEYS, path, log)
    if not obj:
        return None, None
    return n.amount(obj.get("amount"), path + "/amount", log), n.currency(obj.get("currency"), path + "/currency", log)


def _period(value: Any, path: str, log: n.IssueLog) -> tuple[str | None, str | None]:
    obj = _obj(value, PERIOD_KEYS, path, log)
    if not obj:
        return None, None
    return (
        n.timestamp(obj.get("startDate"), path + "/startDate", log),
        n.timestamp(obj.get("endDate"), path + "/endDate", log),
    )


def organisation_id(org: dict[str, Any]) -> str | None:
    """An organisation's id; OCDS 1.0 references carry only an identifier, so use scheme-id."""
    if org.get("id") is not None:
        return n.identifier(org["id"])
    identifier = org.get("identifier")
    if type(identifier) is dict and identifier.get("id") is not None:
        scheme = identifier.get("scheme")
        return f"{scheme}-{n.identifier(identifier['id'])}" if scheme else n.identifier(identifier["id"])
    return None


def _org_ref(value: Any, path: str, log: n.IssueLog) -> tuple[str | None, str | None]:
    org = _obj(value, ORGANISATION_KEYS, path, log)
    if not org:
        return None, None
    return organisation_id(org), n.text(org.get("name"), path + "/name", log)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _documents(
    rows: list[tuple[Any, ...]],
    key: tuple[str, str],
    scope: str,
    parent: str | None,
    value: Any,
    path: str,
    log: n.IssueLog,
) -> None:
    t = n.text
    for document in _objects(value, frozenset(), path, log):
        rows.append(
            (
                *key,
                scope,
                parent,
                n.identifier(document.get("id")),
                t(document.get("documentType"), path + "/documentType", log),
                t(document.get("title"), path + "/title", log),
                t(document.get("url"), path + "/url", log),
                n.timestamp(document.get("datePublished"), path + "/datePublished", log),
                n.timestamp(document.get("dateModified"), path + "/dateModified", log),
                t(document.get("format"), path + "/format", log),
                t(document.get("language"), path + "/language", log),
            )
        )


def _items(
    rows: list[tuple[Any, ...]],
    key: tuple[str, str],
    scope: str,
    parent: str | None,
    parent_position: int | None,
    value: Any,
    path: str,
    log: n.IssueLog,
) -> None:
    t = n.text
    for item in _objects(value, ITEM_KEYS, path, log):
        classification = _obj(item.get("classification"), frozenset(), path + "/classification", log)
        unit = _obj(item.get("unit"), frozenset(), path + "/unit", log)
        unit_amount, unit_currency = _money(unit.get("value"), path + "/unit/value", log)
        rows.append(
            (
                *key,
                scope,
                parent,
                parent_position,
                n.identifier(item.get("id")),
                t(item.get("description"), path + "/description", log),
                t(classification.get("scheme"), path + "/classification/scheme", log),
                n.identifier(classification.get("id")),
                t(classification.get("description"), path + "/classification/description", log),
                _json(item.get("additionalClassifications")),
                n.number(item.get("quantity"), path + "/quantity", log),
                t(unit.get("name"), path + "/unit/name", log),
                unit_amount,
                unit_currency,
                n.identifier(item.get("relatedLot")),
            )
        )


def _members(
    rows: list[tuple[Any, ...]],
    key: tuple[str, str],
    parent: str | None,
    parent_position: int,
    organisations: list[dict[str, Any]],
    path: str,
    log: n.IssueLog,
) -> None:
    """Rows linking a bid or award to its organisations (tenderers, suppliers), in published order."""
    for position, organisation in enumerate(organisations):
        rows.append(
            (
                *key,
                parent,
                parent_position,
                organisation_id(organisation),
                n.text(organisation.get("name"), path + "/name", log),
                position,
            )
        )


def _amendments(
    rows: list[tuple[Any, ...]],
    key: tuple[str, str],
    scope: str,
    parent: str | None,
    holder: dict[str, Any],
    path: str,
    log: n.IssueLog,
) -> int:
    amendments = _objects(holder.get("amendments"), frozenset(), path + "/amendments", log)
    if not amendments and type(holder.get("amendment")) is dict:  # OCDS 1.0: a single `amendment` object
        amendments = [holder["amendment"]]
    t = n.text
    for position, amendment in enumerate(amendments):
        amendment_id = n.identifier(amendment.get("id"))
        rows.append(
            (
                *key,
                scope,
                parent,
                amendment_id if amendment_id is not None else str(position),
                n.timestamp(amendment.get("date"), path + "/amendments/date", log),
                t(amendment.get("rationale"), path + "/amendments/rationale", log),
                t(amendment.get("description"), path + "/amendments/description", log),
                n.identifier(amendment.get("amendsReleaseID")),
                n.identifier(amendment.get("releaseID")),
            )
        )
    return len(amendments)


def flatten_release(
    release: dict[str, Any], dataset: str, source_file: str | None, run_id: str, out: RowBuffer, log: n.IssueLog
) -> None:
    """Append the rows of one compiled release to `out`, logging normalisations in `log`."""
    t = n.text
    rows = out.rows
    release = n.fix_key_case(release, RELEASE_KEYS, "", log)
    ocid = release["ocid"]
    key = (dataset, ocid)

    tender = _obj(release.get("tender"), TENDER_KEYS, "/tender", log)
    buyer_id, buyer_name = _org_ref(release.get("buyer"), "/buyer", log)
    procuring_id, procuring_name = _org_ref(tender.get("procuringEntity"), "/tender/procuringEntity", log)
    tender_amount, tender_currency = _money(tender.get("value"), "/tender/value", log)
    bids = _obj(release.get("bids"), frozenset(), "/bids", log)
    bid_details = _objects(bids.get("details"), BID_KEYS, "/bids/details", log)

    rows["processes"].append(
        (
            *key,
            n.identifier(release.get("id")),
            n.timestamp(release.get("date"), "/date", log),
            t(release.get("version"), "/version", log) or "1.0",
            t(release.get("language"), "/language", log),
            t(release.get("initiationType"), "/initiationType", log),
            n.identifier(tender.get("id")),
            t(tender.get("title"), "/tender/title", log),
            t(tender.get("description"), "/tender/description", log),
            t(tender.get("status"), "/tender/status", log),
            buyer_id,
            buyer_name,
            procuring_id,
            procuring_name,
            t(tender.get("procurementMethod"), "/tender/procurementMethod", log),
            t(tender.get("procurementMethodDetails"), "/tender/procurementMethodDetails", log),
            t(tender.get("procurementMethodRationale"), "/tender/procurementMethodRationale", log),
            t(tender.get("mainProcurementCategory"), "/tender/mainProcurementCategory", log),
            t(tender.get("awardCriteria"), "/tender/awardCriteria", log),
            t(tender.get("awardCriteriaDetails"), "/tender/awardCriteriaDetails", log),
            n.text_list(tender.get("submissionMethod"), "/tender/submissionMethod", log),
            tender_amount,
            tender_currency,
            *_period(tender.get("tenderPeriod"), "/tender/tenderPeriod", log),
            *_period(tender.get("enquiryPeriod"), "/tender/enquiryPeriod", log),
            *_period(tender.get("awardPeriod"), "/tender/awardPeriod", log),
            *_period(tender.get("contractPeriod"), "/tender/contractPeriod", log),
            n.count(tender.get("numberOfTenderers"), "/tender/numberOfTenderers", log),
            bool(bid_details),
            source_file,
            run_id,
        )
    )

    for lot in _objects(tender.get("lots"), frozenset(), "/tender/lots", log):
        rows["lots"].append(
            (
                *key,
                n.identifier(lot.get("id")),
                t(lot.get("title"), "/tender/lots/title", log),
                t(lot.get("status"), "/tender/lots/status", log),
                *_money(lot.get("value"), "/tender/lots/value", log),
            )
        )
    _items(rows["items"], key, "tender", None, None, tender.get("items"), "/tender/items", log)
    for tenderer in _objects(tender.get("tenderers"), ORGANISATION_KEYS, "/tender/tenderers", log):
        rows["tenderers"].append(
            (*key, organisation_id(tenderer), t(tenderer.get("name"), "/tender/tenderers/name", log))
        )
    _amendments(rows["amendments"], key, "tender", None, tender, "/tender", log)
    _documents(rows["documents"], key, "tender", None, tender.get("documents"), "/tender/documents", log)
    planning = _obj(release.get("planning"), frozenset(), "/planning", log)
    _documents(rows["documents"], key, "planning", None, planning.get("documents"), "/planning/documents", log)

    for bid_position, bid in enumerate(bid_details):
        bid_id = n.identifier(bid.get("id"))
        tenderers = _objects(bid.get("tenderers"), ORGANISATION_KEYS, "/bids/details/tenderers", log)
        rows["bids"].append(
            (
                *key,
                bid_id,
                bid_position,
                n.timestamp(bid.get("date"), "/bids/details/date", log),
                t(bid.get("status"), "/bids/details/status", log),
                *_money(bid.get("value"), "/bids/details/value", log),
                n.text_list(bid.get("relatedLots"), "/bids/details/relatedLots", log),
                len(tenderers),
            )
        )
        _members(rows["bid_tenderers"], key, bid_id, bid_position, tenderers, "/bids/details/tenderers", log)

    for award_position, award in enumerate(_objects(release.get("awards"), AWARD_KEYS, "/awards", log)):
        award_id = n.identifier(award.get("id"))
        suppliers = _objects(award.get("suppliers"), ORGANISATION_KEYS, "/awards/suppliers", log)
        rows["awards"].append(
            (
                *key,
                award_id,
                award_position,
                t(award.get("title"), "/awards/title", log),
                t(award.get("status"), "/awards/status", log),
                n.timestamp(award.get("date"), "/awards/date", log),
                *_money(award.get("value"), "/awards/value", log),
                *_period(award.get("contractPeriod"), "/awards/contractPeriod", log),
                n.text_list(award.get("relatedBids"), "/awards/relatedBids", log),
                n.text_list(award.get("relatedLots"), "/awards/relatedLots", log),
                len(suppliers),
            )
        )
        _members(rows["award_suppliers"], key, award_id, award_position, suppliers, "/awards/suppliers", log)
        _items(rows["items"], key, "award", award_id, award_position, award.get("items"), "/awards/items", log)
        _amendments(rows["amendments"], key, "award", award_id, award, "/awards", log)
        _documents(rows["documents"], key, "award", award_id, award.get("documents"), "/awards/documents", log)

    for contract_position, contract in enumerate(_objects(release.get("contracts"), CONTRACT_KEYS, "/contracts", log)):
        contract_id = n.identifier(contract.get("id"))
        implementation = _obj(contract.get("implementation"), frozenset(), "/contracts/implementation", log)
        transactions = _objects(
            implementation.get("transactions"), frozenset(), "/contracts/implementation/transactions", log
        )
        amendment_count = _amendments(rows["amendments"], key, "contract", contract_id, contract, "/contracts", log)
        rows["contracts"].append(
            (
                *key,
                contract_id,
                n.identifier(contract.get("awardID")),
                t(contract.get("title"), "/contracts/title", log),
                t(contract.get("status"), "/contracts/status", log),
                *_money(contract.get("value"), "/contracts/value", log),
                *_period(contract.get("period"), "/contracts/period", log),
                n.timestamp(contract.get("dateSigned"), "/contracts/dateSigned", log),
                amendment_count,
                len(transactions),
            )
        )
        for transaction in transactions:
            path = "/contracts/implementation/transactions"
            payer = transaction.get("payer")
            payee = transaction.get("payee")
            value = transaction.get("value")
            if value is None and type(transaction.get("amount")) is dict:  # OCDS 1.0 used `amount`
                value = transaction["amount"]
            rows["transactions"].append(
                (
                    *key,
                    contract_id,
                    n.identifier(transaction.get("id")),
                    n.timestamp(transaction.get("date"), path + "/date", log),
                    *_money(value, path + "/value", log),
                    organisation_id(payer) if type(payer) is dict else None,
                    organisation_id(payee) if type(payee) is dict else None,
                    t(transaction.get("source"), path + "/source", log),
                )
            )
        _items(
            rows["items"],
            key,
            "contract",
            contract_id,
            contract_position,
            contract.get("items"),
            "/contracts/items",
            log,
        )
        _documents(
            rows["documents"], key, "contract", contract_id, contract.get("documents"), "/contracts/documents", log
        )
        _documents(
            rows["documents"],
            key,
            "implementation",
            contract_id,
            implementation.get("documents"),
            "/contracts/implementation/documents",
            log,
        )

    for party in _objects(release.get("parties"), ORGANISATION_KEYS, "/parties", log):
        identifier = _obj(party.get("identifier"), frozenset(), "/parties/identifier", log)
        address = _obj(party.get("address"), frozenset(), "/parties/address", log)
        contact = _obj(party.get("contactPoint"), frozenset(), "/parties/contactPoint", log)
        rows["parties"].append(
            (
                *key,
                organisation_id(party),
                t(party.get("name"), "/parties/name", log),
                n.text_list(party.get("roles"), "/parties/roles", log),
                t(identifier.get("scheme"), "/parties/identifier/scheme", log),
                n.identifier(identifier.get("id")),
                t(identifier.get("legalName"), "/parties/identifier/legalName", log),
                _json(party.get("additionalIdentifiers")),
                t(address.get("streetAddress"), "/parties/address/streetAddress", log),
                t(address.get("locality"), "/parties/address/locality", log),
                t(address.get("region"), "/parties/address/region", log),
                n.identifier(address.get("postalCode")),
                t(address.get("countryName"), "/parties/address/countryName", log),
                t(contact.get("name"), "/parties/contactPoint/name", log),
                t(contact.get("email"), "/parties/contactPoint/email", log),
                n.identifier(contact.get("telephone")),
                n.identifier(contact.get("faxNumber")),
                t(contact.get("url"), "/parties/contactPoint/url", log),
            )
        )

"""The canonical warehouse schema: every table, column, type, meaning and OCDS source path."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    type: str  # DuckDB type name; other engines map it through their dialect
    description: str
    ocds_path: str = ""  # path in a compiled release (OCDS 1.1), "" when not from OCDS


@dataclass(frozen=True)
class Table:
    """One canonical table: its columns, key and purpose."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    group: str = "contracting"
    indexes: tuple[tuple[str, ...], ...] = field(default=())
    # Columns whose values split the table's files on engines that store a table as files (Spark: one folder per
    # dataset, so that one dataset can be rewritten or dropped without touching the others). DuckDB ignores it.
    partition_by: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


BY_DATASET = ("dataset",)


def _c(name: str, type_: str, description: str, ocds_path: str = "") -> Column:
    return Column(name, type_, description, ocds_path)


_PROCESS_KEY = (
    _c("dataset", "VARCHAR", "Name of the dataset (publisher) this row belongs to; chosen at ingest."),
    _c("ocid", "VARCHAR", "Open Contracting ID of the contracting process.", "ocid"),
)


def _money(prefix: str, path: str, what: str) -> tuple[Column, ...]:
    return (
        _c(f"{prefix}amount", "DOUBLE", f"{what}: amount (normalised to a number).", f"{path}/amount"),
        _c(f"{prefix}currency", "VARCHAR", f"{what}: ISO 4217 currency code.", f"{path}/currency"),
    )


def _period(prefix: str, path: str, what: str) -> tuple[Column, ...]:
    return (
        _c(f"{prefix}start", "TIMESTAMPTZ", f"{what}: start date.", f"{path}/startDate"),
        _c(f"{prefix}end", "TIMESTAMPTZ", f"{what}: end date.", f"{path}/endDate"),
    )


PROCESSES = Table(
    "processes",
    "One row per contracting process: the compiled release's tender, buyer and process-level facts.",
    (
        *_PROCESS_KEY,
        _c("release_id", "VARCHAR", "Identifier of the compiled release (ocid + date of the latest release).", "id"),
        _c("release_date", "TIMESTAMPTZ", "Date of the latest release merged into this process.", "date"),
        _c("ocds_version", "VARCHAR", "OCDS version declared by the source (1.0 when absent).", "version"),
        _c("language", "VARCHAR", "Default language of the text fields.", "language"),
        _c("initiation_type", "VARCHAR", "How the process was initiated (usually 'tender').", "initiationType"),
        _c("tender_id", "VARCHAR", "Identifier of the tender.", "tender/id"),
        _c("title", "VARCHAR", "Tender title.", "tender/title"),
        _c("description", "VARCHAR", "Tender description.", "tender/description"),
        _c(
            "status",
            "VARCHAR",
            "Tender status (planning, active, complete, cancelled, unsuccessful, ...).",
            "tender/status",
        ),
        _c("buyer_id", "VARCHAR", "Buyer's party id (or scheme-identifier for OCDS 1.0).", "buyer/id"),
        _c("buyer_name", "VARCHAR", "Buyer's name.", "buyer/name"),
        _c("procuring_entity_id", "VARCHAR", "Procuring entity's party id.", "tender/procuringEntity/id"),
        _c("procuring_entity_name", "VARCHAR", "Procuring entity's name.", "tender/procuringEntity/name"),
        _c("procurement_method", "VARCHAR", "open, selective, limited or direct.", "tender/procurementMethod"),
        _c(
            "procurement_method_details",
            "VARCHAR",
            "The publisher's own name for the method.",
            "tender/procurementMethodDetails",
        ),
        _c(
            "procurement_method_rationale",
            "VARCHAR",
            "Justification for a non-open method.",
            "tender/procurementMethodRationale",
        ),
        _c("main_procurement_category", "VARCHAR", "goods, works or services.", "tender/mainProcurementCategory"),
        _c("award_criteria", "VARCHAR", "priceOnly, costOnly, qualityOnly, ratedCriteria, ...", "tender/awardCriteria"),
        _c("award_criteria_details", "VARCHAR", "Details of the award criteria.", "tender/awardCriteriaDetails"),
        _c(
            "submission_method",
            "VARCHAR[]",
            "How bids are submitted (electronicSubmission, ...).",
            "tender/submissionMethod",
        ),
        *_money("tender_value_", "tender/value", "Estimated value of the tender"),
        *_period("tender_period_", "tender/tenderPeriod", "Bid submission period"),
        *_period("enquiry_period_", "tender/enquiryPeriod", "Enquiry period"),
        *_period("award_period_", "tender/awardPeriod", "Award evaluation period"),
        *_period("contract_period_", "tender/contractPeriod", "Expected contract period"),
        _c("number_of_tenderers", "BIGINT", "Number of tenderers as published.", "tender/numberOfTenderers"),
        _c("has_bids", "BOOLEAN", "Whether the release carries bid details.", "bids/details"),
        _c("source_file", "VARCHAR", "Input file the latest data came from."),
        _c("ingest_run_id", "VARCHAR", "Ingest run that wrote this row."),
    ),
    key=("dataset", "ocid"),
    partition_by=BY_DATASET,
)

LOTS = Table(
    "lots",
    "Lots into which a tender is divided.",
    (
        *_PROCESS_KEY,
        _c("lot_id", "VARCHAR", "Lot identifier, unique within the process.", "tender/lots/id"),
        _c("title", "VARCHAR", "Lot title.", "tender/lots/title"),
        _c("status", "VARCHAR", "Lot status.", "tender/lots/status"),
        *_money("value_", "tender/lots/value", "Estimated value of the lot"),
    ),
    key=("dataset", "ocid", "lot_id"),
    partition_by=BY_DATASET,
)

ITEMS = Table(
    "items",
    "Items to be procured (tender), awarded (award) or contracted (contract), with classifications.",
    (
        *_PROCESS_KEY,
        _c("scope", "VARCHAR", "Where the item is listed: tender, award or contract."),
        _c(
            "parent_id",
            "VARCHAR",
            "Award or contract id for award/contract items; NULL for tender items.",
            "awards/id | contracts/id",
        ),
        _c("parent_position", "INTEGER", "Position of the award or contract in its array; NULL for tender items."),
        _c("item_id", "VARCHAR", "Item identifier.", "*/items/id"),
        _c("description", "VARCHAR", "Item description.", "*/items/description"),
        _c(
            "classification_scheme",
            "VARCHAR",
            "Classification scheme (CPV, UNSPSC, ...).",
            "*/items/classification/scheme",
        ),
        _c("classification_id", "VARCHAR", "Classification code.", "*/items/classification/id"),
        _c("classification_description", "VARCHAR", "Classification label.", "*/items/classification/description"),
        _c(
            "additional_classifications",
            "JSON",
            "Other classifications as a JSON array.",
            "*/items/additionalClassifications",
        ),
        _c("quantity", "DOUBLE", "Quantity.", "*/items/quantity"),
        _c("unit_name", "VARCHAR", "Unit of measure.", "*/items/unit/name"),
        *_money("unit_value_", "*/items/unit/value", "Price per unit"),
        _c("related_lot", "VARCHAR", "Lot this item belongs to.", "tender/items/relatedLot"),
    ),
    partition_by=BY_DATASET,
)

BIDS = Table(
    "bids",
    "Bids submitted (OCDS bid extension, bids/details).",
    (
        *_PROCESS_KEY,
        _c("bid_id", "VARCHAR", "Bid identifier.", "bids/details/id"),
        _c("bid_position", "INTEGER", "Position of the bid in bids/details (identifies bids without an id)."),
        _c("date", "TIMESTAMPTZ", "Date the bid was received.", "bids/details/date"),
        _c(
            "status", "VARCHAR", "Bid status (valid, disqualified, invited, pending, withdrawn).", "bids/details/status"
        ),
        *_money("value_", "bids/details/value", "Bid value"),
        _c("related_lots", "VARCHAR[]", "Lots the bid was for.", "bids/details/relatedLots"),
        _c(
            "tenderer_count",
            "INTEGER",
            "Number of tenderers on the bid (more than 1 is a consortium).",
            "bids/details/tenderers",
        ),
    ),
    partition_by=BY_DATASET,
)

BID_TENDERERS = Table(
    "bid_tenderers",
    "Which organisations submitted each bid (one row per bid and tenderer).",
    (
        *_PROCESS_KEY,
        _c("bid_id", "VARCHAR", "Bid identifier.", "bids/details/id"),
        _c("bid_position", "INTEGER", "Position of the bid in bids/details."),
        _c("tenderer_id", "VARCHAR", "Tenderer's party id.", "bids/details/tenderers/id"),
        _c("tenderer_name", "VARCHAR", "Tenderer's name.", "bids/details/tenderers/name"),
        _c("position", "INTEGER", "Position of the tenderer in the bid's list (0 = lead)."),
    ),
    partition_by=BY_DATASET,
)

TENDERERS = Table(
    "tenderers",
    "Organisations listed as tenderers on the tender (tender/tenderers).",
    (
        *_PROCESS_KEY,
        _c("tenderer_id", "VARCHAR", "Tenderer's party id.", "tender/tenderers/id"),
        _c("tenderer_name", "VARCHAR", "Tenderer's name.", "tender/tenderers/name"),
    ),
    partition_by=BY_DATASET,
)

AWARDS = Table(
    "awards",
    "Award decisions.",
    (
        *_PROCESS_KEY,
        _c("award_id", "VARCHAR", "Award identifier.", "awards/id"),
        _c("award_position", "INTEGER", "Position of the award in awards (identifies awards without an id)."),
        _c("title", "VARCHAR", "Award title.", "awards/title"),
        _c("status", "VARCHAR", "pending, active, cancelled or unsuccessful.", "awards/status"),
        _c("date", "TIMESTAMPTZ", "Date of the award decision.", "awards/date"),
        *_money("value_", "awards/value", "Awarded value"),
        *_period("contract_period_", "awards/contractPeriod", "Contract period of the award"),
        _c("related_bids", "VARCHAR[]", "Bids the award was made on.", "awards/relatedBids"),
        _c("related_lots", "VARCHAR[]", "Lots the award covers.", "awards/relatedLots"),
        _c(
            "supplier_count",
            "INTEGER",
            "Number of suppliers (more than 1 is a consortium or framework).",
            "awards/suppliers",
        ),
    ),
    partition_by=BY_DATASET,
)

AWARD_SUPPLIERS = Table(
    "award_suppliers",
    "Which organisations each award went to (one row per award and supplier).",
    (
        *_PROCESS_KEY,
        _c("award_id", "VARCHAR", "Award identifier.", "awards/id"),
        _c("award_position", "INTEGER", "Position of the award in awards."),
        _c("supplier_id", "VARCHAR", "Supplier's party id (or scheme-identifier for OCDS 1.0).", "awards/suppliers/id"),
        _c("supplier_name", "VARCHAR", "Supplier's name.", "awards/suppliers/name"),
        _c("position", "INTEGER", "Position of the supplier in the award's list."),
    ),
    partition_by=BY_DATASET,
)

CONTRACTS = Table(
    "contracts",
    "Signed contracts.",
    (
        *_PROCESS_KEY,
        _c("contract_id", "VARCHAR", "Contract identifier.", "contracts/id"),
        _c("award_id", "VARCHAR", "Award the contract implements.", "contracts/awardID"),
        _c("title", "VARCHAR", "Contract title.", "contracts/title"),
        _c("status", "VARCHAR", "pending, active, cancelled or terminated.", "contracts/status"),
        *_money("value_", "contracts/value", "Contract value"),
        *_period("period_", "contracts/period", "Contract period"),
        _c("date_signed", "TIMESTAMPTZ", "Date the contract was signed.", "contracts/dateSigned"),
        _c("amendment_count", "INTEGER", "Number of amendments to the contract.", "contracts/amendments"),
        _c(
            "transaction_count",
            "INTEGER",
            "Number of implementation transactions.",
            "contracts/implementation/transactions",
        ),
    ),
    partition_by=BY_DATASET,
)

AMENDMENTS = Table(
    "amendments",
    "Amendments to the tender, an award or a contract.",
    (
        *_PROCESS_KEY,
        _c("scope", "VARCHAR", "What was amended: tender, award or contract."),
        _c("parent_id", "VARCHAR", "Award or contract id; NULL for tender amendments.", "awards/id | contracts/id"),
        _c("amendment_id", "VARCHAR", "Amendment identifier (position when absent).", "*/amendments/id"),
        _c("date", "TIMESTAMPTZ", "Date of the amendment.", "*/amendments/date"),
        _c("rationale", "VARCHAR", "Why the amendment was made.", "*/amendments/rationale"),
        _c("description", "VARCHAR", "What changed.", "*/amendments/description"),
        _c("amends_release_id", "VARCHAR", "Release whose values were amended.", "*/amendments/amendsReleaseID"),
        _c("release_id", "VARCHAR", "Release carrying the amended values.", "*/amendments/releaseID"),
    ),
    partition_by=BY_DATASET,
)

TRANSACTIONS = Table(
    "transactions",
    "Payments made while implementing a contract.",
    (
        *_PROCESS_KEY,
        _c("contract_id", "VARCHAR", "Contract identifier.", "contracts/id"),
        _c("transaction_id", "VARCHAR", "Transaction identifier.", "contracts/implementation/transactions/id"),
        _c("date", "TIMESTAMPTZ", "Date of the payment.", "contracts/implementation/transactions/date"),
        *_money("value_", "contracts/implementation/transactions/value", "Amount paid"),
        _c("payer_id", "VARCHAR", "Payer's party id.", "contracts/implementation/transactions/payer/id"),
        _c("payee_id", "VARCHAR", "Payee's party id.", "contracts/implementation/transactions/payee/id"),
        _c("source", "VARCHAR", "Source of the data (URI).", "contracts/implementation/transactions/source"),
    ),
    partition_by=BY_DATASET,
)

PARTIES = Table(
    "parties",
    "Organisations involved in a process, with identifiers, roles, address and contact point.",
    (
        *_PROCESS_KEY,
        _c("party_id", "VARCHAR", "Party id, unique within the process.", "parties/id"),
        _c("name", "VARCHAR", "Common name.", "parties/name"),
        _c(
            "roles",
            "VARCHAR[]",
            "Roles (buyer, procuringEntity, supplier, tenderer, payer, payee, ...).",
            "parties/roles",
        ),
        _c(
            "identifier_scheme",
            "VARCHAR",
            "Primary identifier's scheme (org-id.guide list code).",
            "parties/identifier/scheme",
        ),
        _c("identifier_id", "VARCHAR", "Primary identifier.", "parties/identifier/id"),
        _c("legal_name", "VARCHAR", "Legally registered name.", "parties/identifier/legalName"),
        _c("additional_identifiers", "JSON", "Other identifiers as a JSON array.", "parties/additionalIdentifiers"),
        _c("street_address", "VARCHAR", "Street address.", "parties/address/streetAddress"),
        _c("locality", "VARCHAR", "Locality (town, city).", "parties/address/locality"),
        _c("region", "VARCHAR", "Region.", "parties/address/region"),
        _c("postal_code", "VARCHAR", "Postal code.", "parties/address/postalCode"),
        _c("country_name", "VARCHAR", "Country name.", "parties/address/countryName"),
        _c("contact_name", "VARCHAR", "Contact person.", "parties/contactPoint/name"),
        _c("contact_email", "VARCHAR", "Contact e-mail.", "parties/contactPoint/email"),
        _c("contact_telephone", "VARCHAR", "Contact telephone.", "parties/contactPoint/telephone"),
        _c("contact_fax", "VARCHAR", "Contact fax.", "parties/contactPoint/faxNumber"),
        _c("contact_url", "VARCHAR", "Contact web address.", "parties/contactPoint/url"),
    ),
    partition_by=BY_DATASET,
)

DOCUMENTS = Table(
    "documents",
    "Documents attached to the planning, tender, awards, contracts or their implementation.",
    (
        *_PROCESS_KEY,
        _c("scope", "VARCHAR", "planning, tender, award, contract or implementation."),
        _c("parent_id", "VARCHAR", "Award or contract id where relevant.", "awards/id | contracts/id"),
        _c("document_id", "VARCHAR", "Document identifier.", "*/documents/id"),
        _c("document_type", "VARCHAR", "Type from the documentType codelist.", "*/documents/documentType"),
        _c("title", "VARCHAR", "Title.", "*/documents/title"),
        _c("url", "VARCHAR", "Where to get it.", "*/documents/url"),
        _c("date_published", "TIMESTAMPTZ", "When it was first published.", "*/documents/datePublished"),
        _c("date_modified", "TIMESTAMPTZ", "When it was last modified.", "*/documents/dateModified"),
        _c("format", "VARCHAR", "Media type.", "*/documents/format"),
        _c("language", "VARCHAR", "Language.", "*/documents/language"),
    ),
    partition_by=BY_DATASET,
)

CONTRACTING_TABLES: tuple[Table, ...] = (
    PROCESSES,
    LOTS,
    ITEMS,
    TENDERERS,
    BIDS,
    BID_TENDERERS,
    AWARDS,
    AWARD_SUPPLIERS,
    CONTRACTS,
    AMENDMENTS,
    TRANSACTIONS,
    PARTIES,
    DOCUMENTS,
)

# --- bookkeeping tables: provenance, the source data as received, rejects and data-quality issues ---

SOURCE_RELEASES = Table(
    "source_releases",
    "Every distinct release, record's compiled release or compiled release received, as JSON, so that "
    "processes can be recompiled when newer releases arrive and no input is ever lost.",
    (
        *_PROCESS_KEY,
        _c("kind", "VARCHAR", "release, compiled (a compiled release) or record (a record's compiledRelease)."),
        _c("release_id", "VARCHAR", "Release id.", "id"),
        _c("release_date", "VARCHAR", "Release date as published (merge order).", "date"),
        _c("sha256", "VARCHAR", "SHA-256 of the stored JSON text; identical releases are stored once."),
        _c("data", "VARCHAR", "The release as JSON."),
        _c("source_file", "VARCHAR", "File it was first read from."),
        _c("source_line", "BIGINT", "Line (JSON Lines) or object number (documents) in that file."),
        _c("ingest_run_id", "VARCHAR", "Ingest run that first received it."),
    ),
    key=("dataset", "ocid", "sha256"),
    group="bookkeeping",
    partition_by=BY_DATASET,
)

INGEST_RUNS = Table(
    "ingest_runs",
    "One row per ingest run: what was read, what came of it, how long it took.",
    (
        _c("run_id", "VARCHAR", "Run identifier."),
        _c("dataset", "VARCHAR", "Dataset name."),
        _c("started_at", "TIMESTAMPTZ", "Start time."),
        _c("finished_at", "TIMESTAMPTZ", "End time."),
        _c("duration_seconds", "DOUBLE", "Wall time."),
        _c("code_version", "VARCHAR", "clearsight version."),
        _c("objects_read", "BIGINT", "Input lines/objects read (blank lines included)."),
        _c("releases_read", "BIGINT", "Releases, records and compiled releases found in them."),
        _c("new_releases", "BIGINT", "Of those, not seen before (others are exact duplicates)."),
        _c("processes_written", "BIGINT", "Contracting processes (re)compiled and written."),
        _c("rejected", "BIGINT", "Objects rejected (see ingest_rejects)."),
        _c("blank", "BIGINT", "Blank lines skipped (counted, not rejected)."),
        _c("quality_issues", "BIGINT", "Values normalised or dropped with a recorded issue."),
        _c("summary", "JSON", "The full run summary as printed by --json."),
    ),
    group="bookkeeping",
)

INGEST_FILES = Table(
    "ingest_files",
    "Every input file (or archive member) of every run, with its SHA-256 and counts.",
    (
        _c("run_id", "VARCHAR", "Run identifier."),
        _c("dataset", "VARCHAR", "Dataset name."),
        _c("path", "VARCHAR", "Path as given (archive members as archive!member)."),
        _c("sha256", "VARCHAR", "SHA-256 of the (decompressed) bytes read."),
        _c("bytes", "BIGINT", "Bytes read (decompressed)."),
        _c("format", "VARCHAR", "json-lines or json-document."),
        _c("objects_read", "BIGINT", "Lines/objects read."),
        _c("releases_read", "BIGINT", "Releases found."),
        _c("rejected", "BIGINT", "Objects rejected."),
        _c("blank", "BIGINT", "Blank lines."),
    ),
    group="bookkeeping",
)

INGEST_REJECTS = Table(
    "ingest_rejects",
    "Input that could not be loaded, with where it was and why.",
    (
        _c("run_id", "VARCHAR", "Run identifier."),
        _c("dataset", "VARCHAR", "Dataset name."),
        _c("file", "VARCHAR", "Input file."),
        _c("line", "BIGINT", "Line (JSON Lines) or object number (documents)."),
        _c("ocid", "VARCHAR", "ocid, when it could be read."),
        _c("path", "VARCHAR", "JSON path of the offending value ('' for the whole object)."),
        _c("value", "VARCHAR", "Offending value (truncated to 200 characters)."),
        _c("reason", "VARCHAR", "Why it was rejected."),
    ),
    group="bookkeeping",
)

QUALITY_ISSUES = Table(
    "quality_issues",
    "Values that were normalised (e.g. '1,000.50' → 1000.5) or dropped during ingest, per process.",
    (
        _c("run_id", "VARCHAR", "Run identifier."),
        *_PROCESS_KEY,
        _c("path", "VARCHAR", "JSON path in the compiled release."),
        _c("issue", "VARCHAR", "Issue code (amount_string, date_format, unknown_currency, ...)."),
        _c("value", "VARCHAR", "Original value (truncated)."),
        _c("normalised", "VARCHAR", "Value stored instead (NULL when dropped)."),
    ),
    group="bookkeeping",
    partition_by=BY_DATASET,
)

BOOKKEEPING_TABLES: tuple[Table, ...] = (SOURCE_RELEASES, INGEST_RUNS, INGEST_FILES, INGEST_REJECTS, QUALITY_ISSUES)

# --- red flags: one long table of results, and the runs that produced them ---

FLAG_RUNS = Table(
    "flag_runs",
    "One row per `clearsight flags run`: what was run, with which profile and parameters, on which inputs.",
    (
        _c("run_id", "VARCHAR", "Run identifier."),
        _c("dataset", "VARCHAR", "Dataset the indicators ran on."),
        _c("started_at", "TIMESTAMPTZ", "Start time."),
        _c("finished_at", "TIMESTAMPTZ", "End time."),
        _c("code_version", "VARCHAR", "clearsight version."),
        _c("profile", "VARCHAR", "Profile name."),
        _c("settings", "JSON", "The whole validated profile, with every indicator's parameters."),
        _c("inputs", "JSON", "Ingest runs (with their input files' SHA-256) that built the dataset."),
        _c("indicators", "JSON", "Per indicator: rows written by status, and seconds."),
    ),
    group="flags",
)

FLAG_RESULTS = Table(
    "flag_results",
    "Every indicator's verdict on every subject it can judge: flagged, clear, insufficient_data or not_applicable.",
    (
        _c("run_id", "VARCHAR", "Run that produced the row."),
        _c("dataset", "VARCHAR", "Dataset."),
        _c("indicator", "VARCHAR", "Indicator code (R003, ...)."),
        _c(
            "subject_type",
            "VARCHAR",
            "process, buyer, procuring_entity or tenderer; for registry checks payroll_record, beneficiary, voter, "
            "civil_person, bank_account or company_role.",
        ),
        _c("subject_id", "VARCHAR", "ocid for processes; the organisation id otherwise."),
        _c("ocid", "VARCHAR", "The process the row is about (NULL for organisation-level results)."),
        _c("status", "VARCHAR", "flagged, clear, insufficient_data or not_applicable."),
        _c("value", "DOUBLE", "What the indicator measured (days, ratio, count, ...)."),
        _c("threshold", "DOUBLE", "The threshold or fence it was compared with."),
        _c("evidence", "JSON", "What an explanation needs (bids, dates, fences, reasons)."),
    ),
    group="flags",
)

RISK_SCORES = Table(
    "risk_scores",
    "Composite risk per process, buyer and supplier for a flag run: a GTI-style corruption-risk index and a "
    "weighted score, counting only indicators that could judge the subject.",
    (
        _c("run_id", "VARCHAR", "Flag run."),
        _c("dataset", "VARCHAR", "Dataset."),
        _c("subject_type", "VARCHAR", "process, buyer or tenderer (a supplier)."),
        _c("subject_id", "VARCHAR", "ocid or organisation id."),
        _c("status", "VARCHAR", "scored, or insufficient_data when no indicator could judge the subject."),
        _c("cri", "DOUBLE", "Share of judged indicators that flagged (0-1), or NULL when none could judge."),
        _c("weighted_score", "DOUBLE", "Profile-weighted share of judged indicators that flagged (0-1)."),
        _c("components", "INTEGER", "Indicators that judged the subject (flagged or clear)."),
        _c("flagged", "INTEGER", "Indicators that flagged it."),
        _c("flagged_indicators", "VARCHAR[]", "Their codes."),
        _c("rank", "INTEGER", "Rank by weighted score within its subject type (1 = riskiest)."),
    ),
    group="flags",
)

FLAG_TABLES: tuple[Table, ...] = (FLAG_RUNS, FLAG_RESULTS, RISK_SCORES)

SCREEN_RESULTS = Table(
    "screen_results",
    "Bid-rigging screens per tender (or lot): statistics of the submitted bids, the default screen score and, "
    "with a trained model, its calibrated probability.",
    (
        _c("run_id", "VARCHAR", "Screens run."),
        *_PROCESS_KEY,
        _c("lot_id", "VARCHAR", "Lot, or NULL for bids not tied to a lot."),
        _c(
            "status",
            "VARCHAR",
            "screened; insufficient_data (fewer bids than the minimum); out_of_domain (a firm bidding several times, "
            "or bids more dispersed than 99.5% of the reference tenders): see reason.",
        ),
        _c("bids", "INTEGER", "Submitted bids with an amount in the main currency."),
        _c("cv", "DOUBLE", "Coefficient of variation."),
        _c("kurtosis", "DOUBLE", "Sample excess kurtosis."),
        _c("skewness", "DOUBLE", "Sample skewness."),
        _c("spread", "DOUBLE", "(highest - lowest) / lowest."),
        _c("diffp", "DOUBLE", "(second lowest - lowest) / lowest."),
        _c("rd", "DOUBLE", "Relative distance: (second lowest - lowest) / standard deviation of losing bids."),
        _c("altrd", "DOUBLE", "Alternative relative distance: (second lowest - lowest) / mean gap of losing bids."),
        _c("ks", "DOUBLE", "Kolmogorov-Smirnov statistic against the uniform distribution on [lowest, highest]."),
        _c(
            "cartel_probability",
            "DOUBLE",
            "Calibrated probability of bid rigging from a trained model (`screens run --model`); NULL without one.",
        ),
        _c("reason", "VARCHAR", "Why a tender is insufficient_data or out_of_domain."),
        _c(
            "score",
            "DOUBLE",
            "Default screen score, 0–1: 1 − mean share of reference tenders with lower CV and lower spread "
            "(docs/screens.md). NULL unless screened.",
        ),
    ),
    group="screens",
)
NETWORK_EDGES = Table(
    "network_edges",
    "The supplier network: links between two suppliers (co-bidding, shared identifiers, similar names) and from "
    "buyers to the suppliers they awarded; rebuilt per dataset by `clearsight network build`.",
    (
        _c("dataset", "VARCHAR", "Dataset."),
        _c("source", "VARCHAR", "Party id (for supplier links, the smaller of the two ids; for awards, the buyer)."),
        _c("target", "VARCHAR", "Party id (the other supplier, or the supplier a buyer awarded)."),
        _c(
            "kind",
            "VARCHAR",
            "co_bid, shared_address, shared_telephone, shared_email, similar_name, shared_<kind> (from --identifiers) "
            "or awarded.",
        ),
        _c("weight", "DOUBLE", "co_bid: processes bid in together; awarded: active awards; shared links: 1."),
        _c("evidence", "JSON", "What links them (processes, wins of each against the other, the shared value)."),
    ),
    group="network",
    partition_by=BY_DATASET,
)
NETWORK_GROUPS = Table(
    "network_groups",
    "Communities of suppliers (Louvain on the co-bidding and shared-identifier links) and how suspicious each is.",
    (
        _c("dataset", "VARCHAR", "Dataset."),
        _c("group_id", "VARCHAR", "Group id (G1 is the most suspicious)."),
        _c("members", "VARCHAR[]", "Supplier ids."),
        _c("size", "INTEGER", "Members."),
        _c("joint_processes", "INTEGER", "Processes in which at least two members bid."),
        _c("member_win_share", "DOUBLE", "Share of the joint processes won by a member."),
        _c("distinct_winners", "INTEGER", "Members that won a joint process."),
        _c("rotation", "DOUBLE", "Evenness of the members' wins (normalised entropy: 1 = perfect turn-taking)."),
        _c(
            "shared_identifier_links",
            "INTEGER",
            "Pairs of members sharing a telephone, an e-mail address or an identifier from --identifiers.",
        ),
        _c("score", "DOUBLE", "Suspicion score in [0, 1]; see docs/network.md."),
        _c("evidence", "JSON", "Wins per member and the links inside the group."),
    ),
    group="network",
    partition_by=BY_DATASET,
)
NETWORK_TABLES: tuple[Table, ...] = (NETWORK_EDGES, NETWORK_GROUPS)

REGISTRY_RECORDS = Table(
    "registry_records",
    "Registry extracts (civil registry, payroll, beneficiaries, voter roll, company register) mapped to canonical "
    "fields by a mapping file; every changed record is a new version, kept beside the older ones.",
    (
        _c("dataset", "VARCHAR", "Dataset (the registry's publisher or extract), chosen at ingest."),
        _c("kind", "VARCHAR", "civil, payroll, beneficiaries, voters or companies."),
        _c("record_id", "VARCHAR", "The record's identifier in its registry (unique within one file)."),
        _c("version", "INTEGER", "1 for the first version seen, +1 each time the record's content changes."),
        _c("record_hash", "VARCHAR", "SHA-256 (hex) of `canonical`, the bytes appended to the ledger."),
        _c("canonical", "VARCHAR", "The record as canonical JSON (the ledger entry)."),
        _c("national_id", "VARCHAR", "National identity number."),
        _c("given_name", "VARCHAR", "Given name(s)."),
        _c("family_name", "VARCHAR", "Family name(s)."),
        _c("full_name", "VARCHAR", "Full name, where the registry does not split it."),
        _c("date_of_birth", "DATE", "Date of birth."),
        _c("date_of_death", "DATE", "Date of death (civil registry)."),
        _c("sex", "VARCHAR", "Sex as recorded."),
        _c("address", "VARCHAR", "Address."),
        _c("phone", "VARCHAR", "Telephone."),
        _c("email", "VARCHAR", "E-mail."),
        _c("bank_account", "VARCHAR", "Bank account (payroll, beneficiaries)."),
        _c("employer", "VARCHAR", "Employer (payroll)."),
        _c("pay_period", "VARCHAR", "Pay period (payroll)."),
        _c("amount", "DOUBLE", "Amount paid (payroll, beneficiaries)."),
        _c("programme", "VARCHAR", "Benefit programme (beneficiaries)."),
        _c("household_id", "VARCHAR", "Household (beneficiaries)."),
        _c("income", "DOUBLE", "Declared income (beneficiaries)."),
        _c("polling_station", "VARCHAR", "Polling station (voter roll)."),
        _c("company_id", "VARCHAR", "Company identifier (company register)."),
        _c("company_name", "VARCHAR", "Company name (company register)."),
        _c("role", "VARCHAR", "The person's role in the company: owner, director (company register)."),
        _c("attributes", "JSON", "Further columns the mapping keeps, by their names in the file."),
        _c("source_file", "VARCHAR", "File the version was read from."),
        _c("source_line", "BIGINT", "Line (CSV) or row (Parquet) it was read from."),
        _c("run_id", "VARCHAR", "Registry ingest run."),
    ),
    group="registry",
)
REGISTRY_REJECTS = Table(
    "registry_rejects",
    "Registry rows not loaded, each with where it was and why: nothing is dropped silently.",
    (
        _c("run_id", "VARCHAR", "Registry ingest run."),
        _c("dataset", "VARCHAR", "Dataset."),
        _c("kind", "VARCHAR", "Registry kind."),
        _c("source_file", "VARCHAR", "File."),
        _c("source_line", "BIGINT", "Line (CSV) or row (Parquet)."),
        _c("column_name", "VARCHAR", "The file's column at fault (NULL when the row as a whole is)."),
        _c("value", "VARCHAR", "The offending value."),
        _c("reason", "VARCHAR", "Why the row was rejected."),
    ),
    group="registry",
)
REGISTRY_LINK_RUNS = Table(
    "registry_link_runs",
    "One linkage of two registries of a dataset (or of one registry with itself): model, training and counts.",
    (
        _c("run_id", "VARCHAR", "Linkage run."),
        _c("dataset", "VARCHAR", "Dataset whose registries were linked."),
        _c("linkage", "VARCHAR", "Which: '<left kind>~<right kind>' ('payroll~civil'; 'voters~voters' deduplicates)."),
        _c("left_kind", "VARCHAR", "Registry kind on the left."),
        _c("right_kind", "VARCHAR", "Registry kind on the right (the same kind when deduplicating)."),
        _c("mode", "VARCHAR", "plain (identifiers compared as given) or encoded (keyed Bloom-filter encodings)."),
        _c("left_records", "BIGINT", "Records on the left (latest versions)."),
        _c("right_records", "BIGINT", "Records on the right."),
        _c("pairs", "BIGINT", "Pairs stored (match probability at or above candidate_threshold)."),
        _c("candidate_threshold", "DOUBLE", "Match probability from which pairs are stored (weak candidates too)."),
        _c("threshold", "DOUBLE", "Match probability from which two records are clustered as one person."),
        _c("training", "VARCHAR", "em (trained on the data), partial, or priors (too few records to train)."),
        _c("seed", "INTEGER", "Seed of the random sampling that estimates u probabilities."),
        _c("model", "JSON", "Comparisons, blocking rules, prior match probability, m and u of every level."),
        _c("started_at", "TIMESTAMPTZ", "When the run started."),
        _c("seconds", "DOUBLE", "How long it took."),
    ),
    group="registry",
)
REGISTRY_LINKS = Table(
    "registry_links",
    "Scored pairs of registry records that probably are the same person, each with its explanation.",
    (
        _c("run_id", "VARCHAR", "Linkage run."),
        _c("dataset", "VARCHAR", "Dataset."),
        _c("linkage", "VARCHAR", "As in registry_link_runs."),
        _c("left_kind", "VARCHAR", "Kind of the left record."),
        _c("left_id", "VARCHAR", "record_id of the left record."),
        _c("right_kind", "VARCHAR", "Kind of the right record."),
        _c("right_id", "VARCHAR", "record_id of the right record."),
        _c("match_probability", "DOUBLE", "Probability that both records are the same person."),
        _c("match_weight", "DOUBLE", "log2 of the Bayes factor: prior weight plus the weights in `explanation`."),
        _c("cluster_id", "VARCHAR", "Cluster (connected records at the threshold) the pair belongs to."),
        _c(
            "explanation",
            "JSON",
            "{prior, fields: {comparison: {level, weight}}}: each comparison's level and weight; they sum to "
            "match_weight.",
        ),
    ),
    group="registry",
)
_STATEMENT_KEY = (
    _c("dataset", "VARCHAR", "Dataset name."),
    _c("statement_id", "VARCHAR", "BODS statement id (statementId in 0.4, statementID before)."),
    _c(
        "record_id",
        "VARCHAR",
        "The record the statement describes (0.4 recordId; before 0.4 each statement is its own record, so its id).",
    ),
)
OWNERSHIP_STATEMENTS = Table(
    "ownership_statements",
    "Every Beneficial Ownership Data Standard (BODS) statement loaded, of any version: what it is, when it was "
    "made, what it replaces, and where it was read. One row per statement id (a statement seen again is counted, "
    "not stored twice).",
    (
        *_STATEMENT_KEY,
        _c(
            "statement_type",
            "VARCHAR",
            "entity, person or relationship (0.2/0.3: entityStatement, personStatement, ownershipOrControlStatement).",
        ),
        _c("bods_version", "VARCHAR", "publicationDetails.bodsVersion, else 0.2/0.3 (the shape before 0.4)."),
        _c("statement_date", "DATE", "statementDate."),
        _c("publication_date", "DATE", "publicationDetails.publicationDate."),
        _c("record_status", "VARCHAR", "0.4 recordStatus: new, updated or closed (NULL before 0.4)."),
        _c("replaces", "VARCHAR[]", "Statement ids this one replaces (replacesStatements, before 0.4)."),
        _c("declaration_subject", "VARCHAR", "0.4 declarationSubject: the record the declaration is about."),
        _c("source", "JSON", "source as published."),
        _c("file", "VARCHAR", "File it was read from."),
        _c("position", "BIGINT", "Line (JSON Lines) or position in the array (from 1)."),
        _c("run_id", "VARCHAR", "Ingest run."),
        _c("statement", "JSON", "The statement as published (keys sorted, compact): the ledger's entry for it."),
        _c("load_order", "BIGINT", "Order in which its run stored it (the order of the ledger's entries)."),
    ),
    group="ownership",
)
OWNERSHIP_ENTITIES = Table(
    "ownership_entities",
    "BODS entity statements: companies, trusts, states, listed companies, with identifiers for joining to OCDS "
    "parties.",
    (
        *_STATEMENT_KEY,
        _c("name", "VARCHAR", "name."),
        _c(
            "entity_type",
            "VARCHAR",
            "entityType (0.4 entityType.type): registeredEntity, legalEntity, arrangement, "
            "anonymousEntity, unknownEntity, state, stateBody.",
        ),
        _c("jurisdiction", "VARCHAR", "Jurisdiction code (0.4 jurisdiction, before incorporatedInJurisdiction)."),
        _c("founding_date", "DATE", "foundingDate."),
        _c("dissolution_date", "DATE", "dissolutionDate."),
        _c(
            "identifier_keys",
            "VARCHAR[]",
            "'SCHEME-id' of every identifier with a scheme (e.g. GB-COH-01234567), the scheme in upper case.",
        ),
        _c("identifiers", "JSON", "identifiers as published."),
        _c("addresses", "JSON", "addresses as published."),
    ),
    group="ownership",
)
OWNERSHIP_PERSONS = Table(
    "ownership_persons",
    "BODS person statements, with political exposure.",
    (
        *_STATEMENT_KEY,
        _c("person_type", "VARCHAR", "personType: knownPerson, anonymousPerson, unknownPerson."),
        _c("name", "VARCHAR", "The first name given: fullName, else given and family names joined."),
        _c("birth_date", "VARCHAR", "birthDate as published (a year, a year and month, or a date)."),
        _c("nationalities", "VARCHAR[]", "Nationality codes."),
        _c(
            "pep",
            "BOOLEAN",
            "Politically exposed: 0.4 politicalExposure.status isPep / isNotPep; before, "
            "hasPepStatus. NULL when not said.",
        ),
        _c("pep_details", "JSON", "politicalExposure.details (0.4) or pepStatusDetails."),
        _c("identifiers", "JSON", "identifiers as published."),
        _c("addresses", "JSON", "addresses as published."),
    ),
    group="ownership",
)
OWNERSHIP_INTERESTS = Table(
    "ownership_interests",
    "One row per interest of a BODS relationship (ownership-or-control) statement: who holds what in whom, how "
    "much, and when. A relationship without interests has one row with interest_position 0.",
    (
        *_STATEMENT_KEY,
        _c("interest_position", "INTEGER", "Position of the interest in the statement (from 1; 0: none given)."),
        _c("subject", "VARCHAR", "Record id of the entity the interest is in."),
        _c("interested_party", "VARCHAR", "Record id of the person or entity holding it (NULL when unspecified)."),
        _c("unspecified_reason", "VARCHAR", "Why the interested party is not given (unspecified reason code)."),
        _c("interest_type", "VARCHAR", "type: shareholding, votingRights, appointmentOfBoard, … (as published)."),
        _c("direct_or_indirect", "VARCHAR", "directOrIndirect (0.4): direct, indirect or unknown."),
        _c("beneficial", "BOOLEAN", "beneficialOwnershipOrControl."),
        _c("share_exact", "DOUBLE", "share.exact (percent)."),
        _c("share_minimum", "DOUBLE", "share.minimum (percent)."),
        _c("share_maximum", "DOUBLE", "share.maximum (percent)."),
        _c("start_date", "DATE", "startDate."),
        _c("end_date", "DATE", "endDate."),
        _c("details", "VARCHAR", "details."),
    ),
    group="ownership",
)
OWNERSHIP_TABLES: tuple[Table, ...] = (OWNERSHIP_STATEMENTS, OWNERSHIP_ENTITIES, OWNERSHIP_PERSONS, OWNERSHIP_INTERESTS)
REGISTRY_TABLES: tuple[Table, ...] = (REGISTRY_RECORDS, REGISTRY_REJECTS, REGISTRY_LINK_RUNS, REGISTRY_LINKS)
ALL_TABLES: tuple[Table, ...] = (
    CONTRACTING_TABLES
    + BOOKKEEPING_TABLES
    + FLAG_TABLES
    + (SCREEN_RESULTS,)
    + NETWORK_TABLES
    + REGISTRY_TABLES
    + OWNERSHIP_TABLES
)
TABLES_BY_NAME: dict[str, Table] = {table.name: table for table in ALL_TABLES}


def create_table_sql(table: Table) -> str:
    """DDL (DuckDB dialect) that creates a canonical table if it is missing."""
    columns = ",\n  ".join(f"{column.name} {column.type}" for column in table.columns)
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n  {columns}\n)"

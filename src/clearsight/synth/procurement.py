"""Synthetic OCDS procurement data with planted integrity problems and a ground-truth file.

The generator streams: it keeps only the pools of buyers and suppliers and a little state per cartel and
per planted purchase split, so memory does not grow with the number of processes. The same seed always gives
the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

PREFIX = "ocds-cs0001"
CURRENCY = "EUR"
DIRECT_THRESHOLD = 50_000.0  # purchases below this may be direct awards (the split-purchase planting targets it)

# Markets: CPV division code and label, category, unit, typical unit price, typical quantity.
MARKETS: tuple[tuple[str, str, str, str, float, int], ...] = (
    ("33600000", "Pharmaceutical products", "goods", "box", 45.0, 800),
    ("33140000", "Medical consumables", "goods", "unit", 12.0, 3000),
    ("30200000", "Computer equipment and supplies", "goods", "unit", 900.0, 60),
    ("09130000", "Petroleum and distillates", "goods", "litre", 1.6, 40_000),
    ("15800000", "Miscellaneous food products", "goods", "kg", 3.5, 12_000),
    ("45233000", "Road construction works", "works", "km", 420_000.0, 3),
    ("45210000", "Building construction work", "works", "lot", 900_000.0, 1),
    ("90910000", "Cleaning services", "services", "month", 9_000.0, 12),
    ("72200000", "Software programming and consultancy", "services", "day", 650.0, 120),
    ("79340000", "Advertising and marketing services", "services", "campaign", 35_000.0, 2),
    ("34110000", "Passenger cars", "goods", "vehicle", 28_000.0, 4),
    ("22100000", "Printed books, brochures and leaflets", "goods", "copy", 6.0, 5000),
)
CITIES = ("Arden", "Belmora", "Caspin", "Dunmere", "Eastwick", "Farrow", "Glenholt", "Harrowgate", "Ilsen", "Jorvik")
STREETS = (
    "Market Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "High Street",
    "Park Avenue",
    "King Street",
    "Victoria Road",
    "Green Lane",
    "Bridge Street",
)
SYLLABLES = (
    "al",
    "bor",
    "cen",
    "dor",
    "el",
    "fin",
    "gar",
    "hel",
    "ist",
    "jor",
    "kal",
    "lum",
    "mer",
    "nor",
    "or",
    "pra",
    "quin",
    "ros",
    "sel",
    "tor",
    "ul",
    "ver",
    "wen",
    "xan",
    "yor",
    "zel",
)
COMPANY_KINDS = ("Ltd", "LLC", "S.A.", "GmbH", "Group", "Trading", "Solutions", "Partners", "Holdings", "& Co")
BUYER_KINDS = (
    "Ministry of Health",
    "Ministry of Transport",
    "Ministry of Education",
    "Ministry of Defence",
    "Regional Hospital",
    "City Council",
    "Water Utility",
    "Police Directorate",
    "University",
    "Tax Administration",
    "Customs Service",
    "Social Insurance Fund",
)
METHODS = (
    ("open", "Open procedure", 0.55),
    ("selective", "Restricted procedure", 0.10),
    ("limited", "Negotiated procedure without publication", 0.15),
    ("direct", "Direct award", 0.20),
)

PROBLEMS = (
    "short_submission_period",
    "single_bidder",
    "cartel_rotation",
    "cover_bidding",
    "identical_bids",
    "disqualified_lowest_bid",
    "late_winning_bid",
    "amendment_inflation",
    "split_purchase",
    "shell_supplier",
)


@dataclass
class Organisation:
    id: str
    name: str
    street: str
    city: str
    postal_code: str
    phone: str
    email: str
    scheme: str = "XX-REG"

    def reference(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}

    def party(self, roles: list[str]) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "roles": roles,
            "identifier": {"scheme": self.scheme, "id": self.id.split("-")[-1], "legalName": self.name},
            "address": {
                "streetAddress": self.street,
                "locality": self.city,
                "postalCode": self.postal_code,
                "countryName": "Syntheland",
            },
            "contactPoint": {"name": "Procurement office", "telephone": self.phone, "email": self.email},
        }


@dataclass
class Cartel:
    market: int
    members: list[Organisation]
    turn: int = 0


@dataclass
class World:
    """Pools and the little cross-process state the planted problems need."""

    rng: random.Random
    buyers: list[Organisation]
    suppliers_by_market: list[list[Organisation]]
    cartels: list[Cartel]
    shells: set[str]
    by_id: dict[str, Organisation] = field(default_factory=dict)
    pending_splits: list[dict[str, Any]] = field(default_factory=list)


def _company_name(rng: random.Random) -> str:
    stem = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{stem} {rng.choice(COMPANY_KINDS)}"


def _organisation(rng: random.Random, prefix: str, number: int, name: str) -> Organisation:
    city = rng.choice(CITIES)
    return Organisation(
        id=f"{prefix}-{number:07d}",
        name=name,
        street=f"{rng.randint(1, 250)} {rng.choice(STREETS)}",
        city=city,
        postal_code=f"{rng.randint(10000, 99999)}",
        phone=f"+99 {rng.randint(200, 999)} {rng.randint(100000, 999999)}",
        email=f"office{number}@{name.split()[0].lower()}.example",
    )


def _build_world(processes: int, seed: int) -> World:
    rng = random.Random(seed)
    buyers = [
        _organisation(rng, "XX-GOV", number, f"{rng.choice(BUYER_KINDS)} of {rng.choice(CITIES)} #{number}")
        for number in range(1, max(8, min(2_000, processes // 150)) + 1)
    ]
    for buyer in buyers:
        buyer.scheme = "XX-GOV"
    per_market = max(6, min(8_000, processes // 40))
    suppliers_by_market: list[list[Organisation]] = []
    number = 0
    for _ in MARKETS:
        pool = []
        for _ in range(per_market):
            number += 1
            pool.append(_organisation(rng, "XX-REG", number, _company_name(rng)))
        suppliers_by_market.append(pool)
    # Cartels: 3-5 firms in a market that rotate wins and file cover bids.
    cartels = []
    for market in rng.sample(range(len(MARKETS)), k=min(4, len(MARKETS))):
        members = rng.sample(suppliers_by_market[market], k=min(len(suppliers_by_market[market]), rng.randint(3, 5)))
        cartels.append(Cartel(market, members))
    # Shell suppliers: small groups of firms that share one address and telephone.
    shells: set[str] = set()
    for _ in range(max(2, processes // 2_000)):
        market = rng.randrange(len(MARKETS))
        group = rng.sample(suppliers_by_market[market], k=min(3, len(suppliers_by_market[market])))
        for member in group[1:]:
            member.street, member.city, member.postal_code, member.phone = (
                group[0].street,
                group[0].city,
                group[0].postal_code,
                group[0].phone,
            )
        shells.update(member.id for member in group)
    by_id = {supplier.id: supplier for pool in suppliers_by_market for supplier in pool}
    return World(rng, buyers, suppliers_by_market, cartels, shells, by_id)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _round_money(value: float) -> float:
    return round(value, 2)


class _Process:
    """Builds one compiled release; `planted` collects ground-truth rows."""

    def __init__(self, world: World, number: int) -> None:
        self.world = world
        self.rng = world.rng
        self.ocid = f"{PREFIX}-{number:08d}"
        self.planted: list[tuple[str, str]] = []
        self.parties: dict[str, tuple[Organisation, set[str]]] = {}
        self.buyer: Organisation | None = None

    def _party(self, organisation: Organisation, role: str) -> None:
        self.parties.setdefault(organisation.id, (organisation, set()))[1].add(role)

    def build(self) -> dict[str, Any]:
        rng = self.rng
        world = self.world
        split = world.pending_splits.pop() if world.pending_splits else None
        market = split["market"] if split else rng.randrange(len(MARKETS))
        cpv, label, category, unit, unit_price, quantity = MARKETS[market]
        buyer = split["buyer"] if split else rng.choice(world.buyers)
        start = datetime(2022, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(4 * 365 * 24 * 60))
        if split:
            start = split["date"] + timedelta(days=rng.randint(1, 10))
        quantity = max(1, round(quantity * rng.uniform(0.3, 2.5)))
        estimate = _round_money(unit_price * quantity * rng.uniform(0.9, 1.2))

        roll = rng.random()
        method = "open"
        cumulative = 0.0
        for name, _details, share in METHODS:
            cumulative += share
            if roll < cumulative:
                method = name
                break
        if split:
            method = "direct"
            estimate = _round_money(DIRECT_THRESHOLD * rng.uniform(0.90, 0.995))
            quantity = max(1, round(estimate / unit_price))
            self.planted.append(("split_purchase", f"group {split['group']}"))
        elif method == "direct" and rng.random() < 0.06:
            # Plant a split: this purchase and 2-3 more by the same buyer in the same market, each just below
            # the threshold, within a few weeks.
            group = f"{self.ocid}"
            estimate = _round_money(DIRECT_THRESHOLD * rng.uniform(0.90, 0.995))
            quantity = max(1, round(estimate / unit_price))
            self.planted.append(("split_purchase", f"group {group}"))
            for _ in range(rng.randint(2, 3)):
                world.pending_splits.append({"market": market, "buyer": buyer, "date": start, "group": group})
        details = dict((name, details) for name, details, _ in METHODS)[method]

        self.buyer = buyer
        self._party(buyer, "buyer")
        self._party(buyer, "procuringEntity")
        period_days = rng.randint(20, 45) if method in ("open", "selective") else rng.randint(5, 15)
        cartel = None
        problem_roll = rng.random()
        competitive = method in ("open", "selective")
        if competitive and problem_roll < 0.03:
            period_days = rng.randint(1, 5)
            self.planted.append(("short_submission_period", f"{period_days} days"))
        tender_end = start + timedelta(days=period_days, hours=rng.randint(0, 8))

        # Lots: some open tenders are divided; each lot gets its own bids and award.
        lot_count = rng.choice((2, 3)) if competitive and rng.random() < 0.12 else 1
        lot_ids = [f"lot-{index + 1}" for index in range(lot_count)] if lot_count > 1 else [None]
        bids: list[dict[str, Any]] = []
        awards: list[dict[str, Any]] = []
        contracts: list[dict[str, Any]] = []
        items = []
        lots = []
        for lot_index, lot_id in enumerate(lot_ids):
            lot_estimate = _round_money(estimate / lot_count)
            item = {
                "id": f"{lot_index + 1}",
                "description": f"{label} ({unit})",
                "classification": {"scheme": "CPV", "id": cpv, "description": label},
                "quantity": max(1, quantity // lot_count),
                "unit": {"name": unit, "value": {"amount": _round_money(unit_price), "currency": CURRENCY}},
            }
            if lot_id:
                item["relatedLot"] = lot_id
                lots.append(
                    {
                        "id": lot_id,
                        "title": f"{label}, lot {lot_index + 1}",
                        "status": "complete",
                        "value": {"amount": lot_estimate, "currency": CURRENCY},
                    }
                )
            items.append(item)
            if competitive:
                if lot_index == 0 and 0.03 <= problem_roll < 0.08:
                    cartel = None
                    bidders = rng.sample(world.suppliers_by_market[market], k=1)
                    self.planted.append(("single_bidder", ""))
                else:
                    cartel = next((c for c in world.cartels if c.market == market), None)
                    if not (cartel and lot_index == 0 and rng.random() < 0.2):
                        cartel = None
                    pool = world.suppliers_by_market[market]
                    count = min(len(pool), max(2, int(rng.expovariate(1 / 3.5)) + 2))
                    bidders = rng.sample(pool, k=count)
                    if cartel:
                        bidders = [member for member in cartel.members] + [
                            b for b in bidders[: rng.randint(0, 1)] if b not in cartel.members
                        ]
                lot_bids = self._bids(
                    bidders, lot_estimate, start, tender_end, lot_id, cartel, lot_index == 0, problem_roll
                )
                bids.extend(lot_bids)
                winner_bid = min(
                    (bid for bid in lot_bids if bid["status"] == "valid"), key=lambda bid: bid["value"]["amount"]
                )
                supplier_ref = winner_bid["tenderers"][0]
                award_value = winner_bid["value"]["amount"]
                related_bids = [winner_bid["id"]]
            else:
                supplier = rng.choice(world.suppliers_by_market[market])
                self._party(supplier, "supplier")
                supplier_ref = supplier.reference()
                award_value = _round_money(lot_estimate * rng.uniform(0.92, 1.0))
                related_bids = []
            award_id = f"{self.ocid}-award-{lot_index + 1}"
            award_date = tender_end + timedelta(days=rng.randint(3, 30))
            award = {
                "id": award_id,
                "title": f"Award: {label}",
                "status": "active",
                "date": _iso(award_date),
                "value": {"amount": award_value, "currency": CURRENCY},
                "suppliers": [supplier_ref],
            }
            if related_bids:
                award["relatedBids"] = related_bids
            if lot_id:
                award["relatedLots"] = [lot_id]
            awards.append(award)
            if supplier_ref["id"] in world.shells:
                self.planted.append(("shell_supplier", supplier_ref["id"]))
            self._party(world.by_id[supplier_ref["id"]], "supplier")
            contracts.append(self._contract(award, award_date, award_value))

        release_date = max(datetime.fromisoformat(c["dateSigned"].replace("Z", "+00:00")) for c in contracts)
        for contract in contracts:
            for amendment in contract.get("amendments", []):
                release_date = max(release_date, datetime.fromisoformat(amendment["date"].replace("Z", "+00:00")))
        tender: dict[str, Any] = {
            "id": f"{self.ocid}-tender",
            "title": f"{label} for {buyer.name}",
            "description": f"Supply of {label.lower()} ({quantity} {unit})",
            "status": "complete",
            "procuringEntity": buyer.reference(),
            "items": items,
            "value": {"amount": estimate, "currency": CURRENCY},
            "procurementMethod": method,
            "procurementMethodDetails": details,
            "mainProcurementCategory": category,
            "awardCriteria": "priceOnly",
            "submissionMethod": ["electronicSubmission"],
            "tenderPeriod": {"startDate": _iso(start), "endDate": _iso(tender_end)},
            "awardPeriod": {"startDate": _iso(tender_end), "endDate": awards[-1]["date"]},
            "documents": [
                {
                    "id": f"{self.ocid}-notice",
                    "documentType": "tenderNotice",
                    "title": "Contract notice",
                    "url": f"https://tenders.example/{self.ocid}/notice.pdf",
                    "datePublished": _iso(start),
                    "format": "application/pdf",
                    "language": "en",
                }
            ],
        }
        if lots:
            tender["lots"] = lots
        if bids:
            tender["numberOfTenderers"] = len({bid["tenderers"][0]["id"] for bid in bids})
        release: dict[str, Any] = {
            "ocid": self.ocid,
            "id": f"{self.ocid}-{_iso(release_date)}",
            "date": _iso(release_date),
            "tag": ["compiled"],
            "initiationType": "tender",
            "language": "en",
            "parties": [organisation.party(sorted(roles)) for organisation, roles in self.parties.values()],
            "buyer": buyer.reference(),
            "tender": tender,
            "awards": awards,
            "contracts": contracts,
        }
        if bids:
            release["bids"] = {"details": bids}
        return release

    def _bids(
        self,
        bidders: list[Organisation],
        estimate: float,
        start: datetime,
        end: datetime,
        lot_id: str | None,
        cartel: Cartel | None,
        first_lot: bool,
        problem_roll: float,
    ) -> list[dict[str, Any]]:
        rng = self.rng
        values = {bidder.id: _round_money(estimate * rng.gauss(0.97, 0.07)) for bidder in bidders}
        statuses = {bidder.id: ("disqualified" if rng.random() < 0.04 else "valid") for bidder in bidders}
        late_winner = False
        disqualified_lowest = False
        if cartel:
            winner = cartel.members[cartel.turn % len(cartel.members)]
            cartel.turn += 1
            base = _round_money(estimate * rng.uniform(0.97, 1.03))
            values[winner.id] = base
            statuses[winner.id] = "valid"
            for member in cartel.members:
                if member is not winner:
                    values[member.id] = _round_money(base * rng.uniform(1.04, 1.15))  # cover bids
                    statuses[member.id] = "valid"
            for bidder in bidders:
                if bidder not in cartel.members:
                    values[bidder.id] = _round_money(base * rng.uniform(1.02, 1.2))
                    statuses[bidder.id] = "valid"
            self.planted.append(("cartel_rotation", f"cartel of {cartel.members[0].id} winner {winner.id}"))
            self.planted.append(("cover_bidding", ",".join(m.id for m in cartel.members if m is not winner)))
        elif first_lot and len(bidders) >= 2:
            ranked = sorted(bidders, key=lambda bidder: values[bidder.id])
            for bidder in bidders:
                statuses[bidder.id] = "valid"
            if 0.08 <= problem_roll < 0.09:
                values[ranked[1].id] = values[ranked[0].id]
                self.planted.append(("identical_bids", f"{ranked[0].id},{ranked[1].id}"))
            elif 0.09 <= problem_roll < 0.11 and len(bidders) >= 3:
                statuses[ranked[0].id] = "disqualified"
                disqualified_lowest = True
                self.planted.append(("disqualified_lowest_bid", ranked[0].id))
            elif 0.11 <= problem_roll < 0.125:
                late_winner = True
        if not disqualified_lowest:
            # Random disqualifications never hit the lowest bid: that problem is only ever planted.
            statuses[min(bidders, key=lambda bidder: values[bidder.id]).id] = "valid"
        valid = [bidder for bidder in bidders if statuses[bidder.id] == "valid"]
        winner_id = min(valid, key=lambda bidder: values[bidder.id]).id
        bids = []
        span = max(60, int((end - start).total_seconds()))
        for index, bidder in enumerate(bidders):
            self._party(bidder, "tenderer")
            received = start + timedelta(seconds=rng.randrange(span))
            if late_winner and bidder.id == winner_id:
                received = end + timedelta(hours=rng.randint(2, 48))
                self.planted.append(("late_winning_bid", bidder.id))
            bid = {
                "id": f"{self.ocid}-bid-{lot_id or 'x'}-{index + 1}",
                "date": _iso(received),
                "status": statuses[bidder.id],
                "tenderers": [bidder.reference()],
                "value": {"amount": values[bidder.id], "currency": CURRENCY},
            }
            if lot_id:
                bid["relatedLots"] = [lot_id]
            bids.append(bid)
        return bids

    def _contract(self, award: dict[str, Any], award_date: datetime, value: float) -> dict[str, Any]:
        rng = self.rng
        signed = award_date + timedelta(days=rng.randint(2, 25))
        months = rng.randint(3, 24)
        contract: dict[str, Any] = {
            "id": award["id"].replace("award", "contract"),
            "awardID": award["id"],
            "title": award["title"][7:],
            "status": "active",
            "value": {"amount": value, "currency": CURRENCY},
            "dateSigned": _iso(signed),
            "period": {"startDate": _iso(signed), "endDate": _iso(signed + timedelta(days=30 * months))},
        }
        amendments = []
        if rng.random() < 0.03:
            steps = rng.randint(2, 4)
            total_increase = rng.uniform(0.3, 0.8)
            for step in range(steps):
                amendments.append(
                    {
                        "id": f"{contract['id']}-amendment-{step + 1}",
                        "date": _iso(signed + timedelta(days=40 * (step + 1))),
                        "rationale": "Additional works required",
                        "description": "Value increased",
                    }
                )
            contract["value"]["amount"] = _round_money(value * (1 + total_increase))
            self.planted.append(("amendment_inflation", f"+{total_increase:.0%}"))
        elif rng.random() < 0.08:
            amendments.append(
                {
                    "id": f"{contract['id']}-amendment-1",
                    "date": _iso(signed + timedelta(days=60)),
                    "rationale": "Delivery schedule changed",
                    "description": "Period extended",
                }
            )
        if amendments:
            contract["amendments"] = amendments
        paid = 0.0
        transactions = []
        for index in range(rng.randint(0, 3)):
            amount = _round_money(contract["value"]["amount"] * rng.uniform(0.1, 0.4))
            paid += amount
            transactions.append(
                {
                    "id": f"{contract['id']}-payment-{index + 1}",
                    "date": _iso(signed + timedelta(days=30 * (index + 1))),
                    "value": {"amount": amount, "currency": CURRENCY},
                    "payer": self.buyer.reference() if self.buyer else {},
                    "payee": award["suppliers"][0],
                }
            )
        if transactions:
            contract["implementation"] = {"transactions": transactions}
        return contract


def _open_output(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        return gzip.open(path, "wb", compresslevel=3)  # type: ignore[return-value]
    return open(path, "wb")


def generate_procurement(
    processes: int, seed: int, out: Path, truth: Path, on_progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Write `processes` compiled releases to `out` (JSON Lines) and the planted problems to `truth` (CSV)."""
    world = _build_world(processes, seed)
    counts: Counter[str] = Counter()
    with _open_output(out) as releases, open(truth, "w", newline="", encoding="utf-8") as truth_file:
        writer = csv.writer(truth_file)
        writer.writerow(["ocid", "problem", "detail"])
        for number in range(1, processes + 1):
            process = _Process(world, number)
            release = process.build()
            releases.write(orjson.dumps(release))
            releases.write(b"\n")
            seen = set()
            for problem, detail in process.planted:
                writer.writerow([process.ocid, problem, detail])
                if problem not in seen:
                    counts[problem] += 1
                    seen.add(problem)
            if on_progress and number % 1000 == 0:
                on_progress(number)
    if on_progress:
        on_progress(processes)
    return {
        "processes": processes,
        "seed": seed,
        "out": str(out),
        "truth": str(truth),
        "planted": {problem: counts.get(problem, 0) for problem in PROBLEMS},
    }

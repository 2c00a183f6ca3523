"""Synthetic land-title register: registrations and ownership transfers, as JSON Lines events.

Used to demonstrate the ledger: every event is one log entry, so rewriting a past transfer is detectable by
anyone who kept an earlier checkpoint.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

REGIONS = ("TBL", "KUT", "BAT", "RUS", "ZUG", "GOR", "TEL", "AKH")
GIVEN = ("Nino", "Giorgi", "Mariam", "Davit", "Ana", "Luka", "Tamar", "Levan", "Eka", "Irakli", "Salome", "Nika")
FAMILY = ("Beridze", "Kapanadze", "Gelashvili", "Maisuradze", "Lomidze", "Tsiklauri", "Bolkvadze", "Nozadze")
USES = ("residential", "agricultural", "commercial", "forest")


def _person(rng: random.Random) -> dict[str, str]:
    return {"name": f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}", "id": f"{rng.randrange(10**10, 10**11)}"}


def land_title_events(titles: int, transfers: int, seed: int) -> Iterator[dict[str, Any]]:
    """Registrations of `titles` parcels, then `transfers` sales among them, in date order."""
    rng = random.Random(seed)
    owners: list[dict[str, str]] = []
    title_ids: list[str] = []
    moment = datetime(2016, 1, 1, tzinfo=UTC)
    for number in range(titles):
        owner = _person(rng)
        owners.append(owner)
        moment += timedelta(minutes=rng.randint(1, 600))
        region = rng.choice(REGIONS)
        title_ids.append(f"GE-{region}-{number:07d}")
        yield {
            "event": "registration",
            "sequence": number,
            "title": title_ids[-1],
            "date": moment.isoformat(),
            "owner": owner,
            "area_m2": rng.randint(80, 50_000),
            "use": rng.choice(USES),
            "cadastral_code": f"{rng.randint(1, 99):02d}.{rng.randint(1, 99):02d}."
            f"{rng.randint(1, 999):03d}.{number:06d}",
        }
    for number in range(transfers):
        parcel = rng.randrange(titles)
        buyer = _person(rng)
        moment += timedelta(minutes=rng.randint(1, 900))
        yield {
            "event": "transfer",
            "sequence": titles + number,
            "title": title_ids[parcel],
            "parcel": parcel,
            "date": moment.isoformat(),
            "from": owners[parcel],
            "to": buyer,
            "price_gel": rng.randint(5, 2_000) * 1_000,
        }
        owners[parcel] = buyer


def write_land_titles(
    titles: int, transfers: int, seed: int, out: Path, on_progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Write the events as JSON Lines; the same seed gives the same bytes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(out, "wb") as handle:
        for event in land_title_events(titles, transfers, seed):
            handle.write(orjson.dumps(event, option=orjson.OPT_SORT_KEYS) + b"\n")
            count += 1
            if on_progress and count % 10_000 == 0:
                on_progress(count)
    return {"events": count, "titles": titles, "transfers": transfers, "seed": seed, "out": str(out)}

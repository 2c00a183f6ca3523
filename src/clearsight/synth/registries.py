"""Synthetic registries of one country, with planted integrity problems and the answers.

A civil registry (people with dates of birth and death, in their own script: Latin, Cyrillic or Chinese
characters) and, drawn from it, a payroll, benefit beneficiaries (pension from 65, child benefit, low-income
support under an income ceiling), a voter roll and a company register. The other registries write names in Latin
letters as clerks do: transliterated in more than one system, nicknames, typos, names in the other order, days
and months swapped, identifiers missing or mistyped. Planted: ghost workers, payees paid after death, people paid
twice, bank accounts shared by several payees, duplicate and ineligible beneficiaries, voters registered twice
or after death, pensioners left out, company directors who are officials.

Files (CSV, with a mapping file each for `clearsight ingest registry`): civil, payroll, beneficiaries, voters,
companies; `truth.csv` (problem, kind, record_id, detail) and `identities.csv` (kind, record_id, person_id: who
each record really is, for measuring linkage). People are generated in chunks, so 10M people stream in bounded
memory.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

CHUNK = 50_000
PERIOD_START = date(2026, 10, 1)  # the latest pay period; the registries are as of this day
PENSION_AGE = 65
LOW_INCOME_CEILING = 12_000.0

# Given names (female, male) and family names per culture; Latin names carry nicknames through the shared
# nickname list of the linkage module. Cyrillic and Chinese names are written natively in the civil registry.
LATIN_GIVEN = (
    ("Elizabeth", "Catherine", "Margaret", "Jennifer", "Patricia", "Susan", "Maria", "Ana", "Lucia", "Carmen",
     "Sofia", "Isabel", "Laura", "Emma", "Olivia", "Grace", "Chloe", "Hannah", "Julia", "Rosa",
     "Alice", "Amelia", "Beatriz", "Clara", "Diana", "Elena", "Eva", "Fiona", "Helen", "Irene", "Joan", "Karen",
     "Linda", "Martha", "Nora", "Paula", "Rachel", "Sarah", "Teresa", "Victoria", "Agnes", "Bianca", "Carla",
     "Dora", "Edith", "Flora", "Gloria", "Hilda", "Ines", "Jessica", "Lena", "Mona", "Nadia", "Olga", "Pilar",
     "Ruth", "Silvia", "Tina", "Ursula", "Vera"),
    ("William", "Robert", "Richard", "James", "John", "Michael", "Thomas", "Joseph", "Charles", "David",
     "Daniel", "Edward", "Francisco", "Jose", "Carlos", "Luis", "Peter", "Samuel", "Anthony", "Stephen",
     "Adam", "Alan", "Brian", "Colin", "Dennis", "Eric", "Felix", "George", "Henry", "Ian", "Kevin", "Leo",
     "Martin", "Nathan", "Oscar", "Patrick", "Ralph", "Simon", "Victor", "Walter", "Arthur", "Bruno", "Cyril",
     "Dario", "Emil", "Frank", "Gordon", "Hugo", "Ivan", "Julian", "Karl", "Lucas", "Marco", "Neil", "Otto",
     "Pablo", "Rafael", "Stefan", "Tobias", "Vincent"),
)  # fmt: skip
LATIN_FAMILY = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker",
    "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner",
    "O'Brien", "Müller", "Núñez", "Dubois", "Fernández", "Kowalski", "Novak", "Horvat", "Jensen", "Costa",
)  # fmt: skip
# (native, Latin spellings used by other registries)
CYRILLIC_GIVEN = (
    (("Наталья", ("Natalya", "Natalia", "Natalja")), ("Татьяна", ("Tatyana", "Tatiana", "Tatjana")),
     ("Ольга", ("Olga",)), ("Мария", ("Mariya", "Maria")), ("Елена", ("Elena", "Yelena", "Jelena")),
     ("Юлия", ("Yuliya", "Julia", "Iuliia"))),
    (("Дмитрий", ("Dmitriy", "Dmitry", "Dmitrii")), ("Сергей", ("Sergey", "Sergei", "Serhiy")),
     ("Александр", ("Aleksandr", "Alexander", "Oleksandr")), ("Николай", ("Nikolay", "Nikolai", "Mykola")),
     ("Юрий", ("Yuriy", "Yuri", "Iurii")), ("Владимир", ("Vladimir", "Volodymyr"))),
)  # fmt: skip
CYRILLIC_FAMILY = (
    ("Иванов", ("Ivanov",)), ("Шевченко", ("Shevchenko", "Sevcenko")), ("Кузнецов", ("Kuznetsov", "Kuznecov")),
    ("Ковальчук", ("Kovalchuk", "Kowalczuk")), ("Попов", ("Popov",)), ("Бондаренко", ("Bondarenko",)),
    ("Соколов", ("Sokolov",)), ("Ткаченко", ("Tkachenko", "Tkacenko")), ("Морозов", ("Morozov",)),
    ("Зайцев", ("Zaytsev", "Zaitsev")), ("Волков", ("Volkov",)), ("Мельник", ("Melnyk", "Melnik")),
)  # fmt: skip
# Further family names built from common parts, so that a large population has realistically many names (with the
# lists above as the most common ones). Cyrillic ones are spelt in Latin letters by two systems.
_LATIN_STEMS = (
    "Ash",
    "Bar",
    "Black",
    "Brad",
    "Brook",
    "Cald",
    "Carl",
    "Chad",
    "Cole",
    "Crom",
    "Dal",
    "Dun",
    "Ed",
    "Fair",
    "Farn",
    "Gold",
    "Green",
    "Hal",
    "Har",
    "Hart",
    "Hol",
    "Kings",
    "Lang",
    "Lind",
    "Mar",
    "Mont",
    "Nor",
    "Oak",
    "Pem",
    "Ray",
    "Red",
    "Ros",
    "Sand",
    "Shel",
    "Stan",
    "Thorn",
    "War",
    "Wes",
    "Whit",
    "Wood",
)
_LATIN_ENDINGS = (
    "ley",
    "ton",
    "well",
    "wood",
    "field",
    "ford",
    "by",
    "more",
    "worth",
    "ham",
    "son",
    "er",
    "wick",
    "bury",
    "stead",
    "ridge",
    "dale",
    "brook",
    "man",
    "cliffe",
)
LATIN_FAMILY_MORE = tuple(
    prefix + stem + ending
    for prefix in ("", "Mc", "Van ", "Fitz")
    for stem in _LATIN_STEMS
    for ending in _LATIN_ENDINGS
)
_CYRILLIC_STEMS = (
    ("Кузн", "Kuzn"),
    ("Лебед", "Lebed"),
    ("Соловь", "Solov"),
    ("Медвед", "Medved"),
    ("Ворон", "Voron"),
    ("Гончар", "Gonchar"),
    ("Кравч", "Kravch"),
    ("Павл", "Pavl"),
    ("Петр", "Petr"),
    ("Сидор", "Sidor"),
    ("Федор", "Fedor"),
    ("Григор", "Grigor"),
    ("Орл", "Orl"),
    ("Бел", "Bel"),
    ("Черн", "Chern"),
    ("Ковал", "Koval"),
    ("Рыб", "Ryb"),
    ("Козл", "Kozl"),
    ("Жук", "Zhuk"),
    ("Шевч", "Shevch"),
)
_CYRILLIC_ENDINGS = (
    ("ов", ("ov",)),
    ("ев", ("ev", "yev")),
    ("ин", ("in",)),
    ("енко", ("enko",)),
    ("ук", ("uk",)),
    ("ский", ("skiy", "skii", "sky")),
)
CYRILLIC_FAMILY_MORE = tuple(
    (stem + ending, tuple(latin + spelling for spelling in spellings))
    for stem, latin in _CYRILLIC_STEMS
    for ending, spellings in _CYRILLIC_ENDINGS
)
CHINESE_FAMILY = (("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
                  ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"))  # fmt: skip
CHINESE_GIVEN = (("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"),
                 ("华", "Hua"), ("平", "Ping"), ("刚", "Gang"), ("桂", "Gui"), ("英", "Ying"), ("秀", "Xiu"),
                 ("建", "Jian"), ("国", "Guo"), ("文", "Wen"), ("辉", "Hui"), ("玉", "Yu"), ("兰", "Lan"),
                 ("海", "Hai"), ("红", "Hong"), ("霞", "Xia"), ("鹏", "Peng"), ("宇", "Yu"), ("鑫", "Xin"),
                 ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("勇", "Yong"), ("艳", "Yan"),
                 ("杰", "Jie"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"))  # fmt: skip
NICKNAMES = {
    "Elizabeth": "Liz", "Catherine": "Kate", "Margaret": "Maggie", "Jennifer": "Jenny", "Patricia": "Pat",
    "Susan": "Sue", "William": "Bill", "Robert": "Bob", "Richard": "Dick", "James": "Jim", "John": "Jack",
    "Michael": "Mike", "Thomas": "Tom", "Joseph": "Joe", "Charles": "Charlie", "David": "Dave", "Daniel": "Dan",
    "Edward": "Ted", "Francisco": "Paco", "Jose": "Pepe", "Peter": "Pete", "Samuel": "Sam", "Anthony": "Tony",
    "Stephen": "Steve",
}  # fmt: skip
EMPLOYERS = (
    *(f"Ministry of {name}" for name in ("Finance", "Health", "Education", "Interior", "Justice", "Agriculture",
                                         "Transport", "Energy", "Defence", "Labour", "Environment", "Culture")),
    "National Roads Agency", "Tax Administration", "Customs Service", "Water Authority",
)  # fmt: skip
STREETS = ("High Street", "Station Road", "Church Lane", "Park Avenue", "Mill Road", "Victoria Street",
           "Lenina", "Shevchenka", "Zhongshan Road", "Renmin Road", "Calle Mayor", "Avenida Central")  # fmt: skip
TOWNS = ("Northbury", "Eastfield", "Westport", "Southam", "Riverton", "Hillcrest", "Lakeside", "Oakham")

PROBLEMS = (
    "ghost_worker",
    "paid_after_death",
    "paid_twice",
    "shared_bank_account",
    "duplicate_beneficiary",
    "ineligible_beneficiary",
    "voter_registered_twice",
    "deceased_voter",
    "eligible_not_enrolled",
    "director_is_official",
)

MAPPINGS = {
    "civil": {
        "record_id": "person_id", "national_id": "national_id", "given_name": "given_name",
        "family_name": "family_name", "sex": "sex", "date_of_birth": "date_of_birth",
        "date_of_death": "date_of_death", "address": "address", "phone": "phone",
    },
    "payroll": {
        "record_id": "payment_id", "national_id": "nin", "given_name": "forename", "family_name": "surname",
        "date_of_birth": "dob", "bank_account": "iban", "employer": "department", "pay_period": "period",
        "amount": "net_pay",
    },
    "beneficiaries": {
        "record_id": "beneficiary_id", "national_id": "national_id", "full_name": "name",
        "date_of_birth": "date_of_birth", "programme": "programme", "household_id": "household",
        "income": "declared_income", "bank_account": "account", "address": "address",
    },
    "voters": {
        "record_id": "voter_id", "given_name": "first_name", "family_name": "last_name",
        "date_of_birth": "birth_date", "address": "address", "polling_station": "station",
    },
    "companies": {
        "record_id": "entry_id", "company_id": "company_number", "company_name": "company_name", "role": "role",
        "given_name": "person_given_name", "family_name": "person_family_name", "date_of_birth": "person_dob",
        "address": "person_address",
    },
}  # fmt: skip


@dataclass
class Person:
    person_id: str
    national_id: str
    culture: str  # latin, cyrillic, chinese
    given: Any  # latin: str; cyrillic: (native, spellings); chinese: ((native, pinyin), ...)
    family: Any
    sex: str
    born: date
    died: date | None
    address: str
    phone: str
    income: float


@dataclass
class RegistriesSummary:
    people: int = 0
    records: dict[str, int] = field(default_factory=dict)
    problems: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


class _Writers:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.handles: dict[str, Any] = {}
        self.writers: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def write(self, name: str, row: dict[str, Any]) -> None:
        if name not in self.writers:
            handle = (self.out / f"{name}.csv").open("w", newline="", encoding="utf-8")
            self.handles[name] = handle
            self.writers[name] = csv.DictWriter(handle, fieldnames=list(row))
            self.writers[name].writeheader()
        self.writers[name].writerow(row)
        self.counts[name] = self.counts.get(name, 0) + 1

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def _typo(rng: random.Random, text: str) -> str:
    """One keying error: a substitution, deletion, insertion or transposition of adjacent letters."""
    if len(text) < 3:
        return text
    position = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(4)
    letter = rng.choice("aeiourstnlm")
    if kind == 0:
        return text[:position] + letter + text[position + 1 :]
    if kind == 1:
        return text[:position] + text[position + 1 :]
    if kind == 2:
        return text[:position] + letter + text[position:]
    return text[: position - 1] + text[position] + text[position - 1] + text[position + 1 :]


class _World:
    """Draws people and writes how each registry records them."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.next_account = 0

    def person(self, rng: random.Random, number: int) -> Person:
        roll = rng.random()
        given: Any
        family: Any
        sex = rng.choice("FM")
        female = sex == "F"
        if roll < 0.7:
            culture, given = "latin", rng.choice(LATIN_GIVEN[0 if female else 1])
            family = rng.choice(LATIN_FAMILY if rng.random() < 0.1 else LATIN_FAMILY_MORE)
        elif roll < 0.88:
            culture, given = "cyrillic", rng.choice(CYRILLIC_GIVEN[0 if female else 1])
            family = rng.choice(CYRILLIC_FAMILY if rng.random() < 0.4 else CYRILLIC_FAMILY_MORE)
            if female:  # Russian family names take -a for women
                native, spellings = family
                if native.endswith(("ов", "ев", "ин")):
                    family = (native + "а", tuple(spelling + "a" for spelling in spellings))
                elif native.endswith("ский"):
                    family = (native[:-2] + "ая", tuple(spelling.rstrip("kiy") + "kaya" for spelling in spellings))
        else:
            culture = "chinese"
            given = tuple(rng.choice(CHINESE_GIVEN) for _ in range(rng.choice((1, 2))))
            family = rng.choice(CHINESE_FAMILY)
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 95 * 365))
        died = None
        if rng.random() < 0.03:
            died = born + timedelta(days=rng.randrange(0, max(1, (PERIOD_START - born).days)))
        street = rng.choice(STREETS)
        return Person(
            person_id=f"P{number:09d}",
            national_id=f"{(number * 7919 + self.seed * 104729) % 10**10:010d}",
            culture=culture,
            given=given,
            family=family,
            sex=sex,
            born=born,
            died=died,
            address=f"{rng.randint(1, 250)} {street}, {rng.choice(TOWNS)}",
            phone=f"+99 {rng.randint(200, 999)} {rng.randint(100000, 999999)}",
            income=round(rng.lognormvariate(9.6, 0.6), 2),
        )

    def age(self, person: Person) -> int:
        years = PERIOD_START.year - person.born.year
        return years - ((PERIOD_START.month, PERIOD_START.day) < (person.born.month, person.born.day))

    def alive(self, person: Person) -> bool:
        return person.died is None

    # How registries write a person.
    def native_name(self, person: Person) -> tuple[str, str]:
        if person.culture == "latin":
            return person.given, person.family
        if person.culture == "cyrillic":
            return person.given[0], person.family[0]
        return "".join(part[0] for part in person.given), person.family[0]

    def latin_name(self, rng: random.Random, person: Person, noise: float) -> tuple[str, str]:
        given: str
        family: str
        if person.culture == "latin":
            given, family = person.given, person.family
            if rng.random() < noise and given in NICKNAMES:
                given = NICKNAMES[given]
        elif person.culture == "cyrillic":
            given, family = rng.choice(person.given[1]), rng.choice(person.family[1])
        else:
            syllables = [part[1] for part in person.given]
            given = "".join(syllables) if rng.random() < 0.8 else " ".join(syllables)
            family = person.family[1]
        if rng.random() < noise / 2:
            given = _typo(rng, given)
        if rng.random() < noise / 2:
            family = _typo(rng, family)
        if rng.random() < noise / 3:
            given, family = family, given
        if rng.random() < 0.3:
            family = family.upper()
        return given, family

    def birth_date(self, rng: random.Random, person: Person, noise: float) -> str:
        born = person.born
        roll = rng.random()
        if roll < noise / 4 and born.day <= 12 and born.day != born.month:
            return f"{born.year:04d}-{born.day:02d}-{born.month:02d}"  # day and month swapped
        if roll < noise / 2:
            shifted = born + timedelta(days=rng.choice((-1, 1, 10, -10)))
            return shifted.isoformat()
        return born.isoformat()

    def national_id(self, rng: random.Random, person: Person, missing: float, noise: float) -> str:
        if rng.random() < missing:
            return ""
        if rng.random() < noise / 4:
            digits = list(person.national_id)
            position = rng.randrange(len(digits) - 1)
            digits[position], digits[position + 1] = digits[position + 1], digits[position]
            return "".join(digits)
        return person.national_id

    def account(self) -> str:
        self.next_account += 1
        return f"XX{(self.next_account * 2654435761 + self.seed) % 10**16:016d}"


def generate_registries(
    out: Path,
    people: int,
    seed: int = 7,
    noise: float = 0.15,
    progress: Callable[[int], None] | None = None,
    months: int = 1,
    employment: float = 0.3,
) -> RegistriesSummary:
    """Write the five registries, their mappings and the answers to `out`; returns counts.

    The payroll covers `months` monthly pay periods ending with October 2026 (an employee's master data is the
    same every month); `employment` is the share of working-age people the state employs.
    """
    last = PERIOD_START.year * 12 + PERIOD_START.month - 1  # months since year 0, zero-based
    periods = [f"{index // 12:04d}-{index % 12 + 1:02d}" for index in range(last - months + 1, last + 1)]
    out.mkdir(parents=True, exist_ok=True)
    world = _World(seed)
    files = _Writers(out)
    problems: dict[str, int] = dict.fromkeys(PROBLEMS, 0)
    payment, beneficiary, voter, entry, company, household = 0, 0, 0, 0, 0, 0
    officials: list[tuple[Person, str]] = []  # recent payroll officials, for planting directors
    on_payroll: set[str] = set()  # people of the current chunk paid as officials (never a company's by chance)

    def truth(problem: str, kind: str, record_id: str, detail: str) -> None:
        problems[problem] += 1
        files.write("truth", {"problem": problem, "kind": kind, "record_id": record_id, "detail": detail})

    def identity(kind: str, record_id: str, person: Person | None) -> None:
        files.write(
            "identities",
            {"kind": kind, "record_id": record_id, "person_id": person.person_id if person else ""},
        )

    def pay(rng: random.Random, person: Person, employer: str, account: str | None = None) -> list[tuple[str, str]]:
        """One payment per pay period, all with the same master data; returns (payment id, period) pairs."""
        nonlocal payment
        given, family = world.latin_name(rng, person, noise)
        master = {
            "nin": world.national_id(rng, person, 0.3, noise),
            "forename": given,
            "surname": family,
            "dob": world.birth_date(rng, person, noise),
            "iban": account or world.account(),
            "department": employer,
        }
        salary = rng.randint(900, 6000)
        made = []
        for period in periods:
            payment += 1
            payment_id = f"PAY{payment:09d}"
            files.write(
                "payroll",
                {"payment_id": payment_id, **master, "period": period, "net_pay": f"{salary}.00"},
            )
            identity("payroll", payment_id, person)
            made.append((payment_id, period))
        return made

    def enrol(rng: random.Random, person: Person, programme: str, income: float | None = None) -> str:
        nonlocal beneficiary, household
        beneficiary += 1
        household += 1
        beneficiary_id = f"BEN{beneficiary:09d}"
        given, family = world.latin_name(rng, person, noise)
        files.write(
            "beneficiaries",
            {
                "beneficiary_id": beneficiary_id,
                "national_id": world.national_id(rng, person, 0.5, noise),
                "name": f"{family} {given}" if rng.random() < 0.5 else f"{given} {family}",
                "date_of_birth": world.birth_date(rng, person, noise),
                "programme": programme,
                "household": f"H{household:09d}",
                "declared_income": f"{person.income if income is None else income:.2f}",
                "account": world.account(),
                "address": person.address,
            },
        )
        identity("beneficiaries", beneficiary_id, person)
        return beneficiary_id

    def register_voter(rng: random.Random, person: Person) -> str:
        nonlocal voter
        voter += 1
        voter_id = f"V{voter:09d}"
        given, family = world.latin_name(rng, person, noise)
        files.write(
            "voters",
            {
                "voter_id": voter_id,
                "first_name": given,
                "last_name": family,
                "birth_date": world.birth_date(rng, person, noise),
                "address": person.address,
                "station": f"PS-{rng.randint(1, 400):03d}",
            },
        )
        identity("voters", voter_id, person)
        return voter_id

    def company_entry(rng: random.Random, person: Person, company_id: str, company_name: str, role: str) -> str:
        nonlocal entry
        entry += 1
        entry_id = f"CR{entry:09d}"
        given, family = world.latin_name(rng, person, noise)
        files.write(
            "companies",
            {
                "entry_id": entry_id,
                "company_number": company_id,
                "company_name": company_name,
                "role": role,
                "person_given_name": given,
                "person_family_name": family,
                "person_dob": world.birth_date(rng, person, noise),
                "person_address": person.address,
            },
        )
        identity("companies", entry_id, person)
        return entry_id

    ghost_number = 10**9 - 1
    for start in range(0, people, CHUNK):
        rng = random.Random(seed * 1_000_003 + start)
        chunk = [world.person(rng, number) for number in range(start, min(people, start + CHUNK))]
        shared_pool: list[Person] = []
        on_payroll.clear()
        for index, person in enumerate(chunk):
            given, family = world.native_name(person)
            files.write(
                "civil",
                {
                    "person_id": person.person_id,
                    "national_id": person.national_id,
                    "given_name": given,
                    "family_name": family,
                    "sex": person.sex,
                    "date_of_birth": person.born.isoformat(),
                    "date_of_death": person.died.isoformat() if person.died else "",
                    "address": person.address,
                    "phone": person.phone,
                },
            )
            identity("civil", person.person_id, person)
            age = world.age(person)
            alive = world.alive(person)
            # Payroll: a third of working-age people work for the state.
            if alive and 20 <= age < PENSION_AGE and rng.random() < employment:
                employer = rng.choice(EMPLOYERS)
                if rng.random() < 0.004:
                    shared_pool.append(person)
                    on_payroll.add(person.person_id)
                else:
                    paid = pay(rng, person, employer)
                    on_payroll.add(person.person_id)
                    if rng.random() < 0.003:
                        again = pay(rng, person, rng.choice(EMPLOYERS))
                        for (twice, _), (original, _) in zip(again, paid, strict=True):
                            truth("paid_twice", "payroll", twice, f"same person as {original}")
                    if len(officials) < 1000:
                        officials.append((person, employer))
                    else:
                        officials[rng.randrange(1000)] = (person, employer)
            if not alive and person.died and person.died >= date(2024, 1, 1) and rng.random() < 0.15:
                for payment_id, period in pay(rng, person, rng.choice(EMPLOYERS)):
                    if date(int(period[:4]), int(period[5:]), 1) > person.died:
                        truth("paid_after_death", "payroll", payment_id, f"died {person.died.isoformat()}")
            # Benefits.
            if alive and age >= PENSION_AGE:
                if rng.random() < 0.01:
                    truth("eligible_not_enrolled", "civil", person.person_id, "pension: aged 65 or more")
                else:
                    first = enrol(rng, person, "pension")
                    if rng.random() < 0.004:
                        second = enrol(rng, person, "pension")
                        truth("duplicate_beneficiary", "beneficiaries", second, f"same person as {first}")
            if alive and 25 <= age < 50 and rng.random() < 0.1:
                enrol(rng, person, "child_benefit")
            if alive and age >= 18 and rng.random() < 0.05:
                if person.income < LOW_INCOME_CEILING:
                    first = enrol(rng, person, "low_income")
                    if rng.random() < 0.01:
                        second = enrol(rng, person, "low_income")
                        truth("duplicate_beneficiary", "beneficiaries", second, f"same person as {first}")
                elif rng.random() < 0.05:
                    planted = enrol(rng, person, "low_income")
                    truth("ineligible_beneficiary", "beneficiaries", planted, f"income {person.income:.2f}")
            if not alive and rng.random() < 0.02:
                planted = enrol(rng, person, "pension" if age >= PENSION_AGE else "low_income", income=5000.0)
                truth("ineligible_beneficiary", "beneficiaries", planted, "deceased")
            if alive and 30 <= age < 60 and rng.random() < 0.001:
                planted = enrol(rng, person, "pension")
                truth("ineligible_beneficiary", "beneficiaries", planted, f"aged {age}")
            # Voters.
            if alive and age >= 18 and rng.random() < 0.9:
                first = register_voter(rng, person)
                if rng.random() < 0.003:
                    second = register_voter(rng, person)
                    truth("voter_registered_twice", "voters", second, f"same person as {first}")
            if not alive and age >= 18 and rng.random() < 0.05:
                planted = register_voter(rng, person)
                truth("deceased_voter", "voters", planted, f"died {person.died.isoformat() if person.died else ''}")
            # Companies: one in a hundred people owns one, with a director.
            if alive and age >= 25 and person.person_id not in on_payroll and rng.random() < 0.01:
                company += 1
                company_id = f"C{company:08d}"
                name = f"{world.latin_name(rng, person, 0)[1].title()} {rng.choice(('Trading', 'Build', 'Med'))} Ltd"
                company_entry(rng, person, company_id, name, "owner")
                if officials and rng.random() < 0.05:
                    official, employer = rng.choice(officials)
                    planted = company_entry(rng, official, company_id, name, "director")
                    truth("director_is_official", "companies", planted, employer)
                else:
                    director = rng.choice(chunk[: index + 1])  # people whose payroll status is known
                    if (
                        world.alive(director)
                        and director is not person
                        and world.age(director) >= 18
                        and director.person_id not in on_payroll
                    ):
                        company_entry(rng, director, company_id, name, "director")
        # Ghost workers: paid, unknown to the civil registry (one per ~200 payees).
        for _ in range(max(1, len(chunk) // 1000)):
            ghost = world.person(rng, ghost_number)
            ghost_number -= 1
            ghost.national_id = f"9{rng.randrange(10**9):09d}"
            for planted, _ in pay(rng, ghost, rng.choice(EMPLOYERS)):
                truth("ghost_worker", "payroll", planted, "no such person")
        # Bank accounts shared by several payees.
        for index in range(0, len(shared_pool) - 2, 3):
            account = world.account()
            group = shared_pool[index : index + 3]
            for member in group:
                for payment_id, _ in pay(rng, member, rng.choice(EMPLOYERS), account):
                    truth("shared_bank_account", "payroll", payment_id, account)
        for member in shared_pool[len(shared_pool) - len(shared_pool) % 3 :]:
            pay(rng, member, rng.choice(EMPLOYERS))
        if progress is not None:
            progress(len(chunk))
    files.close()
    for kind, columns in MAPPINGS.items():
        lines = [f"kind: {kind}", "columns:"] + [f"  {name}: {column}" for name, column in columns.items()]
        (out / f"{kind}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return RegistriesSummary(
        people=people,
        records={kind: files.counts.get(kind, 0) for kind in MAPPINGS},
        problems=problems,
        files={kind: str(out / f"{kind}.csv") for kind in (*MAPPINGS, "truth", "identities")},
    )

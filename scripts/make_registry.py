"""Writes the federal unit registry reference data under spec/registry/.

The registry in this repository is realistic but synthetic: the provinces and
districts are Pakistan's real ones, station counts are close to the real
strength of each district, and station names, populations and dates are
generated. It is regenerated deterministically (same bytes every time):

    .venv/bin/python scripts/make_registry.py

The federal agency replaces these files with the real registry; nothing else
changes. History in the demo years: new stations opened, a few closed, and the
stations of the new Kot Addu district moved from Muzaffargarh on 2025-01-01.
"""
from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "spec" / "registry"

# (code, name, capital, ISO 3166-2, annual population growth %: 2017-2023 census; GB and AJ estimated)
PROVINCES = [
    ("PB", "Punjab", "Lahore", "PK-PB", 2.53), ("SD", "Sindh", "Karachi", "PK-SD", 2.57),
    ("KP", "Khyber Pakhtunkhwa", "Peshawar", "PK-KP", 2.38), ("BA", "Balochistan", "Quetta", "PK-BA", 3.20),
    ("IC", "Islamabad Capital Territory", "Islamabad", "PK-IS", 2.81),
    ("GB", "Gilgit-Baltistan", "Gilgit", "PK-GB", 2.00), ("AJ", "Azad Jammu & Kashmir", "Muzaffarabad", "PK-JK", 1.90),
]
POPULATION_BASE_YEAR = 2023  # the units' populations are for this year

# (district code, district name, stations, share urban)
DISTRICTS = {
    "PB": [("LHR", "Lahore", 100, 0.9), ("RWP", "Rawalpindi", 36, 0.6), ("FSD", "Faisalabad", 46, 0.5),
           ("MUL", "Multan", 32, 0.5), ("GRW", "Gujranwala", 30, 0.5), ("SKT", "Sialkot", 24, 0.4),
           ("SGD", "Sargodha", 22, 0.35), ("BWP", "Bahawalpur", 22, 0.35), ("SKP", "Sheikhupura", 20, 0.35),
           ("RYK", "Rahim Yar Khan", 22, 0.3), ("DGK", "Dera Ghazi Khan", 16, 0.25), ("SWL", "Sahiwal", 15, 0.3),
           ("OKR", "Okara", 16, 0.3), ("KSR", "Kasur", 20, 0.3), ("GRT", "Gujrat", 18, 0.35),
           ("JHG", "Jhang", 16, 0.25), ("MZG", "Muzaffargarh", 20, 0.2), ("VHR", "Vehari", 14, 0.25),
           ("KHN", "Khanewal", 15, 0.25), ("ATK", "Attock", 15, 0.3), ("JLM", "Jhelum", 13, 0.3),
           ("CKW", "Chakwal", 12, 0.25), ("MWI", "Mianwali", 11, 0.25), ("BKR", "Bhakkar", 10, 0.2),
           ("LYH", "Layyah", 11, 0.2), ("PPT", "Pakpattan", 10, 0.25), ("TTS", "Toba Tek Singh", 12, 0.25),
           ("HFZ", "Hafizabad", 9, 0.3), ("MBD", "Mandi Bahauddin", 12, 0.25), ("NRW", "Narowal", 11, 0.2),
           ("NNS", "Nankana Sahib", 10, 0.25), ("CHT", "Chiniot", 9, 0.3), ("KSB", "Khushab", 10, 0.25),
           ("LDN", "Lodhran", 9, 0.2), ("BWN", "Bahawalnagar", 16, 0.2), ("RJP", "Rajanpur", 12, 0.15),
           ("KTA", "Kot Addu", 0, 0.3), ("MRE", "Murree", 6, 0.5)],
    "SD": [("KHE", "Karachi East", 18, 1.0), ("KHW", "Karachi West", 16, 0.95), ("KHS", "Karachi South", 16, 1.0),
           ("KHC", "Karachi Central", 17, 1.0), ("KHK", "Korangi", 14, 1.0), ("KHM", "Malir", 14, 0.8),
           ("KHR", "Keamari", 12, 0.8), ("HYD", "Hyderabad", 26, 0.7), ("SUK", "Sukkur", 18, 0.5),
           ("LRK", "Larkana", 16, 0.4), ("MPK", "Mirpurkhas", 14, 0.35), ("SBA", "Shaheed Benazirabad", 16, 0.35),
           ("JCB", "Jacobabad", 12, 0.3), ("SKR", "Shikarpur", 14, 0.3), ("KRP", "Khairpur", 20, 0.3),
           ("DDU", "Dadu", 18, 0.25), ("TTA", "Thatta", 12, 0.2), ("BDN", "Badin", 16, 0.2),
           ("SGR", "Sanghar", 18, 0.2), ("GTK", "Ghotki", 16, 0.25), ("KMR", "Kashmore", 12, 0.2),
           ("NFZ", "Naushahro Feroze", 14, 0.25), ("JMS", "Jamshoro", 12, 0.3), ("MTR", "Matiari", 8, 0.25),
           ("TAY", "Tando Allahyar", 8, 0.3), ("TMK", "Tando Muhammad Khan", 6, 0.3), ("UMK", "Umerkot", 10, 0.2),
           ("THP", "Tharparkar", 10, 0.1), ("SJW", "Sujawal", 8, 0.15), ("QSK", "Qambar Shahdadkot", 14, 0.2)],
    "KP": [("PSH", "Peshawar", 34, 0.8), ("MRD", "Mardan", 22, 0.4), ("SWT", "Swat", 20, 0.3),
           ("ABT", "Abbottabad", 14, 0.4), ("MSH", "Mansehra", 16, 0.25), ("KHT", "Kohat", 12, 0.35),
           ("BNU", "Bannu", 12, 0.3), ("DIK", "Dera Ismail Khan", 20, 0.35), ("CSD", "Charsadda", 14, 0.3),
           ("NSR", "Nowshera", 14, 0.4), ("SWB", "Swabi", 16, 0.3), ("HRP", "Haripur", 12, 0.3),
           ("MKD", "Malakand", 8, 0.3), ("LDR", "Lower Dir", 14, 0.2), ("UDR", "Upper Dir", 10, 0.15),
           ("BNR", "Buner", 8, 0.15), ("SHG", "Shangla", 6, 0.1), ("CTL", "Chitral", 10, 0.15),
           ("KRK", "Karak", 8, 0.2), ("LKM", "Lakki Marwat", 10, 0.2), ("TNK", "Tank", 6, 0.2),
           ("HNG", "Hangu", 8, 0.25), ("KBR", "Khyber", 10, 0.15), ("BJR", "Bajaur", 8, 0.1),
           ("MMD", "Mohmand", 6, 0.1), ("KRM", "Kurram", 8, 0.15), ("NWZ", "North Waziristan", 8, 0.1),
           ("SWZ", "South Waziristan", 8, 0.1), ("OKZ", "Orakzai", 4, 0.05), ("BTG", "Battagram", 6, 0.1),
           ("KLP", "Kolai Palas", 3, 0.05), ("TGR", "Torghar", 3, 0.05)],
    "BA": [("QTA", "Quetta", 24, 0.85), ("GWD", "Gwadar", 6, 0.5), ("KCH", "Kech", 6, 0.35),
           ("LSB", "Lasbela", 8, 0.4), ("KZD", "Khuzdar", 6, 0.3), ("SBI", "Sibi", 5, 0.35),
           ("JFD", "Jaffarabad", 6, 0.3), ("NSD", "Nasirabad", 6, 0.25), ("LRL", "Loralai", 4, 0.3),
           ("ZHB", "Zhob", 4, 0.3), ("PSN", "Pishin", 5, 0.2), ("CMN", "Chaman", 5, 0.4),
           ("MST", "Mastung", 4, 0.25), ("KLT", "Kalat", 3, 0.2), ("DBG", "Dera Bugti", 3, 0.1),
           ("KHL", "Kohlu", 2, 0.1), ("NSK", "Nushki", 3, 0.25), ("CGI", "Chagai", 3, 0.15),
           ("KRN", "Kharan", 2, 0.2), ("PJG", "Panjgur", 3, 0.25), ("JMG", "Jhal Magsi", 2, 0.1),
           ("ZRT", "Ziarat", 2, 0.15)],
    "IC": [("ISB", "Islamabad", 26, 0.8)],
    "GB": [("GLT", "Gilgit", 10, 0.5), ("SKD", "Skardu", 8, 0.4), ("HNZ", "Hunza", 5, 0.2),
           ("NGR", "Nagar", 4, 0.1), ("GZR", "Ghizer", 6, 0.1), ("DMR", "Diamer", 8, 0.15),
           ("AST", "Astore", 5, 0.1), ("GHN", "Ghanche", 5, 0.1), ("SHR", "Shigar", 3, 0.05),
           ("KMG", "Kharmang", 3, 0.05)],
    "AJ": [("MZD", "Muzaffarabad", 12, 0.5), ("MPR", "Mirpur", 10, 0.55), ("KTL", "Kotli", 10, 0.3),
           ("BHM", "Bhimber", 8, 0.3), ("BAG", "Bagh", 8, 0.2), ("PNC", "Poonch", 8, 0.25),
           ("SDN", "Sudhnoti", 6, 0.15), ("NLM", "Neelum", 5, 0.05), ("HTB", "Hattian Bala", 4, 0.1),
           ("HVL", "Haveli", 4, 0.1)],
}

URBAN_LOCALITIES = [
    "City", "Saddar", "Civil Lines", "Cantt", "Model Town", "Satellite Town", "Kotwali", "Airport",
    "Industrial Area", "Sabzi Mandi", "Railway Road", "Gulberg", "Township", "Factory Area", "Iqbal Town",
    "Jinnah Town", "Garden Town", "Ghalla Mandi", "Mohalla Islampura", "Shah Faisal", "New Town",
    "Old City", "Bilal Colony", "Madina Town", "Peoples Colony", "Samanabad", "Shalimar", "Defence",
    "Nishtar Colony", "Baghbanpura", "Faisal Town", "Green Town", "Allama Iqbal Colony", "Gulshan",
    "Rehmanpura", "Mustafabad", "Awami Colony", "Qila Gujar Singh", "Race Course", "Data Nagar",
    "Shadman", "Mozang", "Lytton Road", "Sanda", "Harbanspura", "Manawan", "Kahna", "Nawab Town",
    "Raiwind Road", "Ravi Road", "Tibbi City", "Akbari Mandi", "Lohari Gate", "Bhati Gate", "Mughalpura",
    "Naseerabad", "Chung", "Sundar", "Nasir Bagh", "Hanjarwal", "Sherakot", "Ichhra", "Wahdat Colony",
    "Muslim Town", "Johar Town", "Sabzazar", "Walton", "Ghaziabad", "Misri Shah", "Shad Bagh",
    "Garhi Shahu", "Anarkali", "Qila Gujjar", "Kot Lakhpat", "Green Park", "University Road",
    "Stadium Road", "Sher Shah", "Liaquatabad", "Nazimabad", "Orangi", "Baldia", "Landhi", "Shah Latif",
    "Sachal", "Mochko", "Docks", "Preedy", "Frere", "Artillery Maidan", "Boat Basin", "Clifton",
    "Darakhshan", "Ferozabad", "Aziz Bhatti", "Sharifabad", "Taimuria", "Yousuf Plaza", "Zaman Town",
]
RURAL_PREFIXES = ["Kot", "Chak", "Pind", "Basti", "Dera", "Goth", "Killi", "Banda", "Mauza", "Thatti"]
RURAL_NAMES = [
    "Ahmad", "Bhatti", "Chaudhry", "Daud", "Fateh", "Ghulam", "Haider", "Jalal", "Karim", "Lal", "Mehr",
    "Nawaz", "Qasim", "Rahim", "Sultan", "Talib", "Usman", "Wali", "Yaqub", "Zafar", "Sher", "Noor",
    "Bahadur", "Shah", "Din", "Khan", "Mir", "Sadiq", "Akbar", "Babar", "Gul", "Hashim", "Ismail",
]

# History inside the demo years.
KOT_ADDU_MOVE = dt.date(2025, 1, 1)
OPENINGS = [("PB", "LHR", "2024-07-01"), ("PB", "FSD", "2025-03-01"), ("SD", "KHM", "2024-09-01"),
            ("SD", "HYD", "2025-05-01"), ("KP", "PSH", "2024-04-01"), ("BA", "GWD", "2025-02-01"),
            ("IC", "ISB", "2024-10-01"), ("GB", "HNZ", "2025-06-01"), ("AJ", "MPR", "2024-11-01"),
            ("KP", "SWT", "2025-08-01")]
CLOSINGS = [("PB", "RWP", "2024-08-31"), ("SD", "KHS", "2025-03-31"), ("KP", "KBR", "2024-12-31"),
            ("BA", "QTA", "2025-06-30")]


def station_name(rng: random.Random, district: str, urban: bool, used: set[str]) -> str:
    for _ in range(500):
        if urban:
            locality = rng.choice(URBAN_LOCALITIES)
        else:
            locality = f"{rng.choice(RURAL_PREFIXES)} {rng.choice(RURAL_NAMES)}"
        name = f"PS {locality} {district}"
        if name not in used:
            used.add(name)
            return name
    raise RuntimeError(f"ran out of station names for {district}")


def population(rng: random.Random, urban: bool) -> int:
    median = 180_000 if urban else 95_000
    value = rng.lognormvariate(0, 0.45) * median
    return int(round(min(max(value, 15_000), 650_000), -2))


def build_units(rng: random.Random) -> list[dict]:
    units = []
    for province, districts in DISTRICTS.items():
        for code, name, stations, urban_share in districts:
            used: set[str] = set()
            for number in range(1, stations + 1):
                urban = rng.random() < urban_share
                units.append(dict(
                    unit_code=f"{province}-{code}-{number:03d}", unit_name=station_name(rng, name, urban, used),
                    province_code=province, district_code=code, urban_rural="urban" if urban else "rural",
                    population=population(rng, urban),
                    opened_on=dt.date(rng.randint(1950, 2014), rng.randint(1, 12), 1).isoformat(),
                    closed_on="", valid_from="1900-01-01", valid_to="",
                ))
    return units


def add_history(rng: random.Random, units: list[dict]) -> list[dict]:
    names = {(p, c): n for p, ds in DISTRICTS.items() for c, n, _, _ in ds}
    for province, district, opened in OPENINGS:
        number = sum(1 for u in units if u["unit_code"].startswith(f"{province}-{district}-")) + 1
        urban = rng.random() < 0.6
        used = {u["unit_name"] for u in units}
        units.append(dict(
            unit_code=f"{province}-{district}-{number:03d}", province_code=province, district_code=district,
            unit_name=station_name(rng, names[(province, district)], urban, used),
            urban_rural="urban" if urban else "rural", population=population(rng, urban),
            opened_on=opened, closed_on="", valid_from="1900-01-01", valid_to=""))
    for province, district, closed in CLOSINGS:
        candidates = [u for u in units if u["province_code"] == province and u["district_code"] == district
                      and u["opened_on"] < "2015-01-01"]
        rng.choice(candidates)["closed_on"] = closed
    # The Kot Addu district was carved out of Muzaffargarh: its stations keep their codes.
    moved = [u for u in units if u["district_code"] == "MZG"][-6:]
    for unit in moved:
        unit["valid_to"] = (KOT_ADDU_MOVE - dt.timedelta(days=1)).isoformat()
        new_version = dict(unit, district_code="KTA", valid_from=KOT_ADDU_MOVE.isoformat(), valid_to="")
        new_version["unit_name"] = unit["unit_name"].replace("Muzaffargarh", "Kot Addu")
        units.append(new_version)
    return sorted(units, key=lambda u: (u["unit_code"], u["valid_from"]))


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(20240101)
    OUT.mkdir(parents=True, exist_ok=True)
    write_csv(OUT / "provinces.csv", [dict(province_code=c, province_name=n, capital=cap, iso_3166_2=iso,
                                           population_base_year=POPULATION_BASE_YEAR,
                                           population_growth_percent=f"{growth:.2f}")
                                      for c, n, cap, iso, growth in PROVINCES])
    write_csv(OUT / "districts.csv", [dict(province_code=p, district_code=c, district_name=n)
                                      for p, ds in DISTRICTS.items() for c, n, _, _ in ds])
    units = add_history(rng, build_units(rng))
    write_csv(OUT / "units.csv", units)
    print(f"wrote {len({u['unit_code'] for u in units})} units ({len(units)} registry rows) to {OUT}")


if __name__ == "__main__":
    main()

"""The demo brand, "Fernhill Home": SKUs, prices, costs, campaigns, customers, wholesale accounts.

Everything here is static and deterministic; the generator only draws from it with a seeded RNG.
Money is `Decimal` (never float).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
BRAND = "Fernhill Home"
CHANNELS = ("shopify_web", "shopify_pos", "amazon_us", "amazon_ca", "wholesale", "unallocated")
SALES_CHANNELS = CHANNELS[:5]
CURRENCIES = ("CAD", "EUR", "GBP")  # non-reporting currencies with FX rates (reporting: USD)
FX_START = {"CAD": 0.7310, "EUR": 1.0840, "GBP": 1.2710}
COGS_INITIAL_FROM = "2025-01-01"


def q2(value: Decimal) -> Decimal:
    """Round to cents, half away from zero."""
    return value.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Sku:
    idx: int
    sku: str
    name: str
    price: Decimal  # USD retail (Shopify, Amazon.com)
    price_cad: Decimal  # Amazon.ca
    compare_at: str  # Shopify "compare at" price text ("" when none)
    cost: Decimal  # USD unit cost effective from COGS_INITIAL_FROM
    wholesale: dict  # currency -> unit price
    asin: str
    fnsku: str
    fba_fee: Decimal  # FBA per-unit fulfilment fee (marketplace currency scale)


_FAMILIES = [  # code, name, price USD, cost ratio, variants
    ("PIL", "Linen Throw Pillow", "38.00", 0.29, ("Oat", "Sage", "Clay", "Ink")),
    ("THR", "Waffle Knit Throw", "89.00", 0.31, ("Oat", "Moss", "Rust", "Slate")),
    ("CDL", "Soy Candle 8oz", "24.00", 0.22, ("Cedar", "Fig", "Sea Salt", "Amber")),
    ("VAS", "Stoneware Vase", "46.00", 0.27, ("Small", "Medium", "Large", "Bud")),
    ("MUG", "Speckled Mug Set of 2", "32.00", 0.25, ("White", "Sand", "Charcoal", "Blush")),
    ("BSK", "Seagrass Basket", "54.00", 0.33, ("Small", "Medium", "Large", "Lidded")),
    ("TWL", "Turkish Hand Towel", "22.00", 0.28, ("Natural", "Indigo", "Olive", "Stripe")),
    ("LMP", "Ceramic Table Lamp", "149.00", 0.35, ("Ivory", "Terracotta", "Black", "Celadon")),
]
_FBA = [Decimal("3.22"), Decimal("5.48"), Decimal("3.86"), Decimal("4.75"), Decimal("4.10"),
        Decimal("5.12"), Decimal("3.40"), Decimal("5.50")]
_ALNUM = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _code(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, len(_ALNUM))
        out.append(_ALNUM[r])
    return "".join(reversed(out))


def _build_skus() -> list[Sku]:
    skus = []
    for f, (code, name, price, ratio, variants) in enumerate(_FAMILIES):
        for v, variant in enumerate(variants):
            i = len(skus)
            p = Decimal(price) + Decimal(v * 2 if code in ("VAS", "BSK") else 0)
            price_cad = Decimal(int(p * Decimal("1.36"))) + Decimal("0.99")
            wholesale = {"USD": q2(p * Decimal("0.50")), "EUR": q2(p * Decimal("0.47")),
                         "GBP": q2(p * Decimal("0.40"))}
            skus.append(Sku(
                idx=i, sku=f"FH-{code}-{variant.upper().replace(' ', '')[:5]}",
                name=f"{name} - {variant}", price=p, price_cad=price_cad,
                compare_at=str(q2(p * Decimal("1.2"))) if (i % 5 == 0) else "",
                cost=q2(p * Decimal(str(ratio + 0.01 * (v % 3)))), wholesale=wholesale,
                asin="B0" + _code(7919 * (i + 11) ** 3, 8), fnsku="X00" + _code(104729 * (i + 3) ** 2, 7),
                fba_fee=_FBA[f],
            ))
    return skus


SKUS = _build_skus()

# ---- people and places (fake) --------------------------------------------------------------
FIRST = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
         "Mia", "Mason", "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Aiden", "Abigail", "Jacob",
         "Emily", "Henry", "Ella", "Owen", "Grace", "Wyatt", "Chloe", "Caleb", "Nora", "Julian",
         "Priya", "Mateo", "Yuki", "Omar", "Leila", "Diego", "Hana", "Tomasz", "Aisha", "Chen"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
        "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
        "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
        "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
        "Scott", "Nguyen", "Hill", "Flores", "Patel"]
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "proton.me"]
STREETS = ["Maple", "Oak", "Cedar", "Elm", "Pine", "Washington", "Lake", "Hill", "Park", "Main",
           "Sunset", "Highland", "Willow", "Church", "Spring", "Meadow", "River", "Chestnut"]
SUFFIX = ["St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way"]
# city, province code, province name, zip prefix, area code, sales tax rate
CITIES = [
    ("Brooklyn", "NY", "New York", "112", "718", Decimal("0.08875")),
    ("Albany", "NY", "New York", "122", "518", Decimal("0.08")),
    ("Hoboken", "NJ", "New Jersey", "070", "201", Decimal("0.06625")),
    ("Boston", "MA", "Massachusetts", "021", "617", Decimal("0.0625")),
    ("Philadelphia", "PA", "Pennsylvania", "191", "215", Decimal("0.08")),
    ("Chicago", "IL", "Illinois", "606", "312", Decimal("0.1025")),
    ("Austin", "TX", "Texas", "787", "512", Decimal("0.0825")),
    ("Denver", "CO", "Colorado", "802", "303", Decimal("0.0881")),
    ("Seattle", "WA", "Washington", "981", "206", Decimal("0.1035")),
    ("Portland", "OR", "Oregon", "972", "503", Decimal("0")),
    ("Atlanta", "GA", "Georgia", "303", "404", Decimal("0.089")),
    ("Nashville", "TN", "Tennessee", "372", "615", Decimal("0.0925")),
    ("Los Angeles", "CA", "California", "900", "213", Decimal("0.095")),
    ("Minneapolis", "MN", "Minnesota", "554", "612", Decimal("0.08025")),
    ("Raleigh", "NC", "North Carolina", "276", "919", Decimal("0.0725")),
]
POS_TAX = Decimal("0.08875")  # Downtown store, Brooklyn
POS_LOCATION = "Downtown store"
POS_EMPLOYEES = ["Maya Brooks", "Theo Alvarez", "June Park"]
AMZ_US_CITIES = [("SEATTLE", "WA", "98101"), ("PHOENIX", "AZ", "85004"), ("MIAMI", "FL", "33130"),
                 ("COLUMBUS", "OH", "43215"), ("SAN DIEGO", "CA", "92101"), ("DALLAS", "TX", "75201")]
AMZ_CA_CITIES = [("TORONTO", "ON", "M5V 2T6"), ("VANCOUVER", "BC", "V6B 1A1"), ("CALGARY", "AB", "T2P 1J9"),
                 ("OTTAWA", "ON", "K1P 5G4"), ("MONTREAL", "QC", "H3B 2Y5")]
AMZ_TAX = {"amazon_us": Decimal("0.07"), "amazon_ca": Decimal("0.13")}
RETURN_REASONS = ["UNWANTED_ITEM", "NOT_AS_DESCRIBED", "DEFECTIVE", "DAMAGED_BY_FC", "ORDERED_WRONG_ITEM"]

DISCOUNT_CODES = [("WELCOME10", "pct", Decimal("0.10")), ("SUMMER15", "pct", Decimal("0.15")),
                  ("SAVE5", "fixed", Decimal("5.00"))]

# ---- wholesale accounts --------------------------------------------------------------------
# account, name, currency, terms, discount rate, weight
WHOLESALE_CUSTOMERS = [
    ("WH-1001", "Harbor & Co. Interiors", "USD", "Net 30", Decimal("0"), 3),
    ("WH-1002", "Maison Verte SARL", "EUR", "Net 60", Decimal("0.05"), 2),
    ("WH-1003", "Loft Living Ltd", "GBP", "Net 30", Decimal("0.10"), 2),
    ("WH-1004", "Nordlicht Wohnen GmbH", "EUR", "Net 60", Decimal("0"), 1),
    ("WH-1005", "Sagebrush Home Goods", "USD", "Net 30", Decimal("0.05"), 2),
    ("WH-1006", "The Cotswold Store", "GBP", "Net 60", Decimal("0"), 1),
]

# ---- marketing -----------------------------------------------------------------------------
# Google: id, name, campaign type, base daily spend USD (at 60 orders/day), cpc, ctr, cvr, value/conv
GOOGLE_CAMPAIGNS = [
    (20412233101, "DTC | Search | Brand", "Search", 60, 0.85, 0.081, 0.065, 92.0),
    (20412233102, "DTC | PMax | All products", "Performance Max", 140, 0.62, 0.018, 0.028, 84.0),
    (20412233103, "Retail | Local inventory ads", "Shopping", 25, 0.48, 0.012, 0.010, 71.0),
    (20412233104, "Test | YouTube awareness", "Video", 30, 0.21, 0.006, 0.002, 60.0),
]
# Meta: campaign, [(ad set, [ads])], base daily spend
META_CAMPAIGNS = [
    ("Web | Prospecting | Broad", [("Broad 25-54 US", ["Throw carousel", "Candle reel"]),
                                    ("Lookalike 2% purchasers", ["Throw carousel"])], 120),
    ("Web | Retargeting | DPA", [("Viewed not purchased 14d", ["DPA catalog"])], 60),
    ("Store traffic | POS | Local", [("Brooklyn 10mi", ["Visit the store"])], 20),
]
# Pinterest: campaign, ad groups, base daily spend
PINTEREST_CAMPAIGNS = [("Web | Home decor | Conversions", ["Cozy living rooms", "Tablescapes"], 35)]
# Amazon Ads: id, name, marketplace channel, budget, base daily spend (marketplace currency)
AMAZON_ADS_CAMPAIGNS = [
    (301122334455, "SP | US | Brand exact", "amazon_us", "50.00", 30),
    (301122334456, "SP | US | Category auto", "amazon_us", "80.00", 45),
    (301122334457, "SP | CA | Brand exact", "amazon_ca", "40.00", 25),
]

# ---- operating costs (per month, at 60 orders/day) -------------------------------------------
# channel, cost_type, daily amount (USD rows are daily x days, so they spread without remainder),
# currency. Exactly one non-USD row per channel, so per-row and per-channel spreading agree.
OPERATING_COSTS = [
    ("shopify_web", "staff", "310.00", "USD"),
    ("shopify_web", "agency", "95.00", "USD"),
    ("shopify_web", "software", "28.40", "USD"),
    ("shopify_pos", "staff", "240.00", "USD"),
    ("shopify_pos", "software", "6.50", "USD"),
    ("amazon_us", "agency", "80.00", "USD"),
    ("amazon_us", "software", "12.30", "USD"),
    ("amazon_ca", "staff", "7400.00", "CAD"),  # monthly amount: a dedicated CA marketplace manager
    ("amazon_ca", "agency", "55.00", "USD"),
    ("amazon_ca", "software", "9.90", "USD"),
    ("wholesale", "staff", "160.00", "USD"),
    ("wholesale", "software", "4.20", "USD"),
    ("shared", "staff", "420.00", "USD"),
    ("shared", "software", "61.70", "USD"),
]

INVENTORY_LOCATIONS = ["Shopify - Main warehouse", "Amazon FBA US", "Amazon FBA CA", "3PL - ShipBob Reno"]

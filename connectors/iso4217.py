"""ISO 4217: the currency codes in use (list of November 2026), written out here as data.

Only currencies a vendor can bill or report in: the fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN,
UYI, UYW), precious metals (XAU, XAG, XPD, XPT), bond-market units (XBA…XBD), XDR, XSU, XUA, XAD, and
the codes for testing (XTS) and "no currency" (XXX) are left out. Withdrawn codes are not accepted:
HRK (Croatia uses EUR since 2023), ANG (replaced by XCG in 2025), ZWL (by ZWG in 2024), SLL (by SLE),
VEF (by VES), MRO (by MRU), STD (by STN), BYR (by BYN), CUC, and the pre-euro currencies.
BGN is kept while Bulgaria's lev, replaced by the euro on 2026-01-01, still appears in files of the
periods before.
"""

ACTIVE_CURRENCIES = frozenset("""
AED AFN ALL AMD AOA ARS AUD AWG AZN
BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
CAD CDF CHF CLP CNY COP CRC CUP CVE CZK
DJF DKK DOP DZD
EGP ERN ETB EUR
FJD FKP
GBP GEL GHS GIP GMD GNF GTQ GYD
HKD HNL HTG HUF
IDR ILS INR IQD IRR ISK
JMD JOD JPY
KES KGS KHR KMF KPW KRW KWD KYD KZT
LAK LBP LKR LRD LSL LYD
MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
NAD NGN NIO NOK NPR NZD
OMR
PAB PEN PGK PHP PKR PLN PYG
QAR
RON RSD RUB RWF
SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL
THB TJS TMT TND TOP TRY TTD TWD TZS
UAH UGX USD UYU UZS
VED VES VND VUV
WST
XAF XCD XCG XOF XPF
YER
ZAR ZMW ZWG
""".split())

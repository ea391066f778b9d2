"""The demo data set behind `make run`: a small reseller's reference data and its October bill.

One job: describe, deterministically, a reseller (payer 999999999999) with four customers and
the AWS bill that covers their accounts, so that every billing rule of docs/design.md §4.2 shows
up in the demo: markup and rules, a price-list override per account, included credit, proration,
a customer discount, a customer that keeps its own RI and savings plan savings, tax (domestic,
US sales tax, EU reverse charge, exempt), a currency conversion and an unassigned account.
"""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path
from typing import Any

from localaws.synthetic_cur import LEGACY_CUR_COLUMNS, generate_legacy_cur, write_manifest

PAYER = "999999999999"
DEMO_PERIOD = "2026-10"
DEMO_ROWS = 5_000
DEMO_SEED = 2026
REPORT_NAME = "rebill-demo"
S3_PREFIX = "bills/"  # the app's bills prefix: the demo keys below are relative to it

ACME_PROD = "111111111111"
ACME_DEV = "222222222222"  # priced with the "partner" list (account-level override)
GLOBEX = "012345678901"  # leading zero; bought its own RI and savings plan
INITECH = "333333333333"
UMBRELLA = "555555555555"  # belongs to umbrella only from 2026-10-10
UNASSIGNED = "444444444444"  # in the bill, owned by no customer

# Order matters: earlier accounts get more usage in the synthetic bill.
DEMO_ACCOUNTS = (ACME_PROD, GLOBEX, ACME_DEV, INITECH, UMBRELLA, UNASSIGNED)


def _settings() -> dict[str, Any]:
    return {
        "seller": {
            "name": "Example Cloud GmbH",
            "country": "DE",
            "tax_id": "DE136695976",
            # who is who on the invoice PDF (docs/invoices.md)
            "legal_name": "Example Cloud GmbH",
            "address": {
                "lines": ["Domstraße 1"],
                "postal_code": "50667",
                "city": "Köln",
                "country": "DE",
            },
            "registration": "HRB 12345, Amtsgericht Köln",
            "email": "billing@example-cloud.example",
            "phone": "+49 221 555 0100",
            "bank": {
                "account_name": "Example Cloud GmbH",
                "iban": "DE89370400440532013000",
                "bic": "COBADEFFXXX",
            },
            "payment_terms_days": 30,
            "footer": "Example Cloud GmbH · Managing director: Erika Mustermann",
        },
        "tax": {
            "enabled": True,
            "rates": [
                {"country": "DE", "rate": "19", "name": "VAT"},
                {"country": "FR", "rate": "20", "name": "TVA"},
                {"country": "US", "region": "US-WA", "rate": "6.5", "name": "Sales tax"},
            ],
        },
        "automated_bill_processing": True,
        "default_price_list_id": "standard",
        "pass_through": {
            "provider_credits": False,
            "provider_tax": False,
            "provider_discounts": False,
        },
        "invoice_number_prefix": "INV-",
        "fx_rates": [{"period": DEMO_PERIOD, "from": "USD", "to": "EUR", "rate": "0.92"}],
        # Each issued invoice is emailed: `make run` writes them to .local/outbox/.
        "email_on_issue": True,
    }


def _price_lists() -> list[dict[str, Any]]:
    return [
        {
            "id": "standard",
            "name": "Standard",
            "default": {"type": "markup", "percent": "10"},
            "rules": [
                {"id": "s3", "match": {"service": "AmazonS3"}, "type": "markup", "percent": "5"},
                {
                    "id": "m5",
                    "match": {"usage_type": "BoxUsage:m5.large"},
                    "type": "discount",
                    "percent": "2",
                    "basis": "list",
                },
                {
                    "id": "commitments",
                    "match": {"provider": "aws", "charge_category": "Purchase"},
                    "type": "markup",
                    "percent": "0",
                },
            ],
        },
        {
            "id": "partner",
            "name": "Partner (dev accounts)",
            "default": {"type": "discount", "percent": "3"},
            "rules": [
                {
                    "id": "lambda",
                    "match": {"service": "AWSLambda"},
                    "type": "markup",
                    "percent": "0",
                },
            ],
        },
    ]


def _plans() -> list[dict[str, Any]]:
    return [
        {
            "id": "growth",
            "name": "Growth",
            "price": "500.00",
            "currency": "USD",
            "included_credit": "200.00",
            "credit_providers": ["aws"],
            "unused_credit_policy": "forfeit",
            "overage_policy": "bill",
        },
        {
            "id": "managed",
            "name": "Managed Operations",
            "price": "120.00",
            "currency": "USD",
            "included_credit": "0.00",
            "credit_providers": None,
            "unused_credit_policy": "forfeit",
            "overage_policy": "bill",
        },
    ]


def _customer(
    cid: str,
    name: str,
    currency: str,
    email: str,
    tax_profile: dict[str, Any],
    discount: dict[str, str] | None = None,
    **profile: Any,
) -> dict[str, Any]:
    return {
        "id": cid,
        "name": name,
        "currency": currency,
        "price_list_id": "standard",
        "email": email,
        "billing_emails": [email],
        "tax_profile": tax_profile,
        "discount": discount or {"percent": "0", "applies_to": "all"},
        **profile,
    }


def _customers() -> list[dict[str, Any]]:
    return [
        _customer(
            "acme",
            "Acme GmbH",
            "USD",
            "billing@acme.example",
            {"country": "DE", "region": None, "tax_id": None, "exempt": False},
            legal_name="Acme GmbH",
            address={
                "lines": ["Friedrichstraße 100"],
                "postal_code": "10117",
                "city": "Berlin",
                "country": "DE",
            },
            buyer_reference="PO-4711",
            language="de",
        ),
        _customer(
            "globex",
            "Globex Corporation",
            "USD",
            "ap@globex.example",
            {"country": "US", "region": "US-WA", "tax_id": None, "exempt": False},
            {"percent": "5", "applies_to": "cloud"},
            legal_name="Globex Corporation",
            address={
                "lines": ["1 Globex Way"],
                "postal_code": "98101",
                "city": "Seattle",
                "region": "WA",
                "country": "US",
            },
            payment_terms_days=45,
        ),
        _customer(
            "initech",
            "Initech SARL",
            "EUR",
            "factures@initech.example",
            {"country": "FR", "region": None, "tax_id": "FR40303265045", "exempt": False},
            legal_name="Initech SARL",
            address={
                "lines": ["12 rue de la Paix"],
                "postal_code": "75002",
                "city": "Paris",
                "country": "FR",
            },
            language="fr",
        ),
        _customer(
            "umbrella",
            "Umbrella Research Foundation",
            "USD",
            "finance@umbrella.example",
            {"country": "US", "region": None, "tax_id": None, "exempt": True},
        ),
    ]


def _account(
    customer_id: str,
    account_id: str,
    price_list_id: str | None = None,
    valid_from: str | None = None,
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "provider": "aws",
        "account_id": account_id,
        "price_list_id": price_list_id,
        "valid_from": valid_from,
        "valid_to": None,
    }


def _subscription(
    customer_id: str, sid: str, plan_id: str, quantity: int, start: str, end: str | None = None
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "id": sid,
        "plan_id": plan_id,
        "quantity": quantity,
        "start_date": start,
        "end_date": end,
    }


def demo_reference() -> dict[str, Any]:
    """Settings, price lists, plans, customers, accounts and subscriptions (docs/design.md §5.1).

    acme: two accounts, the dev one on the "partner" price list; Growth plan with included
    credit; German VAT. globex: owns the RI and savings plan in its account (keeps the savings);
    5 % cloud discount; WA sales tax. initech: pays in EUR (USD->EUR rate in settings); Growth
    from 2026-10-16 (prorated 16/31); French VAT number, so reverse charge. umbrella: tax
    exempt; its account joins on 2026-10-10 (earlier lines are unassigned); Managed plan ending
    2026-10-21 (prorated 20/31). 444444444444 and the payer's own fees stay unassigned.
    """
    return {
        "settings": _settings(),
        "price_lists": _price_lists(),
        "plans": _plans(),
        "customers": _customers(),
        "accounts": [
            _account("acme", ACME_PROD),
            _account("acme", ACME_DEV, price_list_id="partner"),
            _account("globex", GLOBEX),
            _account("initech", INITECH),
            _account("umbrella", UMBRELLA, valid_from="2026-10-10"),
        ],
        "subscriptions": [
            _subscription("acme", "acme-growth", "growth", 1, "2026-01-01"),
            _subscription("globex", "globex-managed", "managed", 2, "2026-04-01"),
            _subscription("initech", "initech-growth", "growth", 1, "2026-10-16"),
            _subscription("umbrella", "umbrella-managed", "managed", 1, "2026-02-01", "2026-10-21"),
        ],
    }


def _assembly_id() -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"rebill-demo/{DEMO_PERIOD}/{DEMO_SEED}/final"))


def _period_folder() -> str:
    year, month = (int(p) for p in DEMO_PERIOD.split("-"))
    following = f"{year + month // 12}{month % 12 + 1:02d}"
    return f"{year}{month:02d}01-{following}01"


def write_demo_bills(out_dir: str | Path) -> list[Path]:
    """Write the demo CUR delivery under out_dir; return the keys relative to out_dir.

    The keys are those AWS would write below the report prefix (`cur/`), to be uploaded as
    `bills/<key>`: the data file first, then the manifest that names it.
    """
    out_dir = Path(out_dir)
    folder = Path("cur") / REPORT_NAME / _period_folder()
    data = folder / _assembly_id() / f"{REPORT_NAME}-00001.csv.gz"
    manifest = folder / f"{REPORT_NAME}-Manifest.json"
    (out_dir / data).parent.mkdir(parents=True, exist_ok=True)
    generate_legacy_cur(
        out_dir / data,
        rows=DEMO_ROWS,
        period=DEMO_PERIOD,
        payer=PAYER,
        accounts=DEMO_ACCOUNTS,
        final=True,
        seed=DEMO_SEED,
        commitment_owner=GLOBEX,
    )
    write_manifest(
        out_dir / manifest,
        report_name=REPORT_NAME,
        period=DEMO_PERIOD,
        assembly_id=_assembly_id(),
        report_keys=[S3_PREFIX + data.as_posix()],
        columns=LEGACY_CUR_COLUMNS,
        account=PAYER,
    )
    return [data, manifest]


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localaws.demo_data", description=__doc__.split("\n")[0]
    )
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    for key in write_demo_bills(args.out_dir):
        print(key.as_posix())
    (args.out_dir / "reference.json").write_text(json.dumps(demo_reference(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

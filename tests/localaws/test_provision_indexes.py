"""A table kept from an earlier run of the laptop stack gets the indexes declared since."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.stack


def test_an_existing_table_gets_the_indexes_its_model_declares_since(clean_stack: Any) -> None:
    from chalicelib.store.tables import InvoiceItem
    from localaws.provision import add_missing_indexes

    connection = InvoiceItem._get_connection().connection
    table = InvoiceItem.Meta.table_name
    schema = InvoiceItem._get_schema()
    # The table as an earlier version declared it: keys, and the indexes but the run ones.
    older = [
        i for i in schema["global_secondary_indexes"] if not i["index_name"].startswith("by_run_")
    ]
    InvoiceItem.delete_table()
    connection.client.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            *{d["AttributeName"]: d for i in older for d in i["attribute_definitions"]}.values(),
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": i["index_name"],
                "KeySchema": sorted(i["key_schema"], key=lambda k: k["KeyType"]),
                "Projection": i["projection"],
            }
            for i in older
        ],
    )

    assert sorted(add_missing_indexes(InvoiceItem)) == ["by_run_period", "by_run_recent"]
    assert add_missing_indexes(InvoiceItem) == []
    described = connection.describe_table(table)["GlobalSecondaryIndexes"]
    assert {i["IndexName"] for i in described} == {
        i["index_name"] for i in schema["global_secondary_indexes"]
    }
    from chalicelib.store import invoices

    invoices.create_run("r-1", {"run_id": "r-1", "period": "2026-10", "status": "running"})
    runs, _ = invoices.recent_runs(None, None, 10)
    assert [r["run_id"] for r in runs] == ["r-1"]

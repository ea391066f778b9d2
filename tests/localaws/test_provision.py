"""A table kept in a data directory from before an index existed gets it at the next start."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytestmark = pytest.mark.stack


def test_indexes_added_since_a_table_was_created_are_created(clean_stack: Any) -> None:
    from chalicelib.store.tables import InvoiceItem, key_schema
    from localaws.provision import add_missing_indexes

    class OlderInvoices(InvoiceItem):
        class Meta(InvoiceItem.Meta):
            table_name = "rebill-local-invoices-older"

    dynamodb = clean_stack.client("dynamodb")
    # The table as an older Rebill made it: the same keys, without the open-invoices index.
    OlderInvoices.create_table(wait=True)
    dynamodb.update_table(
        TableName=OlderInvoices.Meta.table_name,
        GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_open_due"}}],
    )
    for _ in range(600):
        table = dynamodb.describe_table(TableName=OlderInvoices.Meta.table_name)["Table"]
        if "by_open_due" not in {i["IndexName"] for i in table["GlobalSecondaryIndexes"]}:
            break
        time.sleep(0.1)
    try:
        wanted = {index["name"] for index in key_schema(InvoiceItem)["indexes"]}
        assert add_missing_indexes(OlderInvoices) == ["by_open_due"]
        table = dynamodb.describe_table(TableName=OlderInvoices.Meta.table_name)["Table"]
        assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == wanted
        assert add_missing_indexes(OlderInvoices) == []
    finally:
        OlderInvoices.delete_table()

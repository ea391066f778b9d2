"""Bill ingestion core: provider bill files in, normalized Parquet partitions out (no AWS here).

Entry point: :func:`chalicelib.bills.normalize.normalize_bill`; results in
:mod:`chalicelib.bills.model`. Nothing is imported here so that readers of
:mod:`chalicelib.bills.schema` do not pay for DuckDB and pyarrow.
"""

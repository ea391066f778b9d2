"""Bill ingestion core: provider bill files in, normalized Parquet partitions out (no AWS here).

Entry point: :func:`chalicelib.bills.normalize.normalize_bill`; results in
:mod:`chalicelib.bills.model`. Nothing is imported here so that readers of
:mod:`chalicelib.bills.schema` do not pay for DuckDB.

Deployed code: DuckDB (and isal) only. pyarrow and pandas are development dependencies (the
Lambda package limit), so nothing here may import them, directly or through a DuckDB method
that needs them (``.arrow()``, ``.df()``, ``fetch_record_batch``…): tests/bills/test_pipeline.py
normalizes bills with both made unimportable.
"""

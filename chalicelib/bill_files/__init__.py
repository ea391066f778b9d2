"""Bill ingestion core: provider bill files in, normalized Parquet partitions out (no AWS here).

Entry point: :func:`chalicelib.bill_files.normalize.normalize_bill`; results in
:mod:`chalicelib.bill_files.model`. Nothing is imported here so that readers of
:mod:`chalicelib.bill_files.schema` do not pay for DuckDB.

Deployed code: DuckDB (and isal) only. pyarrow and pandas are development dependencies (the
Lambda package limit), so nothing here may import them, directly or through a DuckDB method
that needs them (``.arrow()``, ``.df()``, ``fetch_record_batch``…):
tests/bill_files/test_pipeline.py normalizes bills with both made unimportable.
"""

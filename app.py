"""Rebill's Chalice app: route and Lambda declarations only; the work happens in chalicelib."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, ConvertToMiddleware

from chalicelib.api import views
from chalicelib.observability import logger, metrics, tracer
from chalicelib.workflow import ingest, invoice_run

app = Chalice(app_name="rebill")
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)))
app.register_middleware(ConvertToMiddleware(tracer.capture_lambda_handler(capture_response=False)))
app.register_middleware(ConvertToMiddleware(metrics.log_metrics))
app.api.cors = True

Event = dict[str, Any]


# --- bill ingestion (the bucket notification is wired in infra/, see DESIGN §3) -----------------


@app.lambda_function(name="ingest_bill")
def ingest_bill(event: Event, context: Any) -> list[dict[str, Any]]:
    return ingest.handle_s3_event(event)


# --- the generate-invoices state machine's tasks ----------------------------------------------


@app.lambda_function(name="prepare_run")
def prepare_run(event: Event, context: Any) -> Event:
    return invoice_run.prepare_run(event)


@app.lambda_function(name="price_usage")
def price_usage(event: Event, context: Any) -> Event:
    return invoice_run.price_customer_usage(event)


@app.lambda_function(name="compose_invoice")
def compose_invoice(event: Event, context: Any) -> Event:
    return invoice_run.compose_customer_invoice(event)


@app.lambda_function(name="compute_tax")
def compute_tax(event: Event, context: Any) -> Event:
    return invoice_run.compute_customer_tax(event)


@app.lambda_function(name="save_invoice")
def save_invoice(event: Event, context: Any) -> Event:
    return invoice_run.save_customer_invoice(event)


@app.lambda_function(name="record_failure")
def record_failure(event: Event, context: Any) -> Event:
    return invoice_run.record_failure(event)


@app.lambda_function(name="finish_run")
def finish_run(event: Event, context: Any) -> Event:
    return invoice_run.finish_run(event)


# --- API ----------------------------------------------------------------------------------------


@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/reports/billing")
def billing_report() -> Any:
    return views.billing_report(app.current_request)


@app.route("/invoice-runs", methods=["POST"])
def start_invoice_run() -> Any:
    return views.start_invoice_run(app.current_request)


@app.route("/invoice-runs/{run_id}")
def get_invoice_run(run_id: str) -> Any:
    return views.get_invoice_run(app.current_request, run_id)


@app.route("/invoices")
def list_invoices() -> Any:
    return views.list_invoices(app.current_request)


@app.route("/invoices/{invoice_id}")
def get_invoice(invoice_id: str) -> Any:
    return views.get_invoice(app.current_request, invoice_id)


@app.route("/invoices/{invoice_id}/csv")
def get_invoice_csv(invoice_id: str) -> Any:
    return views.get_invoice_csv(app.current_request, invoice_id)


@app.route("/bills")
def list_bills() -> Any:
    return views.list_bills(app.current_request)

"""Rebill's Chalice app: route and Lambda declarations only; the work happens in chalicelib."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, ConvertToMiddleware, Response

from chalicelib import functions
from chalicelib.api import bills, invoices, meta, reference, reports, runs, tokens, users
from chalicelib.api.cors import portal_cors
from chalicelib.api.errors import framework_errors
from chalicelib.observability import logger, metrics, tracer
from chalicelib.workflow import bill_events, invoice_run, report_delivery

app = Chalice(app_name="rebill")
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)))
app.register_middleware(ConvertToMiddleware(tracer.capture_lambda_handler(capture_response=False)))
app.register_middleware(ConvertToMiddleware(metrics.log_metrics))
# Chalice's own refusals (405, 415, its 500) in the API's error shape.
app.register_middleware(framework_errors, "http")
# A deployed stage answers only its portal's origin (chalicelib.api.cors).
app.api.cors = portal_cors()

Event = dict[str, Any]
# A partial update's body is a JSON Merge Patch (chalicelib.api.patch), either media type.
MERGE_PATCH_TYPES = ["application/json", "application/merge-patch+json"]


# --- bill ingestion (the bucket notification is wired in infra/, docs/design.md §3) -----------


@app.lambda_function(name=functions.INGEST_BILL.name)
def ingest_bill(event: Event, context: Any) -> list[dict[str, Any]]:
    return bill_events.handle_s3_event(event)


# --- the ingest-report state machine's tasks (a multi-part report delivery) --------------------


@app.lambda_function(name=functions.INGEST_PART.name)
def ingest_part(event: Event, context: Any) -> Event:
    return report_delivery.ingest_part(event)


@app.lambda_function(name=functions.PUBLISH_DELIVERY.name)
def publish_delivery(event: Event, context: Any) -> Event:
    return report_delivery.publish_delivery(event)


# --- the generate-invoices state machine's tasks ----------------------------------------------


@app.lambda_function(name=functions.PREPARE_RUN.name)
def prepare_run(event: Event, context: Any) -> Event:
    return invoice_run.prepare_run(event)


@app.lambda_function(name=functions.INVOICE_BATCH.name)
def invoice_batch(event: Event, context: Any) -> Event:
    return invoice_run.invoice_batch(event)


@app.lambda_function(name=functions.RECORD_FAILURE.name)
def record_failure(event: Event, context: Any) -> Event:
    return invoice_run.record_failure(event)


@app.lambda_function(name=functions.FINISH_RUN.name)
def finish_run(event: Event, context: Any) -> Event:
    return invoice_run.finish_run(event)


# --- API ----------------------------------------------------------------------------------------
# Each route hands the request to its view in chalicelib.api, which authenticates, validates
# against the OpenAPI document (GET /openapi.json) and maps errors to HTTP.


@app.route("/health")
def health() -> Response:
    return meta.health(app.current_request)


@app.route("/openapi.json")
def openapi_document() -> Response:
    return meta.openapi_document(app.current_request)


@app.route("/settings", methods=["GET"])
def get_settings() -> Response:
    return reference.get_settings(app.current_request)


@app.route("/settings", methods=["PUT"])
def put_settings() -> Response:
    return reference.put_settings(app.current_request)


@app.route("/settings", methods=["PATCH"], content_types=MERGE_PATCH_TYPES)
def patch_settings() -> Response:
    return reference.patch_settings(app.current_request)


@app.route("/settings/logo-upload-url", methods=["POST"])
def create_logo_upload_url() -> Response:
    return reference.create_logo_upload_url(app.current_request)


@app.route("/price-lists", methods=["POST"])
def create_price_list() -> Response:
    return reference.create_price_list(app.current_request)


@app.route("/price-lists", methods=["GET"])
def list_price_lists() -> Response:
    return reference.list_price_lists(app.current_request)


@app.route("/price-lists/{price_list_id}", methods=["GET"])
def get_price_list(price_list_id: str) -> Response:
    return reference.get_price_list(app.current_request, price_list_id=price_list_id)


@app.route("/price-lists/{price_list_id}", methods=["PUT"])
def put_price_list(price_list_id: str) -> Response:
    return reference.put_price_list(app.current_request, price_list_id=price_list_id)


@app.route("/price-lists/{price_list_id}", methods=["DELETE"])
def delete_price_list(price_list_id: str) -> Response:
    return reference.delete_price_list(app.current_request, price_list_id=price_list_id)


@app.route("/plans", methods=["POST"])
def create_plan() -> Response:
    return reference.create_plan(app.current_request)


@app.route("/plans", methods=["GET"])
def list_plans() -> Response:
    return reference.list_plans(app.current_request)


@app.route("/plans/{plan_id}", methods=["GET"])
def get_plan(plan_id: str) -> Response:
    return reference.get_plan(app.current_request, plan_id=plan_id)


@app.route("/plans/{plan_id}", methods=["PUT"])
def put_plan(plan_id: str) -> Response:
    return reference.put_plan(app.current_request, plan_id=plan_id)


@app.route("/customers", methods=["POST"])
def create_customer() -> Response:
    return reference.create_customer(app.current_request)


@app.route("/customers", methods=["GET"])
def list_customers() -> Response:
    return reference.list_customers(app.current_request)


@app.route("/customers/{customer_id}", methods=["GET"])
def get_customer(customer_id: str) -> Response:
    return reference.get_customer(app.current_request, customer_id=customer_id)


@app.route("/customers/{customer_id}", methods=["PUT"])
def put_customer(customer_id: str) -> Response:
    return reference.put_customer(app.current_request, customer_id=customer_id)


@app.route("/customers/{customer_id}", methods=["PATCH"], content_types=MERGE_PATCH_TYPES)
def patch_customer(customer_id: str) -> Response:
    return reference.patch_customer(app.current_request, customer_id=customer_id)


@app.route("/customers/{customer_id}", methods=["DELETE"])
def delete_customer(customer_id: str) -> Response:
    return reference.delete_customer(app.current_request, customer_id=customer_id)


@app.route("/customers/{customer_id}/accounts", methods=["POST"])
def create_account(customer_id: str) -> Response:
    return reference.create_account(app.current_request, customer_id=customer_id)


@app.route("/customers/{customer_id}/accounts", methods=["GET"])
def list_accounts(customer_id: str) -> Response:
    return reference.list_accounts(app.current_request, customer_id=customer_id)


@app.route("/customers/{customer_id}/accounts/{provider}/{account_id}", methods=["DELETE"])
def delete_account(customer_id: str, provider: str, account_id: str) -> Response:
    return reference.delete_account(
        app.current_request, customer_id=customer_id, provider=provider, account_id=account_id
    )


@app.route("/customers/{customer_id}/subscriptions", methods=["POST"])
def create_subscription(customer_id: str) -> Response:
    return reference.create_subscription(app.current_request, customer_id=customer_id)


@app.route("/customers/{customer_id}/subscriptions", methods=["GET"])
def list_subscriptions(customer_id: str) -> Response:
    return reference.list_subscriptions(app.current_request, customer_id=customer_id)


@app.route("/customers/{customer_id}/subscriptions/{subscription_id}", methods=["GET"])
def get_subscription(customer_id: str, subscription_id: str) -> Response:
    return reference.get_subscription(
        app.current_request, customer_id=customer_id, subscription_id=subscription_id
    )


@app.route("/customers/{customer_id}/subscriptions/{subscription_id}", methods=["PUT"])
def put_subscription(customer_id: str, subscription_id: str) -> Response:
    return reference.put_subscription(
        app.current_request, customer_id=customer_id, subscription_id=subscription_id
    )


@app.route("/customers/{customer_id}/subscriptions/{subscription_id}", methods=["DELETE"])
def delete_subscription(customer_id: str, subscription_id: str) -> Response:
    return reference.delete_subscription(
        app.current_request, customer_id=customer_id, subscription_id=subscription_id
    )


@app.route("/bills/upload-url", methods=["POST"])
def create_bill_upload_url() -> Response:
    return bills.create_upload_url(app.current_request)


@app.route("/bills", methods=["GET"])
def list_bills() -> Response:
    return bills.list_bills(app.current_request)


@app.route("/bills/{bill_id}", methods=["GET"])
def get_bill(bill_id: str) -> Response:
    return bills.get_bill(app.current_request, bill_id=bill_id)


@app.route("/reports/billing", methods=["GET"])
def billing_report() -> Response:
    return reports.get_billing_report(app.current_request)


@app.route("/invoice-runs", methods=["POST"])
def start_invoice_run() -> Response:
    return runs.start_run(app.current_request)


@app.route("/invoice-runs", methods=["GET"])
def list_invoice_runs() -> Response:
    return runs.list_invoice_runs(app.current_request)


@app.route("/invoice-runs/{run_id}", methods=["GET"])
def get_invoice_run(run_id: str) -> Response:
    return runs.get_run(app.current_request, run_id=run_id)


@app.route("/invoices", methods=["GET"])
def list_invoices() -> Response:
    return invoices.list_invoices(app.current_request)


@app.route("/invoices/{invoice_id}", methods=["GET"])
def get_invoice(invoice_id: str) -> Response:
    return invoices.get_invoice(app.current_request, invoice_id=invoice_id)


@app.route("/invoices/{invoice_id}/csv", methods=["GET"])
def get_invoice_csv(invoice_id: str) -> Response:
    return invoices.get_invoice_csv(app.current_request, invoice_id=invoice_id)


@app.route("/invoices/{invoice_id}/e-invoice", methods=["GET"])
def get_invoice_einvoice(invoice_id: str) -> Response:
    return invoices.get_invoice_einvoice(app.current_request, invoice_id=invoice_id)


@app.route("/invoices/{invoice_id}/pdf", methods=["GET"])
def get_invoice_pdf(invoice_id: str) -> Response:
    return invoices.get_invoice_pdf(app.current_request, invoice_id=invoice_id)


@app.route("/invoices/{invoice_id}/issue", methods=["POST"])
def issue_invoice(invoice_id: str) -> Response:
    return invoices.issue(app.current_request, invoice_id=invoice_id)


@app.route("/invoices/{invoice_id}/void", methods=["POST"])
def void_invoice(invoice_id: str) -> Response:
    return invoices.void_invoice(app.current_request, invoice_id=invoice_id)


@app.route("/invoices/{invoice_id}/mark-paid", methods=["POST"])
def mark_invoice_paid(invoice_id: str) -> Response:
    return invoices.mark_invoice_paid(app.current_request, invoice_id=invoice_id)


@app.route("/invoices/{invoice_id}/payments", methods=["POST"])
def record_invoice_payment(invoice_id: str) -> Response:
    return invoices.record_payment(app.current_request, invoice_id=invoice_id)


@app.route("/invoices/{invoice_id}/send", methods=["POST"])
def send_invoice(invoice_id: str) -> Response:
    return invoices.send_invoice(app.current_request, invoice_id=invoice_id)


@app.route("/invoices/{invoice_id}/credit-notes", methods=["POST"])
def credit_invoice(invoice_id: str) -> Response:
    return invoices.credit_invoice(app.current_request, invoice_id=invoice_id)


@app.route("/api-tokens", methods=["POST"])
def create_api_token() -> Response:
    return tokens.create_api_token(app.current_request)


@app.route("/api-tokens", methods=["GET"])
def list_api_tokens() -> Response:
    return tokens.list_api_tokens(app.current_request)


@app.route("/api-tokens/{token_id}", methods=["DELETE"])
def revoke_api_token(token_id: str) -> Response:
    return tokens.revoke_api_token(app.current_request, token_id=token_id)


@app.route("/users", methods=["GET"])
def list_users() -> Response:
    return users.list_users(app.current_request)


@app.route("/users", methods=["POST"])
def invite_user() -> Response:
    return users.invite_user(app.current_request)


@app.route("/users/{username}/disable", methods=["POST"])
def disable_user(username: str) -> Response:
    return users.disable_user(app.current_request, username=username)


@app.route("/users/{username}/enable", methods=["POST"])
def enable_user(username: str) -> Response:
    return users.enable_user(app.current_request, username=username)


@app.route("/users/{username}/reset", methods=["POST"])
def reset_user_password(username: str) -> Response:
    return users.reset_user_password(app.current_request, username=username)

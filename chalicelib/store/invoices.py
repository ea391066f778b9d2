"""Invoices, invoice runs and the invoice-number counter in DynamoDB.

=================  =================================  ============================
item               pk                                 sk
=================  =================================  ============================
invoice            ``INVOICE#<invoice id>``           ``INVOICE``
live invoice       ``LIVE#<customer id>#<period>``    ``LIVE``
run                ``RUN#<run id>``                   ``RUN``
run result         ``RUN#<run id>``                   ``CUSTOMER#<customer id>``
number counter     ``COUNTER#<prefix><year>``         ``COUNTER``
credited so far    ``CREDITED#<invoice id>``          ``CREDITED``
payments           ``PAYMENTS#<invoice id>``          ``PAYMENTS``
=================  =================================  ============================

One live invoice per customer and period (docs/design.md §4.4) is the ``LIVE`` pointer, written
with a condition on what the writer read, so two runs racing for the same customer cannot both win.
Issuing takes the next number and writes the invoice in one transaction: numbers are gapless.
Run items carry the keys of ``by_run_recent`` and ``by_run_period`` (newest first).

Issued, paid and void invoices never change but for their status (and the item's balance due
and overdue index key, which payments and credit notes move): a draft is written only over
the very draft its writer read (or where there is none), and a draft is issued only as the
writer read it. So a draft's files (its ``csv_key``, a key of its own computation) can be
deleted once another draft has replaced it: no issued invoice can point at them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import Conflict, NotFound
from chalicelib.store.conditions import condition_failed, create_item
from chalicelib.store.invoice_keys import LISTING, index_attributes, payment_attributes
from chalicelib.store.records import Doc, InvoiceRecord, LivePointer, RunRecord, RunResult
from chalicelib.store.tables import InvoiceItem


def _invoice_item(doc: Doc, balance: Decimal | None = None) -> InvoiceItem:
    keys = index_attributes(doc)  # the list filters' index keys (invoice_keys)
    owed = payment_attributes(doc, balance)  # what is due, and the overdue index's key
    return InvoiceItem(
        f"INVOICE#{doc['id']}",
        "INVOICE",
        kind="invoice",
        doc=doc,
        status=doc["status"],
        customer_id=doc["customer_id"],
        period=doc["period"],
        period_sort=f"{doc['period']}#{doc['id']}",
        customer_sort=f"{doc['customer_id']}#{doc['id']}",
        listing=keys["listing"],
        total_sort=keys["total_sort"],
        discount_sort=keys["discount_sort"],
        balance_due=owed["balance_due"],
        open_due=owed["open_due"],
    )


def get_invoice(invoice_id: str) -> InvoiceRecord:
    try:
        doc: InvoiceRecord = InvoiceItem.get(f"INVOICE#{invoice_id}", "INVOICE").doc
        return doc
    except DoesNotExist:
        raise NotFound(f"invoice {invoice_id!r} not found") from None


def invoices_of_period(period: str) -> list[InvoiceRecord]:
    return [item.doc for item in InvoiceItem.by_period.query(period)]


def latest_invoice_period() -> str | None:
    """The latest period with an invoice: the first key of the newest-first invoice index."""
    for item in InvoiceItem.by_recent.query(LISTING, scan_index_forward=False, limit=1):
        return str(item.period)
    return None


def invoices_of_customer(customer_id: str) -> list[InvoiceRecord]:
    return [item.doc for item in InvoiceItem.by_customer.query(customer_id)]


# --- the live invoice of a customer and period ----------------------------------------------


def live_pointer(customer_id: str, period: str) -> LivePointer | None:
    try:
        doc: LivePointer = InvoiceItem.get(
            f"LIVE#{customer_id}#{period}", "LIVE", consistent_read=True
        ).doc
        return doc
    except DoesNotExist:
        return None


def live_invoice(customer_id: str, period: str) -> InvoiceRecord | None:
    pointer = live_pointer(customer_id, period)
    return None if pointer is None else get_invoice(pointer["invoice_id"])


def invoice_id_for(customer_id: str, period: str, sequence: int) -> str:
    return f"inv-{customer_id}-{period}-{sequence}"


def save_live_invoice(
    doc: Doc, expected_pointer: LivePointer | None, replaces: Mapping[str, Any] | None = None
) -> None:
    """Write ``doc`` as the live invoice of its customer and period, if the pointer is still the
    one the caller read and the invoice item is still ``replaces`` (the draft the caller read;
    None: there is no item of that id yet); raises Conflict otherwise (another writer got there
    first). A draft write can never land on an issued, paid or void invoice."""
    pointer_key = (f"LIVE#{doc['customer_id']}#{doc['period']}", "LIVE")
    pointer = InvoiceItem(
        *pointer_key,
        kind="live",
        doc={"invoice_id": doc["id"], "sequence": doc["sequence"], "status": doc["status"]},
    )
    condition = (
        InvoiceItem.pk.does_not_exist()
        if expected_pointer is None
        # The whole pointer as read (a JSONAttribute has no paths to compare one key of).
        else InvoiceItem.doc == expected_pointer
    )
    try:
        with TransactWrite(connection=_connection()) as transaction:
            transaction.save(pointer, condition=condition)
            transaction.save(
                _invoice_item(doc),
                condition=(
                    InvoiceItem.pk.does_not_exist()
                    if replaces is None
                    # The draft as read: another run's draft or an issue in between wins.
                    else (InvoiceItem.doc == replaces) & (InvoiceItem.status == "draft")
                ),
            )
    except TransactWriteError as error:
        if condition_failed(error):
            raise Conflict(f"invoice of {doc['customer_id']} for {doc['period']} changed") from None
        raise


def delete_live_draft(draft: Mapping[str, Any], pointer: LivePointer) -> None:
    """Delete the live draft of its customer and period (a run found nothing to bill), if the
    draft and the pointer are still as the caller read them; raises Conflict otherwise.

    The pointer goes back to what it was before the draft was written: none, or the void
    invoice the draft followed, so the next invoice of the period takes the draft's sequence.
    """
    customer_id, period, sequence = draft["customer_id"], draft["period"], pointer["sequence"]
    pointer_key = (f"LIVE#{customer_id}#{period}", "LIVE")
    as_read = InvoiceItem.doc == pointer
    try:
        with TransactWrite(connection=_connection()) as transaction:
            transaction.delete(
                InvoiceItem(f"INVOICE#{draft['id']}", "INVOICE"),
                condition=(InvoiceItem.doc == draft) & (InvoiceItem.status == "draft"),
            )
            if sequence > 1:
                voided = {
                    "invoice_id": invoice_id_for(customer_id, period, sequence - 1),
                    "sequence": sequence - 1,
                    "status": "void",
                }
                transaction.save(
                    InvoiceItem(*pointer_key, kind="live", doc=voided), condition=as_read
                )
            else:
                transaction.delete(InvoiceItem(*pointer_key), condition=as_read)
    except TransactWriteError as error:
        if condition_failed(error):
            raise Conflict(f"invoice of {customer_id} for {period} changed") from None
        raise


def update_invoice(doc: Doc, expected_status: str) -> None:
    """Replace an invoice whose status is still ``expected_status`` (lifecycle transitions)."""
    pointer = live_pointer(doc["customer_id"], doc["period"])
    try:
        with TransactWrite(connection=_connection()) as transaction:
            transaction.save(_invoice_item(doc), condition=InvoiceItem.status == expected_status)
            if pointer is not None and pointer["invoice_id"] == doc["id"]:
                pointer["status"] = doc["status"]
                transaction.save(
                    InvoiceItem(
                        f"LIVE#{doc['customer_id']}#{doc['period']}",
                        "LIVE",
                        kind="live",
                        doc=pointer,
                    )
                )
    except TransactWriteError as error:
        if condition_failed(error):
            raise Conflict(f"invoice {doc['id']} is no longer {expected_status}") from None
        raise


def record_file(read: Mapping[str, Any], field: str, key: str) -> InvoiceRecord | None:
    """Add ``field: key`` to the invoice exactly as ``read``: nothing else of it changes.

    None when the invoice changed since it was read (paid, voided, another write of the
    field): the caller reads it again."""
    doc: Doc = {**read, field: key}
    try:
        _invoice_item(doc).save(condition=InvoiceItem.doc == dict(read))
    except PutError as error:
        if condition_failed(error):
            return None
        raise
    recorded: InvoiceRecord = doc  # type: ignore[assignment]
    return recorded


# The counter moves in the same transaction as the document it numbers: a failed write leaves no
# gap, and two writers that read the same counter cannot both win (the loser reads it again).
COUNTER_ATTEMPTS = 20


def _with_next_number(
    doc: Doc,
    counter_name: str,
    make_number: Callable[[int], str],
    write: Callable[[TransactWrite, Doc], None],
    explain: Callable[[], None],
    what: str,
) -> Doc:
    """Store ``doc`` numbered with the next number of ``counter_name``, in one transaction.

    ``write(transaction, numbered)`` adds the document's own writes and conditions to the
    transaction that moves the counter. When a condition fails, ``explain()`` raises what went
    wrong if it was not the counter (someone else took that number: then try the next one).
    """
    counter_key = (f"COUNTER#{counter_name}", "COUNTER")
    for _ in range(COUNTER_ATTEMPTS):
        try:
            current = InvoiceItem.get(*counter_key, consistent_read=True).counter or 0
            exists = True
        except DoesNotExist:
            current, exists = 0, False
        number = int(current) + 1
        numbered = {**doc, "number": make_number(number)}
        counter = InvoiceItem(*counter_key, kind="counter", counter=number)
        condition = InvoiceItem.counter == current if exists else InvoiceItem.pk.does_not_exist()
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.save(counter, condition=condition)
                write(transaction, numbered)
            return numbered
        except TransactWriteError as error:
            if not condition_failed(error):
                raise
            explain()
    raise Conflict(f"could not take {what} number: too much contention")


def issue_with_next_number(
    doc: Doc, draft: Mapping[str, Any], counter_name: str, make_number: Callable[[int], str]
) -> Doc:
    """Assign the next number of ``counter_name`` and store ``doc`` issued, in one transaction.

    ``draft`` is the stored draft ``doc`` was made from: the invoice is issued only while it is
    still that draft, so what is issued is what the caller read, files included. Raises Conflict
    when it was issued or replaced meanwhile. ``make_number(n)`` formats the number. The counter
    only moves when the invoice is written, so a failed issue leaves no gap.
    """

    def write(transaction: TransactWrite, issued: Doc) -> None:
        transaction.save(
            _invoice_item(issued),
            condition=(InvoiceItem.doc == draft) & (InvoiceItem.status == "draft"),
        )
        transaction.save(
            InvoiceItem(
                f"LIVE#{doc['customer_id']}#{doc['period']}",
                "LIVE",
                kind="live",
                doc={
                    "invoice_id": doc["id"],
                    "sequence": doc["sequence"],
                    "status": issued["status"],
                },
            )
        )

    def explain() -> None:
        stored = get_invoice(doc["id"])
        if stored["status"] != "draft":
            raise Conflict(f"invoice {doc['id']} is already {stored['status']}") from None
        if stored != draft:
            raise Conflict(
                f"draft {doc['id']} was recomputed meanwhile: look at it again, then issue it"
            ) from None

    return _with_next_number(doc, counter_name, make_number, write, explain, "an invoice")


@cache
def _connection() -> Connection:
    """One connection per process: each new Connection builds a botocore client (~0.4 s)."""
    return Connection()


def void_with_credit_note(
    voided: Doc, credit_note: Doc, counter_name: str, make_number: Callable[[int], str]
) -> Doc:
    """Store ``voided`` (status void) and its ``credit_note`` numbered from ``counter_name``, in
    one transaction with the counter: the invoice must still be issued and the credit note new.

    The live pointer of the customer and period turns ``void``, so the next run invoices them
    again (with the next sequence). Returns the numbered credit note.
    """
    pointer = live_pointer(voided["customer_id"], voided["period"])

    def write(transaction: TransactWrite, note: Doc) -> None:
        transaction.save(_invoice_item(note), condition=InvoiceItem.pk.does_not_exist())
        transaction.save(_invoice_item(voided), condition=InvoiceItem.status == "issued")
        # A credited invoice is not voided: its credit notes would be counted twice.
        transaction.condition_check(
            InvoiceItem,
            *_credited_key(voided["id"]),
            condition=InvoiceItem.pk.does_not_exist(),
        )
        # Nor is one with payments: what was paid would be owed back.
        transaction.condition_check(
            InvoiceItem,
            *payments_key(voided["id"]),
            condition=InvoiceItem.pk.does_not_exist(),
        )
        if pointer is not None and pointer["invoice_id"] == voided["id"]:
            transaction.save(
                InvoiceItem(
                    f"LIVE#{voided['customer_id']}#{voided['period']}",
                    "LIVE",
                    kind="live",
                    doc={**pointer, "status": "void"},
                )
            )

    def explain() -> None:
        if get_invoice(voided["id"])["status"] != "issued":
            raise Conflict(f"invoice {voided['id']} is no longer issued") from None
        if credited(voided["id"]) is not None:
            raise Conflict(f"invoice {voided['id']} was credited meanwhile") from None
        if payments(voided["id"]) is not None:
            raise Conflict(f"invoice {voided['id']} was paid meanwhile") from None

    return _with_next_number(
        credit_note, counter_name, make_number, write, explain, "a credit note"
    )


# --- credit notes of issued and paid invoices -----------------------------------------------


class CreditedMeanwhile(Conflict):
    """Another credit note of the invoice was stored since the caller read what was credited."""


def _credited_key(invoice_id: str) -> tuple[str, str]:
    return f"CREDITED#{invoice_id}", "CREDITED"


def credited(invoice_id: str) -> Doc | None:
    """What the credit notes of an invoice took so far (``{total, lines, count}``), or None."""
    try:
        doc: Doc = InvoiceItem.get(*_credited_key(invoice_id), consistent_read=True).doc
        return doc
    except DoesNotExist:
        return None


def credit_with_next_number(
    invoice: Mapping[str, Any],
    credit_note: Doc,
    credited_before: Doc | None,
    credited_after: Doc,
    counter_name: str,
    make_number: Callable[[int], str],
    *,
    payments_before: Doc | None = None,
    balance_after: Decimal | None = None,
) -> Doc:
    """Store ``credit_note`` of ``invoice`` numbered from ``counter_name`` and what is credited
    of the invoice now, in one transaction with the counter.

    Of the invoice item only its balance due changes (``balance_after``; none left: off the
    overdue index): it must still be issued or paid, what was credited still
    ``credited_before`` and its payments still ``payments_before`` (else
    :class:`CreditedMeanwhile`: read again and recompute). Returns the numbered credit note.
    """
    tally = InvoiceItem(*_credited_key(invoice["id"]), kind="credited", doc=credited_after)
    tally_condition = (
        InvoiceItem.pk.does_not_exist()
        if credited_before is None
        else InvoiceItem.doc == credited_before
    )

    def write(transaction: TransactWrite, note: Doc) -> None:
        transaction.save(_invoice_item(note), condition=InvoiceItem.pk.does_not_exist())
        transaction.save(tally, condition=tally_condition)
        invoice_item = InvoiceItem(f"INVOICE#{invoice['id']}", "INVOICE")
        is_issued = InvoiceItem.status.is_in("issued", "paid")
        if balance_after is None:
            transaction.condition_check(
                InvoiceItem, f"INVOICE#{invoice['id']}", "INVOICE", condition=is_issued
            )
        else:
            actions: list[Any] = [InvoiceItem.balance_due.set(str(balance_after))]
            if balance_after <= 0:
                actions.append(InvoiceItem.open_due.remove())
            transaction.update(invoice_item, actions, condition=is_issued)
        transaction.condition_check(
            InvoiceItem,
            *payments_key(invoice["id"]),
            condition=(
                InvoiceItem.pk.does_not_exist()
                if payments_before is None
                else InvoiceItem.doc == payments_before
            ),
        )

    def explain() -> None:
        status = get_invoice(invoice["id"])["status"]
        if status not in ("issued", "paid"):
            raise Conflict(f"invoice {invoice['id']} is {status} now") from None
        if credited(invoice["id"]) != credited_before or payments(invoice["id"]) != payments_before:
            raise CreditedMeanwhile(
                f"invoice {invoice['id']} was credited meanwhile: try again"
            ) from None

    return _with_next_number(
        credit_note, counter_name, make_number, write, explain, "a credit note"
    )


# --- payments against issued invoices ------------------------------------------------------


class PaidMeanwhile(Conflict):
    """Another payment or credit note of the invoice was stored since the caller read them."""


def payments_key(invoice_id: str) -> tuple[str, str]:
    return f"PAYMENTS#{invoice_id}", "PAYMENTS"


def payments(invoice_id: str) -> Doc | None:
    """The payments recorded against an invoice (``{payments, total, count}``), or None."""
    try:
        doc: Doc = InvoiceItem.get(*payments_key(invoice_id), consistent_read=True).doc
        return doc
    except DoesNotExist:
        return None


def record_payment(
    invoice_before: Mapping[str, Any],
    invoice_after: Doc,
    balance_after: Decimal,
    payments_before: Doc | None,
    payments_after: Doc,
    credited_before: Doc | None,
) -> None:
    """Store the payments of an invoice and the invoice with its new balance due (and status,
    ``paid`` once covered), in one transaction: only while the invoice, its payments and what
    was credited are still what the caller read (else :class:`PaidMeanwhile`)."""
    invoice_id = invoice_before["id"]
    pointer = live_pointer(invoice_before["customer_id"], invoice_before["period"])
    try:
        with TransactWrite(connection=_connection()) as transaction:
            transaction.save(
                InvoiceItem(*payments_key(invoice_id), kind="payments", doc=payments_after),
                condition=(
                    InvoiceItem.pk.does_not_exist()
                    if payments_before is None
                    else InvoiceItem.doc == payments_before
                ),
            )
            transaction.save(
                _invoice_item(invoice_after, balance_after),
                condition=(InvoiceItem.doc == invoice_before) & (InvoiceItem.status == "issued"),
            )
            transaction.condition_check(
                InvoiceItem,
                *_credited_key(invoice_id),
                condition=(
                    InvoiceItem.pk.does_not_exist()
                    if credited_before is None
                    else InvoiceItem.doc == credited_before
                ),
            )
            changed = invoice_after["status"] != invoice_before["status"]
            if changed and pointer is not None and pointer["invoice_id"] == invoice_id:
                transaction.save(
                    InvoiceItem(
                        f"LIVE#{invoice_before['customer_id']}#{invoice_before['period']}",
                        "LIVE",
                        kind="live",
                        doc={**pointer, "status": invoice_after["status"]},
                    )
                )
    except TransactWriteError as error:
        if condition_failed(error):
            raise PaidMeanwhile(f"invoice {invoice_id} changed meanwhile: try again") from None
        raise


DELIVERY_ATTEMPTS = 5


def record_delivery(invoice_id: str, delivery: Doc) -> InvoiceRecord:
    """Set ``delivery`` on an issued document, changing nothing else of it: an update of the
    document as read (a payment written in between makes it read again). Returns the document."""
    for _ in range(DELIVERY_ATTEMPTS):
        doc = get_invoice(invoice_id)
        updated: InvoiceRecord = {**doc, "delivery": delivery}  # type: ignore[typeddict-item]
        try:
            InvoiceItem(f"INVOICE#{invoice_id}", "INVOICE").update(
                actions=[InvoiceItem.doc.set(updated)],
                condition=(InvoiceItem.doc == doc) & (InvoiceItem.status != "draft"),
            )
            return updated
        except UpdateError as error:
            if not condition_failed(error):
                raise
    raise Conflict(f"invoice {invoice_id} kept changing: its delivery was not recorded")


def open_invoices() -> list[tuple[InvoiceRecord, Decimal]]:
    """Every issued invoice with a balance due, and that balance (the sparse ``by_open_due``
    index: one query, however many invoices are settled)."""
    return [
        (item.doc, Decimal(item.balance_due or "0"))
        for item in InvoiceItem.by_open_due.query(LISTING)
    ]


# --- invoice runs ---------------------------------------------------------------------------


def _run_item(doc: Doc) -> InvoiceItem:
    return InvoiceItem(
        f"RUN#{doc['run_id']}",
        "RUN",
        kind="run",
        doc=doc,
        status=doc["status"],
        run_listing="RUN",
        run_period=doc["period"],
        run_sort=f"{doc.get('requested_at') or ''}#{doc['run_id']}",
    )


def create_run(run_id: str, doc: RunRecord) -> bool:
    return create_item(_run_item({**doc, "run_id": run_id}))


def get_run(run_id: str) -> RunRecord:
    try:
        doc: RunRecord = InvoiceItem.get(f"RUN#{run_id}", "RUN", consistent_read=True).doc
        return doc
    except DoesNotExist:
        raise NotFound(f"invoice run {run_id!r} not found") from None


def save_run(doc: Doc) -> None:
    _run_item(doc).save()


def delete_run(run_id: str) -> None:
    """Delete the record of a run that never started (its execution name was taken)."""
    InvoiceItem(f"RUN#{run_id}", "RUN").delete()


def recent_runs(
    period: str | None, after: str | None, limit: int
) -> tuple[list[RunRecord], str | None]:
    """Runs newest first — of one period, or of every period — a page at a time: the page and
    the sort key of its last run when more may follow. One query of a run index."""
    condition = InvoiceItem.run_sort < after if after else None
    if period is None:
        query = InvoiceItem.by_run_recent.query(
            "RUN", range_key_condition=condition, scan_index_forward=False, limit=limit + 1
        )
    else:
        query = InvoiceItem.by_run_period.query(
            period, range_key_condition=condition, scan_index_forward=False, limit=limit + 1
        )
    items = list(itertools.islice(query, limit + 1))
    page = items[:limit]
    last = page[-1].run_sort if len(items) > limit and page else None
    return [item.doc for item in page], last


def record_result(run_id: str, customer_id: str, result: Doc) -> None:
    InvoiceItem(
        f"RUN#{run_id}",
        f"CUSTOMER#{customer_id}",
        kind="run_result",
        doc=result,
        status=result["status"],
    ).save()


def run_results(run_id: str) -> list[RunResult]:
    return [
        item.doc
        for item in InvoiceItem.query(
            f"RUN#{run_id}", InvoiceItem.sk.startswith("CUSTOMER#"), consistent_read=True
        )
    ]


# --- what an invoice run reads and records for a batch of customers at once -----------------


def live_pointers(customer_ids: list[str], period: str) -> dict[str, LivePointer]:
    """The live pointers of ``period`` for many customers, read consistently (batch gets)."""
    keys = [(f"LIVE#{c}#{period}", "LIVE") for c in dict.fromkeys(customer_ids)]
    return {
        item.pk.removeprefix("LIVE#").removesuffix(f"#{period}"): item.doc
        for item in InvoiceItem.batch_get(keys, consistent_read=True)
    }


def get_invoices(invoice_ids: list[str]) -> dict[str, InvoiceRecord]:
    """The invoices of these ids that exist, by id (batch gets, read consistently)."""
    keys = [(f"INVOICE#{i}", "INVOICE") for i in dict.fromkeys(invoice_ids)]
    return {item.doc["id"]: item.doc for item in InvoiceItem.batch_get(keys, consistent_read=True)}


def record_results(run_id: str, results: Sequence[Mapping[str, Any]]) -> None:
    """Record what a run did for many customers (batch writes of ``record_result``'s items)."""
    with InvoiceItem.batch_write() as batch:
        for result in results:
            batch.save(
                InvoiceItem(
                    f"RUN#{run_id}",
                    f"CUSTOMER#{result['customer_id']}",
                    kind="run_result",
                    doc=result,
                    status=result["status"],
                )
            )


def results_of(run_id: str, customer_ids: list[str]) -> dict[str, RunResult]:
    """The results recorded so far for these customers of a run, by customer id."""
    keys = [(f"RUN#{run_id}", f"CUSTOMER#{c}") for c in dict.fromkeys(customer_ids)]
    return {
        item.sk.removeprefix("CUSTOMER#"): item.doc
        for item in InvoiceItem.batch_get(keys, consistent_read=True)
    }

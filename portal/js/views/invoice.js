// One invoice: number, status, lines, pre-purchased credit, discounts, taxes (with the
// reverse-charge note), totals in the invoice's currency, its CSV (a customer's: the customer
// CSV; an operator's: the detailed CSV, and the customer's beside it), its PDF (a draft's with
// a DRAFT mark, for operators) — and, for operators, issue / void (with the credit note it
// creates) / mark paid / credit, each confirmed. A credit note names the invoice it credits by
// number and offers no actions. Payments, the balance due and an overdue badge; operators
// record a payment and (re-)send the email.

import { ApiError, seg } from "../api.js";
import { h } from "../dom.js";
import { saveUrl } from "../download.js";
import { DASH, date, dateTime, money, number, percent, providerName, titleCase } from "../format.js";
import { badge, busy, confirm, dataTable, errorNotice, field, flash, notFound, notice, pageHeader, takeFlash } from "../ui.js";
import { nameOf } from "../vocabulary.js";

function label(invoice) {
  const kind = invoice.kind === "credit_note" ? "Credit note" : "Invoice";
  if (invoice.number) return `${kind} ${invoice.number}`;
  return `Draft ${kind.toLowerCase()}${invoice.draft_number ? ` #${invoice.draft_number}` : ""}`;
}

// A credit, discount or custom item of nothing says nothing: runs no longer write such lines, but
// an invoice stored before may hold one. Subscriptions and usage are printed even at zero.
function printed(line) {
  return Number(line.amount) !== 0 || line.kind === "subscription" || line.kind === "cloud_usage";
}

function amount(value, currency) {
  return h("span", { dataset: { amount: value ?? "" } }, money(value, currency));
}

export async function render(ctx) {
  const id = ctx.params.id;
  let invoice;
  try {
    invoice = await ctx.api.get(`/invoices/${seg(id)}`, undefined, { signal: ctx.signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      ctx.setTitle("Invoice not found");
      ctx.render(...notFound("invoice"));
      return;
    }
    throw error;
  }
  const operator = ctx.auth.role === "operator";
  const related = await relatedDocuments(ctx, invoice);
  ctx.setTitle(label(invoice));
  const messages = h("div", { class: "messages", "aria-live": "polite" }, takeFlash());
  const cur = invoice.currency;

  ctx.render(
    pageHeader(
      label(invoice),
      csvButton(ctx, invoice, messages, "Download CSV"),
      operator ? csvButton(ctx, invoice, messages, "Download customer CSV", "customer") : null,
      pdfButton(ctx, invoice, messages),
      operator ? actions(ctx, invoice, messages, related) : null,
    ),
    messages,
    header(invoice, operator, related),
    linesTable(invoice),
    totals(invoice),
    payments(ctx, invoice, operator, messages),
    summary(invoice),
    operator && invoice.report ? resellerFigures(invoice.report, cur) : null,
    h("p", {}, h("a", { href: operator ? `#/invoices?customer_id=${seg(invoice.customer_id)}` : "#/invoices" },
      operator ? `All invoices of ${invoice.customer_id}` : "All my invoices")),
  );
}

/** The invoice a credit note credits (with its number), or the credit notes of an invoice. */
async function relatedDocuments(ctx, invoice) {
  const credited = invoice.credited_invoice_id ?? invoice.credit_note_for;
  if (invoice.kind === "credit_note" || credited) {
    let number = invoice.credited_invoice_number;
    if (!number && credited) {
      // A credit note stored before credit notes carried the number: read it from the invoice.
      try {
        number = (await ctx.api.get(`/invoices/${seg(credited)}`, undefined, { signal: ctx.signal })).number;
      } catch {
        number = undefined;
      }
    }
    return credited ? [{ id: credited, number, relation: "credits" }] : [];
  }
  if (invoice.status === "draft") return []; // a draft has no credit note
  try {
    const page = await ctx.api.all("/invoices", { customer_id: invoice.customer_id, period: invoice.period }, { signal: ctx.signal, cap: 200 });
    return page.items
      .filter((other) => (other.credited_invoice_id ?? other.credit_note_for) === invoice.id)
      .map((other) => ({ id: other.id, number: other.number, total: other.total, relation: "credit_note" }));
  } catch {
    return [];
  }
}

// Money strings as BigInt ten-thousandths (every currency's minor unit fits): no float sums.
const SCALE = 4;

function units(value) {
  const text = String(value ?? "0");
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = text.replace(/^[-+]/, "").split(".");
  const n = BigInt(whole || "0") * 10n ** BigInt(SCALE) + BigInt((fraction + "0".repeat(SCALE)).slice(0, SCALE) || "0");
  return negative ? -n : n;
}

function decimalText(n, places) {
  const negative = n < 0n;
  const digits = (negative ? -n : n).toString().padStart(SCALE + 1, "0");
  const whole = digits.slice(0, -SCALE);
  const fraction = digits.slice(-SCALE).slice(0, places);
  return `${negative ? "-" : ""}${whole}${places ? `.${fraction}` : ""}`;
}

/** What remains uncredited of an invoice: its total plus its credit notes' (negative) totals. */
function uncredited(invoice, related) {
  const places = (String(invoice.total ?? "").split(".")[1] ?? "").length;
  const left = related.filter((doc) => doc.relation === "credit_note").reduce((sum, doc) => sum + units(doc.total), units(invoice.total));
  return { units: left, text: decimalText(left, places) };
}

function header(invoice, operator, related) {
  const rows = [
    ["Status", badge(invoice.status)],
    ["Customer", operator ? h("a", { href: `#/customers/${seg(invoice.customer_id)}` }, invoice.customer_name || invoice.customer_id) : invoice.customer_name || invoice.customer_id],
    ["Billing period", invoice.period],
    ["Currency", invoice.currency],
    ["Issued", invoice.issued_at ? dateTime(invoice.issued_at) : "not issued"],
    invoice.paid_at ? ["Paid", dateTime(invoice.paid_at)] : null,
    invoice.due_date ? ["Due", [date(invoice.due_date), invoice.overdue ? [" ", badge("overdue", "Overdue")] : null]] : null,
    invoice.voided_at ? ["Voided", dateTime(invoice.voided_at)] : null,
    ...related.map((doc) => [
      doc.relation === "credits" ? "Credit note for" : "Credit note",
      h("a", { href: `#/invoices/${seg(doc.id)}`, dataset: { related: doc.relation } }, doc.number ?? doc.id),
    ]),
  ].filter(Boolean);
  return h("dl", { class: "pairs invoice-header" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function linesTable(invoice) {
  const lines = (invoice.lines ?? []).filter((line) => line.kind !== "tax_note" && printed(line));
  // A tax note (reverse charge) is shown with its tax; a note line repeating it is not.
  const taxNotes = new Set((invoice.taxes ?? []).map((tax) => tax.note).filter(Boolean));
  const notes = (invoice.lines ?? []).filter((line) => line.kind === "tax_note" && !taxNotes.has(line.description));
  return [
    dataTable({
      caption: "Lines",
      columns: [
        { label: "Description", value: (l) => l.description },
        { label: "Kind", value: (l) => [nameOf("line_kinds", l.kind) ?? titleCase(l.kind), l.provider ? ` · ${providerName(l.provider)}` : ""] },
        { label: "Quantity", numeric: true, value: (l) => (l.quantity === null || l.quantity === undefined ? "" : number(l.quantity)) },
        { label: "Amount", numeric: true, value: (l) => amount(l.amount, invoice.currency) },
      ],
      rows: lines,
      empty: "This invoice has no lines.",
      rowAttrs: (l) => ({ dataset: { kind: l.kind, service: l.service ?? "", provider: l.provider ?? "" } }),
    }),
    notes.map((line) => h("p", { class: "notice notice-info tax-note" }, line.description)),
  ];
}

function totals(invoice) {
  const cur = invoice.currency;
  const taxes = invoice.taxes ?? [];
  const row = (heading, value, attrs = {}) => h("tr", attrs, h("th", { scope: "row" }, heading), h("td", { class: "num" }, value));
  return h(
    "div",
    { class: "table-wrap totals" },
    h(
      "table",
      { "aria-label": "Totals" },
      h(
        "tbody",
        {},
        row("Subtotal", amount(invoice.subtotal, cur), { dataset: { total: "subtotal" } }),
        taxes.map((tax) => [
          row(`${tax.name} ${percent(tax.rate)} on ${money(tax.base, cur)}`, amount(tax.amount, cur), { class: "tax", dataset: { tax: tax.name } }),
          tax.note ? h("tr", { class: "tax-note" }, h("td", { colspan: 2 }, h("small", {}, tax.note))) : null,
        ]),
        taxes.length ? null : row("Tax", amount(invoice.tax_total ?? "0", cur)),
        taxes.length > 1 ? row("Tax total", amount(invoice.tax_total, cur)) : null,
        row(`Total (${cur})`, amount(invoice.total, cur), { class: "grand", dataset: { total: "total" } }),
      ),
    ),
  );
}

function summary(invoice) {
  const cur = invoice.currency;
  const items = [
    ["Subscriptions", invoice.subscriptions_total],
    ["Cloud usage", invoice.cloud_usage_total],
    ["Pre-purchased credit applied", invoice.prepurchased_applied],
    ["Overage (usage beyond the credit)", invoice.overage],
    ["Discounts", invoice.discount_total],
  ].filter(([, value]) => value !== undefined && value !== null);
  if (!items.length) return null;
  const rates = (invoice.fx_rates ?? []).map((fx) => h("li", {}, `1 ${fx.from} = ${number(fx.rate)} ${fx.to}`));
  return h("section", { "aria-labelledby": "summary-title" },
    h("h2", { id: "summary-title" }, "Summary"),
    h("dl", { class: "pairs invoice-summary" },
      items.map(([term, value]) => [h("dt", {}, term), h("dd", {}, amount(value, cur))]),
      rates.length ? [h("dt", {}, "Exchange rates"), h("dd", {}, h("ul", { class: "plain" }, rates))] : null));
}

function resellerFigures(report, cur) {
  const items = [
    ["Provider cost", money(report.cost, cur)],
    ["Price", money(report.price, cur)],
    ["Margin", `${money(report.margin, cur)} (${report.margin_percent ? percent(report.margin_percent) : DASH})`],
    ["Savings retained", money(report.savings_retained, cur)],
  ];
  return h("details", { class: "reseller-figures" },
    h("summary", {}, "Reseller figures (not shown to the customer)"),
    h("dl", { class: "pairs" }, items.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])));
}

/** The invoice's CSV: the caller's own by default (operators: detailed), or `view`'s. */
function csvButton(ctx, invoice, messages, text, view) {
  const button = h("button", { type: "button" }, text);
  button.addEventListener("click", () =>
    busy(button, async () => {
      try {
        const query = view ? { redirect: "false", view } : { redirect: "false" };
        const link = await ctx.api.get(`/invoices/${seg(invoice.id)}/csv`, query);
        await saveUrl(link.url, `${invoice.number ?? invoice.id}${view ? `-${view}` : ""}.csv`);
      } catch (error) {
        messages.replaceChildren(errorNotice(error));
      }
    }, "Preparing…"),
  );
  return button;
}

/** The invoice's PDF, the document its customer is sent (a draft's carries a DRAFT mark). */
function pdfButton(ctx, invoice, messages) {
  const button = h("button", { type: "button" }, "Download PDF");
  button.addEventListener("click", () =>
    busy(button, async () => {
      try {
        const link = await ctx.api.get(`/invoices/${seg(invoice.id)}/pdf`, { redirect: "false" });
        await saveUrl(link.url, `${invoice.number ?? `${invoice.id}-draft`}.pdf`);
      } catch (error) {
        messages.replaceChildren(errorNotice(error));
      }
    }, "Preparing…"),
  );
  return button;
}

function actions(ctx, invoice, messages, related) {
  // A credit note is final: it is not issued, paid, voided or credited again.
  if (invoice.kind === "credit_note") return null;
  const buttons = [];
  const name = invoice.number ?? "this draft";
  const total = money(invoice.total, invoice.currency);
  const act = (text, confirmation, request, after) => {
    const button = h("button", { type: "button", class: confirmation.danger ? "danger" : "primary" }, text);
    button.addEventListener("click", async () => {
      const reasonInput = confirmation.reason ? h("textarea", { name: "reason", rows: 2, maxlength: 500 }) : null;
      const amountInput = confirmation.amount ? h("input", { name: "amount", inputmode: "decimal", autocomplete: "off", placeholder: confirmation.amount.placeholder }) : null;
      const ok = await confirm({
        ...confirmation,
        body: [
          confirmation.body,
          amountInput ? field(confirmation.amount.label, amountInput, confirmation.amount.hint) : null,
          reasonInput ? field("Reason (optional)", reasonInput) : null,
        ],
      });
      if (!ok) return;
      try {
        const result = await busy(button, () => request(reasonInput?.value.trim(), amountInput?.value.trim()), "Working…");
        after(result);
        ctx.refresh();
      } catch (error) {
        messages.replaceChildren(errorNotice(error));
      }
    });
    buttons.push(button);
  };
  const path = (action) => `/invoices/${seg(invoice.id)}/${action}`;
  if (invoice.status === "draft") {
    act(
      "Issue invoice…",
      {
        title: `Issue the ${invoice.period} invoice of ${invoice.customer_id}?`,
        body: h("p", {}, `It gets the next invoice number, can no longer change, and the customer sees it in the portal. Total: ${total}.`),
        confirmLabel: "Issue invoice",
      },
      () => ctx.api.post(path("issue"), {}),
      (issued) => flash("ok", h("p", {}, `Issued as ${issued?.number ?? "a numbered invoice"}.`)),
    );
  }
  if (invoice.status === "issued") {
    act(
      "Mark paid…",
      {
        title: `Mark ${name} as paid?`,
        body: h("p", {}, `Records that ${invoice.customer_id} paid ${money(invoice.balance_due ?? invoice.total, invoice.currency)}, the balance due, today (${date(new Date().toISOString())}).`),
        confirmLabel: "Mark paid",
      },
      () => ctx.api.post(path("mark-paid"), {}),
      () => flash("ok", h("p", {}, `${name} is marked paid.`)),
    );
  }
  const notes = related.filter((doc) => doc.relation === "credit_note");
  if (invoice.status === "issued" && !notes.length && !(invoice.payments ?? []).length) {
    // A credited (or partly paid) invoice is not voided: what remains of it is credited instead.
    act(
      "Void…",
      {
        title: `Void ${name}?`,
        body: [
          h("p", {}, `${name} stays on record as void, and a credit note that negates it (${money(negate(invoice.total), invoice.currency)}) is created and issued to ${invoice.customer_id}.`),
          h("p", {}, `The next invoice run for ${invoice.period} can then invoice ${invoice.customer_id} again. This cannot be undone.`),
        ],
        confirmLabel: "Void and create credit note",
        danger: true,
        reason: true,
      },
      (reason) => ctx.api.post(path("void"), reason ? { reason } : {}),
      (result) => {
        const note = result?.credit_note;
        flash("ok", h("p", {}, `${name} is void. `,
          note ? ["Credit note ", h("a", { href: `#/invoices/${seg(note.id)}` }, note.number ?? note.id), ` created for ${money(note.total, note.currency)}.`] : "A credit note was created."));
      },
    );
  }
  const left = uncredited(invoice, related);
  if ((invoice.status === "issued" || invoice.status === "paid") && left.units > 0n) {
    const leftMoney = money(left.text, invoice.currency);
    act(
      "Credit…",
      {
        title: `Credit ${name}?`,
        body: [
          h("p", {}, `A credit note for ${name}, with the next number, is issued to ${invoice.customer_id}. ${name} itself does not change.`),
          h("p", {}, `${leftMoney} of ${total} remains uncredited.`),
        ],
        amount: { label: `Amount to credit, tax included (${invoice.currency})`, hint: `Leave empty to credit all that remains (${leftMoney}).`, placeholder: left.text },
        confirmLabel: "Create credit note",
        danger: true,
        reason: true,
      },
      (reason, amount) => ctx.api.post(path("credit-notes"), { ...(amount ? { amount } : {}), ...(reason ? { reason } : {}) }),
      (note) => flash("ok", h("p", {}, "Credit note ", h("a", { href: `#/invoices/${seg(note.id)}` }, note.number ?? note.id), ` created for ${money(note.total, note.currency)}.`)),
    );
  }
  return buttons.length ? buttons : null;
}

function negate(value) {
  const text = String(value ?? "0");
  return text.startsWith("-") ? text.slice(1) : `-${text}`;
}

/** Payments, balance due and (operators) the record-payment form and the email's delivery. */
function payments(ctx, invoice, operator, messages) {
  if (invoice.balance_due === undefined && !invoice.delivery) return null;
  const cur = invoice.currency;
  const parts = [h("h2", { id: "payments-title" }, "Payments")];
  if (invoice.balance_due !== undefined) {
    parts.push(
      h("dl", { class: "pairs invoice-balance" },
        h("dt", {}, "Amount paid"), h("dd", {}, amount(invoice.amount_paid, cur)),
        h("dt", {}, "Balance due"), h("dd", { dataset: { balance: invoice.balance_due } },
          amount(invoice.balance_due, cur), invoice.overdue ? [" ", badge("overdue", "Overdue")] : null)),
      dataTable({
        caption: "Payments received",
        columns: [
          { label: "Paid", value: (p) => date(p.paid_at) },
          { label: "Reference", value: (p) => p.reference ?? DASH },
          { label: "Amount", numeric: true, value: (p) => amount(p.amount, cur) },
        ],
        rows: invoice.payments ?? [],
        empty: "No payment recorded.",
        rowAttrs: (p) => ({ dataset: { payment: p.id } }),
      }),
    );
  }
  if (operator && invoice.status === "issued" && invoice.kind !== "credit_note") {
    const amountInput = h("input", { name: "amount", required: true, inputmode: "decimal", autocomplete: "off", placeholder: invoice.balance_due });
    const dateInput = h("input", { name: "paid_at", type: "date", value: new Date().toISOString().slice(0, 10) });
    const referenceInput = h("input", { name: "reference", maxlength: 200, autocomplete: "off" });
    const submit = h("button", { type: "submit", class: "primary" }, "Record payment");
    parts.push(h("form", {
      class: "record-payment",
      "aria-label": "Record payment",
      onsubmit: (event) => {
        event.preventDefault();
        const body = { amount: amountInput.value.trim() };
        if (dateInput.value) body.paid_at = dateInput.value;
        if (referenceInput.value.trim()) body.reference = referenceInput.value.trim();
        busy(submit, async () => {
          try {
            const paid = await ctx.api.post(`/invoices/${seg(invoice.id)}/payments`, body);
            flash("ok", h("p", {}, `Payment of ${money(body.amount, cur)} recorded; balance due ${money(paid.balance_due, cur)}.`));
            ctx.refresh();
          } catch (error) {
            messages.replaceChildren(errorNotice(error));
          }
        }, "Recording…");
      },
    },
    field(`Amount (${cur})`, amountInput, `At most the balance due, ${money(invoice.balance_due, cur)}.`),
    field("Paid on", dateInput),
    field("Reference (optional)", referenceInput),
    h("div", { class: "actions" }, submit)));
  }
  if (operator && (invoice.status === "issued" || invoice.status === "paid")) {
    const delivery = invoice.delivery;
    const resend = h("button", { type: "button" }, delivery ? "Re-send email" : "Send email");
    resend.addEventListener("click", () => busy(resend, async () => {
      try {
        const sent = await ctx.api.post(`/invoices/${seg(invoice.id)}/send`, {});
        const ok = sent.delivery?.status === "sent";
        flash(ok ? "ok" : "error", h("p", {}, ok ? `Emailed to ${sent.delivery.to.join(", ")}.` : `Not sent: ${sent.delivery?.reason ?? "unknown reason"}.`));
        ctx.refresh();
      } catch (error) {
        messages.replaceChildren(errorNotice(error));
      }
    }, "Sending…"));
    parts.push(h("p", { class: "delivery", dataset: { delivery: delivery?.status ?? "none" } },
      delivery
        ? [badge(delivery.status === "sent" ? "sent" : "failed", delivery.status === "sent" ? "Emailed" : "Email failed"), " ",
            delivery.status === "sent" ? `to ${(delivery.to ?? []).join(", ")} on ${dateTime(delivery.at)}` : `${delivery.reason} (${dateTime(delivery.at)})`]
        : "Not emailed to the customer.",
      " ", resend));
  }
  return h("section", { "aria-labelledby": "payments-title", class: "invoice-payments" }, parts);
}

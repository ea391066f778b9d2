// The billing report of a period: what each customer cost and what they are billed, the margin,
// the savings the reseller keeps, unassigned accounts (each assignable to a customer right here),
// totals per currency, whether the bill is final, what customers owe today (and how much of it
// is overdue) — and the month-end action, generating the invoices. Without a period in the URL
// it opens on the latest period with bills or invoices.

import { seg } from "../api.js";
import { costPriceChart } from "../chart.js";
import { h } from "../dom.js";
import { saveText } from "../download.js";
import { integer, isPeriod, money, percent, previousPeriod, providerName, titleCase } from "../format.js";
import { href, navigate } from "../router.js";
import { badge, busy, dataTable, errorNotice, flash, notice, pageHeader, periodForm, select, takeFlash } from "../ui.js";
import { codes } from "../vocabulary.js";
import { confirmRun, execute, lastRun, runPanel, runSummary } from "./invoice-run.js";

/** One totals entry per invoice currency, each with the number of customers invoiced in it. */
function totalsOf(report) {
  const totals = Array.isArray(report.totals) ? report.totals : report.totals ? [report.totals] : [];
  const rows = report.rows ?? [];
  return totals.map((total) => ({
    ...total,
    customers: total.customers ?? rows.filter((row) => row.currency === total.currency).length,
  }));
}

/** Per provider: "final", "estimated" (bills in, not final) or absent (no bill received). */
function finality(report, billList) {
  const received = new Set(
    (billList ?? []).filter((bill) => bill.status === "processed").map((bill) => bill.provider).filter(Boolean),
  );
  const state = {};
  for (const provider of codes("providers")) {
    if (report.final?.[provider]) state[provider] = "final";
    else if (received.has(provider)) state[provider] = "estimated";
  }
  return state;
}

function amount(value, currency) {
  return h("span", { dataset: { amount: value ?? "" } }, money(value, currency));
}

export async function render(ctx) {
  const asked = isPeriod(ctx.query.get("period")) ? ctx.query.get("period") : null;
  // Without a period the API answers with the latest period that has bills or invoices.
  const report = await ctx.api.get("/reports/billing", asked ? { period: asked } : {}, { signal: ctx.signal });
  const period = isPeriod(report.period) ? report.period : asked ?? previousPeriod();
  ctx.setTitle(`Billing report ${period}`);
  const [billPage, customers] = await Promise.all([
    ctx.api.get("/bills", { period, limit: 100 }, { signal: ctx.signal }).catch(() => null),
    (report.unassigned ?? []).length
      ? ctx.api.all("/customers", {}, { signal: ctx.signal, cap: 1000 }).then((page) => page.items).catch(() => [])
      : Promise.resolve([]),
  ]);
  const bills = billPage?.items ?? null;
  const billCurrency = bills?.find((bill) => bill.currency)?.currency ?? null;
  const final = finality(report, bills);
  const unfinal = Object.keys(final).filter((p) => final[p] === "estimated");
  const rows = report.rows ?? [];

  const messages = h("div", { class: "messages" }, takeFlash());
  const previous = lastRun(period);
  const runArea = h("div", { class: "run-area" }, previous ? runSummary(previous) : null);

  const exportButton = h("button", { type: "button" }, "Export CSV");
  exportButton.addEventListener("click", () =>
    busy(exportButton, async () => {
      try {
        const csv = await ctx.api.request("GET", "/reports/billing", { query: { period, format: "csv" }, accept: "text/csv" });
        saveText(csv, `billing-report-${period}.csv`);
      } catch (error) {
        messages.replaceChildren(errorNotice(error));
      }
    }),
  );
  const generateButton = h("button", { type: "button", class: "primary" }, "Generate invoices…");
  generateButton.addEventListener("click", async () => {
    const mode = await confirmRun(report, unfinal);
    if (!mode) return;
    const { panel, update } = runPanel(period, mode);
    runArea.replaceChildren(panel);
    generateButton.disabled = true;
    try {
      await execute(ctx.api, period, mode, update);
      ctx.refresh(); // the report now shows the new invoices; the run's summary stays on top
    } catch (error) {
      runArea.replaceChildren(errorNotice(error));
    } finally {
      generateButton.disabled = false;
    }
  });

  ctx.render(
    pageHeader(`Billing report ${period}`, exportButton, generateButton),
    periodForm("/report", period, {}, navigate),
    messages,
    runArea,
    finalityLine(period, final),
    summaryCards(totalsOf(report)),
    unassignedNotice(ctx, report, billCurrency, customers, messages),
    reportTable(rows, totalsOf(report)),
    resellerNote(report, billCurrency),
    reconciliation(report.reconciliation, report.unassigned_check),
    outstandingTable(report.outstanding),
    charts(rows),
    h("p", {}, h("a", { href: href("/invoices", { period }) }, `All invoices of ${period}`), " · ",
      h("a", { href: href("/bills", { period }) }, `Bills of ${period}`), " · ",
      h("a", { href: href("/runs", { period }) }, `Invoice runs of ${period}`)),
  );
}

function finalityLine(period, final) {
  const providers = Object.keys(final);
  if (!providers.length) {
    return notice("warn", h("p", {}, `No bill has been received for ${period} yet: the figures below cover subscriptions only.`));
  }
  return h(
    "p",
    { class: "meta finality", "aria-label": "Bill status" },
    providers.map((provider) =>
      h("span", { dataset: { provider } }, `${providerName(provider)} bill: `,
        final[provider] === "final" ? badge("final", "final") : badge("estimated", "not final yet")),
    ),
  );
}

function summaryCards(totals) {
  return totals.filter((total) => total.customers).map((total) =>
    h(
      "dl",
      { class: "cards", "aria-label": `Totals in ${total.currency}`, dataset: { currency: total.currency } },
      card("Customers", integer(total.customers)),
      card(`Provider cost (${total.currency})`, amount(total.cost, total.currency)),
      card(`Price billed (${total.currency})`, amount(total.price, total.currency)),
      card("Margin", amount(total.margin, total.currency), percent(total.margin_percent)),
      card("Savings retained", amount(total.savings_retained, total.currency)),
    ),
  );
}

function card(label, value, extra) {
  return h("div", { class: "card" }, h("dt", {}, label), h("dd", {}, value, extra ? h("small", {}, ` ${extra}`) : null));
}

function unassignedNotice(ctx, report, currency, customers, messages) {
  const unassigned = report.unassigned ?? [];
  if (!unassigned.length) return null;
  return h(
    "section",
    { class: "notice notice-warn unassigned", role: "region", "aria-labelledby": "unassigned-title" },
    h("h2", { id: "unassigned-title" }, `Unassigned accounts (${unassigned.length})`),
    h("p", {}, "These accounts are in the bill but belong to no customer, so their cost is billed to nobody. Assign each one to a customer, then generate the invoices again."),
    h(
      "ul",
      {},
      unassigned.map((entry) =>
        h("li", { dataset: { account: entry.account_id } }, `${providerName(entry.provider)} account `,
          h("code", {}, entry.account_id), " — billed ", amount(entry.billed_cost ?? entry.cost, entry.currency ?? currency),
          entry.billed_cost !== undefined ? [h("small", { class: "meta" }, " (effective cost "), amount(entry.cost, entry.currency ?? currency), h("small", { class: "meta" }, ")")] : null,
          " ", assignForm(ctx, entry, customers, messages)),
      ),
    ),
  );
}

/** "Assign to customer": link the account to the chosen customer (POST …/accounts), then
 * show the report again. */
function assignForm(ctx, entry, customers, messages) {
  if (!customers.length) {
    return h("a", { href: "#/customers/new" }, "Create a customer to assign it to");
  }
  const choice = select("customer_id", [["", "Choose a customer…"], ...customers.map((c) => [c.id, c.name ? `${c.name} (${c.id})` : c.id])], "", {
    required: true,
    "aria-label": `Customer for account ${entry.account_id}`,
  });
  const button = h("button", { type: "submit" }, "Assign to customer");
  return h(
    "form",
    {
      class: "assign-account inline",
      "aria-label": `Assign account ${entry.account_id}`,
      onsubmit: async (event) => {
        event.preventDefault();
        const customerId = choice.value;
        if (!customerId) return;
        try {
          await busy(button, () => ctx.api.post(`/customers/${seg(customerId)}/accounts`, { provider: entry.provider, account_id: entry.account_id }), "Assigning…");
          flash("ok", h("p", {}, `${providerName(entry.provider)} account ${entry.account_id} assigned to ${customerId}. Generate the invoices again to bill it.`));
          ctx.refresh();
        } catch (error) {
          messages.replaceChildren(errorNotice(error));
        }
      },
    },
    choice,
    button,
  );
}

function resellerNote(report, currency) {
  const accounts = report.reseller_accounts ?? [];
  if (!accounts.length) return null;
  return h(
    "p",
    { class: "meta" },
    "Kept by the reseller (payer accounts: commitment fees, support): ",
    accounts.map((entry, index) => [index ? ", " : "", `${providerName(entry.provider)} `, h("code", {}, entry.account_id), " ", amount(entry.cost, entry.currency ?? currency),
      entry.billed_cost !== undefined ? h("small", { class: "meta" }, ` (billed ${money(entry.billed_cost, entry.currency ?? currency)})`) : null]),
    ".",
  );
}

function reportTable(rows, totals) {
  const columns = [
    { label: "Customer", value: (r) => h("a", { href: `#/customers/${seg(r.customer_id)}` }, r.name ?? r.customer_id) },
    { label: "Provider cost", numeric: true, value: (r) => amount(r.cost, r.currency), data: () => ({ col: "cost" }) },
    { label: "Price", numeric: true, value: (r) => amount(r.price, r.currency), data: () => ({ col: "price" }) },
    { label: "Margin", numeric: true, value: (r) => amount(r.margin, r.currency), data: () => ({ col: "margin" }) },
    { label: "Margin %", numeric: true, value: (r) => percent(r.margin_percent), data: () => ({ col: "margin_percent" }) },
    { label: "Savings retained", numeric: true, value: (r) => amount(r.savings_retained, r.currency), data: () => ({ col: "savings_retained" }) },
    { label: "Subscriptions", numeric: true, value: (r) => amount(r.subscriptions, r.currency), data: () => ({ col: "subscriptions" }) },
    {
      label: "Credit applied",
      numeric: true,
      value: (r) => [amount(r.applied, r.currency), Number(r.credit) ? h("small", { class: "meta" }, ` of ${money(r.credit, r.currency)}`) : null],
      data: () => ({ col: "applied" }),
    },
    { label: "Overage", numeric: true, value: (r) => amount(r.overage, r.currency), data: () => ({ col: "overage" }) },
    {
      label: "Invoice",
      value: (r) =>
        r.invoice
          ? [
              badge(r.invoice.status),
              h("br"),
              h("a", { href: `#/invoices/${seg(r.invoice.id)}`, class: "nowrap" }, r.invoice.number ?? "draft"),
              h("br"),
              amount(r.invoice.total, r.currency),
            ]
          : h("span", { class: "empty" }, "no invoice"),
      data: () => ({ col: "invoice" }),
    },
  ];
  const footer = totals.map((total) =>
    h(
      "tr",
      { dataset: { currency: total.currency } },
      h("th", { scope: "row" }, `Total ${total.currency} (${integer(total.customers)})`),
      ["cost", "price", "margin"].map((key) => h("td", { class: "num", dataset: { col: key } }, amount(total[key], total.currency))),
      h("td", { class: "num", dataset: { col: "margin_percent" } }, percent(total.margin_percent)),
      ["savings_retained", "subscriptions", "applied", "overage"].map((key) =>
        h("td", { class: "num", dataset: { col: key } }, amount(total[key], total.currency))),
      h("td", { dataset: { col: "invoice" } }, total.invoice_total ? [h("small", {}, "invoiced"), h("br"), amount(total.invoice_total, total.currency)] : null),
    ),
  );
  return dataTable({
    caption: "Per customer",
    columns,
    rows,
    footer,
    empty: "No customers yet.",
    rowAttrs: (r) => ({ dataset: { customer: r.customer_id, currency: r.currency ?? "" } }),
  });
}

function charts(rows) {
  const currencies = [...new Set(rows.map((row) => row.currency).filter(Boolean))].sort();
  const withFigures = (currency) => rows.filter((row) => row.currency === currency && (Number(row.cost) || Number(row.price)));
  const figures = currencies.filter((currency) => withFigures(currency).length > 1);
  if (!figures.length) return null;
  return h("section", { "aria-labelledby": "charts-title" }, h("h2", { id: "charts-title" }, "Cost against price"),
    figures.map((currency) => costPriceChart(withFigures(currency).map((row) => ({ ...row, name: row.name ?? row.customer_id })), currency)));
}

/** Where every unit of the bill went, per bill currency (when the API reconciles the period),
 * and why its unassigned figure differs from the list of unassigned accounts, when it does. */
function reconciliation(result, checks) {
  if (!result?.currencies?.length) return null;
  const rows = result.currencies;
  const retainedCell = (c) =>
    Object.entries(c.retained ?? {}).map(([reason, value], index) => [index ? h("br") : null, `${titleCase(reason)}: `, amount(value, c.currency)]);
  const hasPayer = rows.some((c) => c.reseller_accounts !== undefined);
  return h("section", { "aria-labelledby": "reconciliation-title", class: "reconciliation" },
    h("h2", { id: "reconciliation-title" }, "Where the bill went"),
    result.balanced
      ? h("p", { class: "meta" }, "Every cent of the bill is accounted for: billed to a customer, kept by the reseller, or unassigned.")
      : notice("warn", h("p", {}, "The bill does not reconcile: see the difference below.",
          result.unpriced_customers?.length ? ` Not priced: ${result.unpriced_customers.join(", ")}.` : "",
          result.duplicated_lines ? ` ${result.duplicated_lines} line(s) are in more than one bill file: they are counted twice (see Bills).` : "")),
    dataTable({
      caption: "Reconciliation per bill currency (billed cost)",
      columns: [
        { label: "Currency", value: (c) => c.currency },
        { label: "Bill total", numeric: true, value: (c) => amount(c.bill_total, c.currency) },
        { label: "Billed to customers", numeric: true, value: (c) => amount(c.billed, c.currency) },
        { label: "Kept by the reseller", numeric: true, value: retainedCell },
        hasPayer ? { label: "Payer accounts' own lines", numeric: true, value: (c) => amount(c.reseller_accounts, c.currency), data: () => ({ col: "reseller_accounts" }) } : null,
        { label: "Unassigned", numeric: true, value: (c) => amount(c.unassigned, c.currency), data: () => ({ col: "unassigned" }) },
        { label: "Not priced", numeric: true, value: (c) => amount(c.unpriced, c.currency) },
        { label: "Difference", numeric: true, value: (c) => amount(c.difference, c.currency) },
      ].filter(Boolean),
      rows,
      rowAttrs: (c) => ({ dataset: { currency: c.currency } }),
    }),
    unassignedExplanation(result, checks ?? []));
}

const REASONS = {
  owned_part_of_period: (a) => `${a.customer_id ? `owned by ${a.customer_id}` : "owned by a customer"} for part of the period only: the lines of the other days belong to nobody`,
  changed_since_run: () => "changed since the run that reconciled (assigned, or new bills): generate the invoices again to reconcile it",
};

function unassignedExplanation(result, checks) {
  const differing = checks.filter((check) => !check.agrees);
  if (!differing.length) return null;
  return h("div", { class: "unassigned-check", role: "note" },
    differing.map((check) =>
      h("p", { dataset: { currency: check.currency } },
        `Unassigned ${check.currency}: the reconciliation counts `, amount(check.reconciled, check.currency),
        ", the accounts listed above come to ", amount(check.listed, check.currency), ". The difference: ",
        check.accounts.map((a, index) => [
          index ? "; " : "",
          a.account_id ? [h("code", {}, a.account_id), " "] : null,
          amount(a.reconciled, check.currency), a.account_id ? ` in the run, ${money(a.listed, check.currency)} listed now — ` : " — ",
          (REASONS[a.reason] ?? (() => a.reason))(a),
        ]),
        result.computed_at ? ` (reconciled ${result.computed_at.replace("T", " ").slice(0, 16)} UTC).` : "."),
    ));
}

/** What each customer owes today over every period, and how much of it is overdue. */
function outstandingTable(outstanding) {
  if (!outstanding) return null;
  return h("section", { "aria-labelledby": "outstanding-title" },
    h("h2", { id: "outstanding-title" }, "Outstanding"),
    dataTable({
      caption: "Balances due today, every period (issued invoices)",
      columns: [
        { label: "Customer", value: (r) => h("a", { href: href("/invoices", { customer_id: r.customer_id }) }, r.name ?? r.customer_id) },
        { label: "Invoices", numeric: true, value: (r) => integer(r.invoices) },
        { label: "Outstanding", numeric: true, value: (r) => amount(r.outstanding, r.currency) },
        { label: "Overdue", numeric: true, value: (r) => [amount(r.overdue, r.currency), r.overdue_invoices ? [" ", h("a", { href: href("/invoices", { customer_id: r.customer_id, overdue: "true" }) }, badge("overdue", `${integer(r.overdue_invoices)} overdue`))] : null] },
      ],
      rows: outstanding,
      empty: "Nothing is outstanding.",
      rowAttrs: (r) => ({ dataset: { customer: r.customer_id, currency: r.currency } }),
    }));
}

// Invoices: filters by customer, period, status, discount and total, a search by invoice number
// or customer, and a sort by column — all kept in the URL, so a view can be shared. Sorting and
// searching are the API's (GET /invoices?sort=&order=&q=), so they are right across every page.
// Customers see the same screen with their own invoices, and never drafts: the status filter
// offers them none.

import { ApiError, seg } from "../api.js";
import { h } from "../dom.js";
import { date, integer, isPeriod, money } from "../format.js";
import { href, navigate } from "../router.js";
import { badge, dataTable, field, input, notice, pageHeader, select, takeFlash } from "../ui.js";
import { entries } from "../vocabulary.js";

const PAGE_SIZES = [10, 25, 50, 100];
const PAGE_SIZE = 25;
const LOAD_CAP = 1000; // invoices fetched for one view; beyond it the user narrows the filters
const FILTERS = ["customer_id", "period", "status", "has_discount", "min_total", "max_total", "overdue", "q"];
const DISCOUNT = [["", "Any"], ["true", "With a discount"], ["false", "Without a discount"]];
// The columns the API sorts by (its `sort` parameter); without one, the API's own order.
const SORTABLE = new Set(["number", "customer", "period", "total", "status", "issued_at"]);

/** "INV-2026-000042", or "Draft #2" (the customer's second invoice of the period) until issued. */
export function invoiceLabel(invoice) {
  if (invoice.number) return invoice.number;
  const kind = invoice.kind === "credit_note" ? "Credit note draft" : "Draft";
  return invoice.draft_number ? `${kind} #${invoice.draft_number}` : kind;
}

/** The status filter's options: every invoice status, except "draft" for a customer. */
function statusOptions(operator) {
  const statuses = entries("invoice_statuses").filter(([value]) => operator || value !== "draft");
  return [["", "Any status"], ...statuses];
}

function filtersOf(query, operator) {
  const filters = {};
  for (const name of FILTERS) {
    const value = query.get(name);
    if (value) filters[name] = value;
  }
  if (filters.period && !isPeriod(filters.period)) delete filters.period;
  if (filters.overdue !== "true") delete filters.overdue; // the API filters for overdue only
  // Customers have no drafts to filter by (a link made by an operator may still ask).
  if (!operator && filters.status === "draft") delete filters.status;
  return filters;
}

function sortOf(query) {
  const key = query.get("sort");
  if (!SORTABLE.has(key)) return null;
  return { key, dir: query.get("order") === "desc" ? "desc" : "asc" };
}

export async function render(ctx) {
  const operator = ctx.auth.role === "operator";
  const filters = filtersOf(ctx.query, operator);
  const sort = sortOf(ctx.query);
  const page = Math.max(1, Number.parseInt(ctx.query.get("page") || "1", 10) || 1);
  const requestedSize = Number.parseInt(ctx.query.get("size") || "", 10);
  const size = requestedSize >= 1 && requestedSize <= 100 ? requestedSize : PAGE_SIZE;
  ctx.setTitle(operator ? "Invoices" : "My invoices");

  const ordering = sort ? { sort: sort.key, order: sort.dir } : {};
  const sizeParam = size === PAGE_SIZE ? null : size;
  const state = { ...filters, ...ordering, size: sizeParam };
  const [listed, customers] = await Promise.all([
    ctx.api.all("/invoices", { ...filters, ...ordering }, { cap: LOAD_CAP, signal: ctx.signal }).catch((error) => {
      // Too many invoices to sort or search (the API's bound), or a search it refuses: say so.
      if (error instanceof ApiError && error.status === 400 && ["sort", "q"].includes(error.field)) return { error };
      throw error;
    }),
    operator ? ctx.api.all("/customers", {}, { signal: ctx.signal }).then((r) => r.items).catch(() => []) : [],
  ]);
  const items = listed.items ?? [];
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(page, pages);
  const shown = items.slice((current - 1) * size, current * size);

  const onSort = (key) => {
    const dir = sort?.key === key && sort.dir === "asc" ? "desc" : "asc";
    navigate("/invoices", { ...filters, sort: key, order: dir === "desc" ? "desc" : null, size: sizeParam });
  };

  const columns = [
    {
      label: "Invoice",
      key: "number",
      value: (i) => h("a", { href: `#/invoices/${seg(i.id)}` }, invoiceLabel(i)),
    },
    operator ? { label: "Customer", key: "customer", value: (i) => i.customer_name || i.customer_id, data: (i) => ({ customerId: i.customer_id }) } : null,
    { label: "Period", key: "period", value: (i) => i.period },
    { label: "Status", key: "status", value: (i) => [badge(i.status), i.kind === "credit_note" ? " credit note" : ""] },
    { label: "Discount", numeric: true, value: (i) => money(i.discount_total, i.currency) },
    { label: "Tax", numeric: true, value: (i) => money(i.tax_total, i.currency) },
    { label: "Total", key: "total", numeric: true, value: (i) => h("span", { dataset: { amount: i.total } }, money(i.total, i.currency)) },
    { label: "Issued", key: "issued_at", value: (i) => date(i.issued_at) },
  ].filter(Boolean);

  ctx.render(
    pageHeader(operator ? "Invoices" : "My invoices"),
    takeFlash(),
    filterForm(filters, customers, operator, ordering, size),
    listed.error ? notice("warn", h("p", {}, listed.error.message)) : null,
    listed.truncated
      ? notice("warn", h("p", {}, `More than ${integer(LOAD_CAP)} invoices match: only the first ${integer(LOAD_CAP)} are shown. Narrow the filters.`))
      : null,
    summary(items, filters),
    dataTable({
      caption: `${integer(items.length)} ${items.length === 1 ? "invoice" : "invoices"}`,
      columns,
      rows: shown,
      sort: { key: sort?.key ?? null, dir: sort?.dir ?? "asc", onSort },
      empty: Object.keys(filters).length ? "No invoice matches these filters." : "No invoices yet.",
      rowAttrs: (i) => ({ dataset: { invoice: i.id, customer: i.customer_id, status: i.status } }),
    }),
    pager(current, pages, state),
  );
}

function filterForm(filters, customers, operator, ordering, size) {
  // `ordering`: the URL's sort and order, kept when the filters change ({}: the API's order).
  const customerControl = customers.length
    ? select("customer_id", [["", "All customers"], ...customers.map((c) => [c.id, c.name ? `${c.name} (${c.id})` : c.id])], filters.customer_id)
    : input("customer_id", filters.customer_id, { placeholder: "customer id" });
  const search = input("q", filters.q, {
    type: "search",
    placeholder: operator ? "Number or customer" : "Invoice number",
    maxlength: 100,
  });
  const controls = [
    field("Search", search),
    operator ? field("Customer", customerControl) : null,
    field("Billing period", input("period", filters.period, { type: "month" })),
    field("Status", select("status", statusOptions(operator), filters.status)),
    field("Payment", select("overdue", [["", "Any"], ["true", "Overdue"]], filters.overdue)),
    operator ? field("Discount", select("has_discount", DISCOUNT, filters.has_discount)) : null,
    operator ? field("Total at least", input("min_total", filters.min_total, { type: "number", step: "0.01", inputmode: "decimal" })) : null,
    operator ? field("Total at most", input("max_total", filters.max_total, { type: "number", step: "0.01", inputmode: "decimal" })) : null,
    field("Per page", select("size", [...new Set([...PAGE_SIZES, size])].sort((a, b) => a - b), size)),
  ];
  return h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": "Filter invoices",
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(event.target);
        const query = {};
        for (const name of FILTERS) {
          const value = String(data.get(name) ?? "").trim();
          if (value) query[name] = value;
        }
        Object.assign(query, ordering);
        if (Number(data.get("size")) !== PAGE_SIZE) query.size = data.get("size");
        navigate("/invoices", query);
      },
    },
    controls,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Apply filters"),
      h("a", { href: "#/invoices", class: "button" }, "Clear")),
  );
}

/** What the filtered invoices add up to, per currency (never across currencies): issued and paid
 * invoices are "invoiced"; drafts are not, and are shown apart; void ones and credit notes in
 * neither. */
function summary(items, filters) {
  const invoices = items.filter((i) => i.kind !== "credit_note");
  const invoiced = invoices.filter((i) => i.status === "issued" || i.status === "paid");
  const drafts = invoices.filter((i) => i.status === "draft");
  if (!invoiced.length && !drafts.length) return null;
  const sums = (list) => {
    const byCurrency = new Map();
    for (const invoice of list) byCurrency.set(invoice.currency, (byCurrency.get(invoice.currency) ?? 0n) + toMinor(invoice.total));
    return [...byCurrency.entries()].sort().map(([currency, minor]) => money(fromMinor(minor), currency)).join(" · ");
  };
  return h(
    "p",
    { class: "meta list-summary" },
    invoiced.length
      ? h("span", { dataset: { summary: "invoiced" } }, `Invoiced${filters.period ? ` for ${filters.period}` : ""} (issued or paid): `, sums(invoiced))
      : null,
    drafts.length
      ? h("span", { dataset: { summary: "drafts" } }, `${integer(drafts.length)} ${drafts.length === 1 ? "draft" : "drafts"} (not invoiced): `, sums(drafts))
      : null,
  );
}

// Sums in exact integer minor units (4 decimals), so totals never pick up float noise.
function toMinor(value) {
  const [whole, fraction = ""] = String(value ?? "0").replace("-", "").split(".");
  const minor = BigInt(whole || "0") * 10000n + BigInt((fraction + "0000").slice(0, 4));
  return String(value ?? "").startsWith("-") ? -minor : minor;
}

function fromMinor(minor) {
  const sign = minor < 0n ? "-" : "";
  const abs = minor < 0n ? -minor : minor;
  return `${sign}${abs / 10000n}.${String(abs % 10000n).padStart(4, "0")}`;
}

function pager(current, pages, state) {
  if (pages <= 1) return null;
  const link = (page, label, rel) =>
    page >= 1 && page <= pages && page !== current
      ? h("a", { href: href("/invoices", { ...state, page }), rel, class: "button" }, label)
      : h("span", { class: "button", "aria-disabled": "true" }, label);
  return h("nav", { class: "pager", "aria-label": "Pages" },
    link(current - 1, "Previous page", "prev"),
    h("span", { "aria-current": "page" }, `Page ${current} of ${pages}`),
    link(current + 1, "Next page", "next"));
}

// Bills: first the files of every month that need attention (failed, refused, still waiting),
// then the files the clouds delivered for a period — status, format, rows, totals, final flag,
// errors — and an upload straight from the browser into the bills prefix; one file in full.

import { seg } from "../api.js";
import { h } from "../dom.js";
import { dateTime, integer, isPeriod, money, previousPeriod, providerName } from "../format.js";
import { href, navigate } from "../router.js";
import { badge, busy, dataTable, errorNotice, field, flash, input, notice, pageHeader, periodForm, takeFlash } from "../ui.js";
import { codes, nameOf } from "../vocabulary.js";

const POLL_MS = 1000;
const POLL_LIMIT = 15;
// What needs the operator (config.json's bill_attention_statuses): files that were not taken in,
// and files still waiting to be (a delivery's parts wait for the rest). Newest first, every month.
const ATTENTION_LIMIT = 50;

/** The period a cloud's path names (AWS: .../20261001-20261101/...), if any. */
function currentPeriod() {
  return new Date().toISOString().slice(0, 7);
}

function periodOfPath(filename) {
  const found = /(20\d{2})(0[1-9]|1[0-2])01-\d{8}/.exec(filename);
  return found ? `${found[1]}-${found[2]}` : null;
}

export async function render(ctx) {
  const period = isPeriod(ctx.query.get("period")) ? ctx.query.get("period") : previousPeriod();
  ctx.setTitle(`Bills ${period}`);
  const [result, attention] = await Promise.all([
    ctx.api.all("/bills", { period }, { signal: ctx.signal, cap: 1000 }),
    needingAttention(ctx.api, ctx.signal),
  ]);
  const highlight = ctx.query.get("key");
  const messages = h("div", { class: "messages", "aria-live": "polite" }, takeFlash());
  ctx.render(
    pageHeader(`Bills ${period}`),
    attentionSection(attention, highlight),
    periodForm("/bills", period, {}, navigate),
    messages,
    billsTable(result.items, highlight),
    uploadForm(ctx, period, messages),
  );
}

/** Failed, refused and waiting files of every month, newest first (GET /bills?status=). */
async function needingAttention(api, signal) {
  const pages = await Promise.all(codes("bill_attention_statuses").map((status) => api.get("/bills", { status, limit: ATTENTION_LIMIT }, { signal })));
  const bills = pages.flatMap((page) => page.items);
  bills.sort((a, b) => String(b.received_at ?? "").localeCompare(String(a.received_at ?? "")) || String(b.id).localeCompare(String(a.id)));
  return { bills, more: pages.some((page) => page.next_cursor) };
}

/** The month a file is listed under: the periods it covers, or (none could be read) the month
 * it arrived in. */
function filedUnder(bill) {
  const periods = bill.periods ?? [];
  if (periods.length) return { periods, byArrival: false };
  return { periods: bill.received_at ? [bill.received_at.slice(0, 7)] : [], byArrival: true };
}

function attentionSection({ bills, more }, highlight) {
  if (!bills.length) return null;
  return h(
    "section",
    { class: "attention", role: "region", "aria-labelledby": "attention-title" },
    h("h2", { id: "attention-title" }, `Needs attention (${integer(bills.length)}${more ? "+" : ""})`),
    h("p", { class: "meta" }, "Files of every month that were not taken in, or are still waiting, newest first."),
    dataTable({
      caption: "Failed, refused and waiting bill files",
      columns: [
        { label: "File", value: (b) => h("a", { href: `#/bills/${seg(b.id)}`, class: "mono break" }, b.key), className: "file" },
        { label: "Status", value: (b) => badge(b.status, nameOf("bill_attention_statuses", b.status)) },
        { label: "Received", value: (b) => dateTime(b.received_at) },
        { label: "Filed under", value: (b) => filedUnderCell(b), data: () => ({ col: "filed-under" }) },
        { label: "Error", value: (b) => (b.status === "processing" ? waitingText(b) : errorText(b.error)), className: "error" },
      ],
      rows: bills,
      // data-attention-key, not data-key: the period's table below may list the same file.
      rowAttrs: (b) => ({ dataset: { attentionKey: b.key, status: b.status, bill: b.id }, class: b.key === highlight ? "highlight" : null }),
    }),
    more ? h("p", { class: "meta" }, `Only the latest ${ATTENTION_LIMIT} of each status are shown.`) : null,
  );
}

function filedUnderCell(bill) {
  const { periods, byArrival } = filedUnder(bill);
  return [
    periods.map((p, index) => [index ? ", " : "", h("a", { href: href("/bills", { period: p }) }, p)]),
    byArrival ? h("small", { class: "meta filed-by-arrival" }, " (the month it arrived: its period could not be read)") : null,
  ];
}

function waitingText(bill) {
  return h("span", { class: "meta" }, bill.delivery_id ? "Waiting for the rest of its delivery." : "Being taken in.");
}

function billsTable(bills, highlight) {
  return dataTable({
    caption: `${integer(bills.length)} bill ${bills.length === 1 ? "file" : "files"}`,
    columns: [
      { label: "File", value: (b) => h("a", { href: `#/bills/${seg(b.id)}`, class: "mono break" }, b.key), className: "file" },
      { label: "Status", value: (b) => badge(b.status) },
      { label: "Format", value: (b) => [b.format ?? "—", b.provider ? h("small", { class: "meta" }, ` ${providerName(b.provider)}`) : null] },
      { label: "Periods", value: (b) => (b.periods ?? []).join(", ") || "—" },
      { label: "Rows", numeric: true, value: (b) => integer(b.rows) },
      {
        label: "Billed cost",
        numeric: true,
        value: (b) => money(b.totals?.billed_cost, b.currency),
      },
      { label: "Effective cost", numeric: true, value: (b) => money(b.totals?.effective_cost, b.currency) },
      { label: "List cost", numeric: true, value: (b) => money(b.totals?.list_cost, b.currency) },
      { label: "Final", value: (b) => (b.final ? badge("final", "final") : b.status === "processed" ? "not final" : "—") },
      { label: "Received", value: (b) => dateTime(b.received_at) },
      { label: "Error", value: (b) => errorText(b.error), className: "error" },
    ],
    rows: bills,
    empty: "No bill file has arrived for this period.",
    rowAttrs: (b) => ({ dataset: { key: b.key, status: b.status }, class: b.key === highlight ? "highlight" : null }),
  });
}

function errorText(error) {
  if (!error) return "";
  const where = [error.file, error.line ? `line ${error.line}` : null, error.column ? `column ${error.column}` : null].filter(Boolean).join(", ");
  return h("span", { class: "bill-error" }, error.message, where ? h("small", {}, ` (${where})`) : null);
}

function uploadForm(ctx, period, messages) {
  const file = h("input", { type: "file", name: "file", required: true, accept: ".csv,.gz,.zip,.parquet,.json,.jsonl,.ndjson" });
  const path = input("filename", "", { placeholder: "cur/report/20261001-20261101/report-00001.csv.gz", spellcheck: "false" });
  const button = h("button", { type: "submit", class: "primary" }, "Upload bill file");
  const status = h("p", { role: "status", "aria-live": "polite", class: "upload-status" });
  file.addEventListener("change", () => {
    if (!path.value && file.files[0]) path.placeholder = file.files[0].name;
  });
  const form = h(
    "form",
    {
      class: "form-grid",
      "aria-labelledby": "upload-title",
      onsubmit: async (event) => {
        event.preventDefault();
        const chosen = file.files[0];
        if (!chosen) return;
        const filename = path.value.trim().replace(/^\/+/, "") || chosen.name;
        messages.replaceChildren();
        try {
          const key = await busy(button, () => upload(ctx.api, chosen, filename, status), "Uploading…");
          // A bill is listed under the period it covers, or (when it has none, e.g. it failed) the
          // month it arrived in.
          const candidates = [...new Set([periodOfPath(filename), period, currentPeriod()].filter(Boolean))];
          const bill = await waitForBill(ctx.api, key, candidates, status);
          const kind = !bill ? "info" : bill.status === "failed" || bill.status === "refused" ? "error" : bill.status === "duplicate" ? "info" : "ok";
          const text = !bill
            ? `Uploaded as ${key}. It is processed in the background and listed under its billing period.`
            : bill.status === "failed"
              ? `Uploaded as ${key}, but it could not be processed: ${bill.error?.message ?? "unknown error"}.`
              : bill.status === "duplicate" || bill.status === "refused"
                ? `Uploaded as ${key}, but it is not counted: ${bill.error?.message ?? bill.status}.`
                : `Uploaded as ${key}: ${bill.status}${bill.rows !== undefined ? `, ${integer(bill.rows)} rows` : ""}.`;
          flash(kind, h("p", {}, text));
          navigate("/bills", { period: bill?.periods?.[0] ?? bill?.listedUnder ?? period, key });
        } catch (error) {
          status.textContent = "";
          messages.replaceChildren(errorNotice(error));
        }
      },
    },
    h("h2", { id: "upload-title", class: "wide" }, "Upload a bill file"),
    field("Bill file", file, "AWS CUR (CSV, .csv.gz, .zip, manifest), CUR 2.0, FOCUS, Google Cloud or Azure exports."),
    field("Path under bills/", path, "As the cloud writes it (report/period/assembly/…); the file name if empty."),
    h("div", { class: "form-actions" }, button),
    h("div", { class: "wide" }, status),
  );
  return form;
}

async function upload(api, file, filename, status) {
  status.textContent = `Uploading ${file.name} (${integer(Math.ceil(file.size / 1024))} KB)…`;
  const target = await api.post("/bills/upload-url", { filename });
  let response;
  try {
    response = await fetch(target.upload_url, { method: "PUT", body: file });
  } catch {
    throw new Error("The upload to the bill bucket failed: the bucket cannot be reached.");
  }
  if (!response.ok) throw new Error(`The bill bucket refused the upload (HTTP ${response.status}).`);
  status.textContent = `Uploaded as ${target.key}; waiting for Rebill to process it…`;
  return target.key;
}

/** The bill's record once it has left "processing" (or null when it does not show up). */
async function waitForBill(api, key, periods, status) {
  for (let attempt = 0; attempt < POLL_LIMIT; attempt += 1) {
    for (const period of periods) {
      const page = await api.all("/bills", { period }, { cap: 1000 });
      const bill = page.items.find((b) => b.key === key);
      if (bill && bill.status !== "processing") {
        status.textContent = "";
        return { ...bill, listedUnder: period };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  status.textContent = "";
  return null;
}

/** One bill file: what became of it, its delivery with every part's outcome, and the file it
 * repeats or collided with (GET /bills/{id}). */
export async function renderBill(ctx) {
  const bill = await ctx.api.get(`/bills/${seg(ctx.params.id)}`, {}, { signal: ctx.signal });
  ctx.setTitle(`Bill ${bill.key}`);
  const { periods, byArrival } = filedUnder(bill);
  const other = bill.duplicate_of_bill ?? bill.collided_with_bill;
  ctx.render(
    pageHeader("Bill file"),
    h("p", { class: "mono break" }, bill.key),
    bill.error && bill.status !== "processed" && bill.status !== "processing"
      ? notice(bill.status === "failed" || bill.status === "refused" ? "error" : "info", h("p", {}, errorText(bill.error)))
      : null,
    h("dl", { class: "pairs bill-facts" },
      pair("Status", badge(bill.status, nameOf("bill_attention_statuses", bill.status))),
      pair("Format", [bill.format ?? "—", bill.provider ? ` (${providerName(bill.provider)})` : ""]),
      pair("Received", dateTime(bill.received_at)),
      pair("Filed under", [periods.map((p, i) => [i ? ", " : "", h("a", { href: href("/bills", { period: p }) }, p)]),
        byArrival ? " — the month it arrived: its period could not be read" : ""]),
      pair("Counts in", (bill.current_in ?? []).length ? bill.current_in.join(", ") : "no period (not current)"),
      pair("Rows", integer(bill.rows)),
      pair("Billed cost", money(bill.totals?.billed_cost, bill.currency)),
      pair("Final", bill.final ? "yes" : "no"),
      bill.quarantine_key ? pair("Moved to", h("span", { class: "mono break" }, bill.quarantine_key)) : null,
      bill.content_sha256 ? pair("SHA-256", h("span", { class: "mono break" }, bill.content_sha256)) : null,
    ),
    other ? otherFile(bill, other) : null,
    bill.delivery ? deliverySection(bill.delivery) : null,
    h("p", {}, periods.map((p, i) => [i ? " · " : "", h("a", { href: href("/bills", { period: p }) }, `Bills of ${p}`)])),
  );
}

function pair(term, value) {
  return [h("dt", {}, term), h("dd", {}, value)];
}

function otherFile(bill, other) {
  const label = bill.duplicate_of_bill ? "Duplicate of" : "Collided with";
  return h("section", { "aria-labelledby": "other-title", class: "bill-other" },
    h("h2", { id: "other-title" }, label),
    h("p", {}, h("a", { href: `#/bills/${seg(other.id)}`, class: "mono break" }, other.key), " ", badge(other.status),
      other.received_at ? h("small", { class: "meta" }, ` received ${dateTime(other.received_at)}`) : null));
}

function deliverySection(delivery) {
  return h("section", { "aria-labelledby": "delivery-title", class: "bill-delivery" },
    h("h2", { id: "delivery-title" }, "Delivery"),
    h("dl", { class: "pairs" },
      pair("Report", delivery.report ?? "—"),
      pair("Manifest", h("span", { class: "mono break" }, delivery.manifest_key ?? "—")),
      pair("Status", badge(delivery.status ?? "unknown")),
      pair("Delivered", dateTime(delivery.delivered_at)),
      pair("Parts", `${integer((delivery.parts ?? []).length)} of ${integer(delivery.expected_parts)}`),
    ),
    dataTable({
      caption: "Parts and what became of each",
      columns: [
        { label: "Part", value: (p) => (p.bill_id ? h("a", { href: `#/bills/${seg(p.bill_id)}`, class: "mono break" }, p.part_key) : h("span", { class: "mono break" }, p.part_key)) },
        { label: "Outcome", value: (p) => badge(p.status) },
        { label: "Error", value: (p) => errorText(p.error), className: "error" },
      ],
      rows: delivery.parts ?? [],
      empty: "No part has arrived yet.",
      rowAttrs: (p) => ({ dataset: { part: p.part_key, status: p.status } }),
    }));
}

// Bills: the files the clouds delivered for a period — status, format, rows, totals, final
// flag, errors — and an upload straight from the browser into the bills prefix.

import { h } from "../dom.js";
import { dateTime, integer, isPeriod, money, previousPeriod, providerName } from "../format.js";
import { navigate } from "../router.js";
import { badge, busy, dataTable, errorNotice, field, flash, input, pageHeader, periodForm, takeFlash } from "../ui.js";

const POLL_MS = 1000;
const POLL_LIMIT = 15;

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
  const result = await ctx.api.all("/bills", { period }, { signal: ctx.signal, cap: 1000 });
  const highlight = ctx.query.get("key");
  const messages = h("div", { class: "messages", "aria-live": "polite" }, takeFlash());
  ctx.render(
    pageHeader(`Bills ${period}`),
    periodForm("/bills", period, {}, navigate),
    messages,
    billsTable(result.items, highlight),
    uploadForm(ctx, period, messages),
  );
}

function billsTable(bills, highlight) {
  return dataTable({
    caption: `${integer(bills.length)} bill ${bills.length === 1 ? "file" : "files"}`,
    columns: [
      { label: "File", value: (b) => h("span", { class: "mono break" }, b.key), className: "file" },
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

// "Generate invoices": say exactly what a run will do, start it, show its progress and result.

import { seg } from "../api.js";
import { h, replace } from "../dom.js";
import { integer, providerName } from "../format.js";
import { badge, dataTable, notice } from "../ui.js";
import { fxRateLink } from "../fxlink.js";

const POLL_MS = 1000;
const lastRuns = new Map(); // period → the last run's final state, shown above the report

export function lastRun(period) {
  return lastRuns.get(period) ?? null;
}

/** What a run in each mode does to this period's customers, from the report's rows. */
export function plan(report) {
  const rows = report.rows ?? [];
  const count = (status) => rows.filter((row) => row.invoice?.status === status).length;
  const kept = count("issued") + count("paid");
  return { customers: rows.length, kept, drafts: count("draft"), fresh: rows.length - kept - count("draft") };
}

function explanation(mode, period, counts, unfinal) {
  const n = (value, one, many) => `${integer(value)} ${value === 1 ? one : many}`;
  const items =
    mode === "issue"
      ? [
          `Prices the ${period} usage of ${n(counts.customers, "customer", "customers")} and composes each invoice: subscriptions, pre-purchased credit, cloud charges, discounts and tax.`,
          `Issues them at once: each gets the next invoice number, becomes final and is visible to the customer.`,
          counts.drafts ? `${n(counts.drafts, "draft is", "drafts are")} replaced by the new invoice and issued.` : null,
          counts.kept ? `${n(counts.kept, "invoice already issued is", "invoices already issued are")} left unchanged.` : null,
        ]
      : [
          `Prices the ${period} usage of ${n(counts.customers, "customer", "customers")} and composes each invoice.`,
          `Saves them as drafts for review: nothing is numbered, issued or shown to customers.`,
          counts.drafts ? `${n(counts.drafts, "existing draft is", "existing drafts are")} replaced.` : null,
          counts.kept ? `${n(counts.kept, "invoice already issued is", "invoices already issued are")} left unchanged.` : null,
        ];
  const nothing = counts.customers > 0 && counts.kept === counts.customers;
  return [
    nothing
      ? notice("info", h("p", { class: "nothing-to-do" }, `Nothing would change: every invoice of ${period} is issued already (${n(counts.kept, "invoice", "invoices")}). To change one, void it or credit it from its page.`))
      : null,
    h("ul", { class: "run-explanation" }, items.filter(Boolean).map((text) => h("li", {}, text))),
    unfinal.length
      ? notice(
          "warn",
          h("p", {}, `Not final yet: the ${unfinal.map(providerName).join(", ")} bill for ${period} may still change.`,
            mode === "issue" ? " Issued invoices will not pick up later changes." : ""),
        )
      : null,
  ];
}

/**
 * The confirmation dialog. Resolves the chosen mode ("issue" | "draft"), or null when cancelled.
 * `unfinal`: providers whose bill for the period is in but not final.
 */
export function confirmRun(report, unfinal) {
  const counts = plan(report);
  const period = report.period;
  return new Promise((resolve) => {
    const details = h("div", { class: "details", "aria-live": "polite" });
    const confirmButton = h("button", { type: "submit", value: "confirm", class: "primary" });
    const cancel = h("button", { type: "button" }, "Cancel");
    const radio = (mode, label, hint) =>
      h("label", { class: "check" }, h("input", { type: "radio", name: "mode", value: mode, checked: mode === "issue" }), h("span", {}, h("strong", {}, label), ` — ${hint}`));
    const form = h(
      "form",
      { method: "dialog" },
      h("h2", { id: "run-title" }, `Generate invoices for ${period}`),
      h("fieldset", {}, h("legend", {}, "What to do"),
        radio("issue", "Issue invoices", "final invoices with numbers"),
        radio("draft", "Drafts for review", "nothing is issued")),
      details,
      h("div", { class: "actions" }, cancel, confirmButton),
    );
    const update = () => {
      const mode = form.elements.mode.value;
      replace(details, explanation(mode, period, counts, unfinal));
      confirmButton.textContent = mode === "issue" ? `Issue invoices for ${period}` : `Create drafts for ${period}`;
    };
    form.addEventListener("change", update);
    update();
    const dialog = h("dialog", { "aria-labelledby": "run-title", class: "run-dialog" }, form);
    cancel.addEventListener("click", () => dialog.close("cancel"));
    dialog.addEventListener("close", () => {
      const mode = form.elements.mode.value;
      dialog.remove();
      resolve(dialog.returnValue === "confirm" ? mode : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    confirmButton.focus();
  });
}

/** A run's counts, from the API's `progress` (or the older `counts`). */
function progressOf(run) {
  const p = run.progress ?? run.counts ?? {};
  const done = p.done ?? (p.saved ?? 0) + (p.unchanged ?? 0) + (p.failed ?? 0);
  return { customers: p.customers ?? null, done, saved: p.saved ?? 0, unchanged: p.unchanged ?? 0, failed: p.failed ?? 0, notRun: p.not_run ?? 0 };
}

/** The panel a run draws into while it executes; `update(run)` redraws it. */
export function runPanel(period, mode) {
  const bar = h("progress", { max: 1, value: 0, "aria-label": "Invoice run progress" });
  const text = h("p", { class: "run-status", role: "status", "aria-live": "polite" }, "Starting the invoice run…");
  const body = h("div", {});
  const panel = h("section", { class: "run-panel", "aria-labelledby": "run-panel-title" },
    h("h2", { id: "run-panel-title" }, `Invoice run ${period} (${mode === "issue" ? "issue" : "drafts"})`), bar, text, body);
  const update = (run) => {
    const p = progressOf(run);
    if (p.customers) {
      bar.max = p.customers;
      bar.value = Math.min(p.done, p.customers);
    }
    if (run.status === "running") {
      text.textContent = p.customers ? `Running: ${p.done} of ${p.customers} customers done…` : "Running…";
      return;
    }
    bar.max = 1;
    bar.value = 1;
    replace(panel, runSummary(run));
  };
  return { panel, update };
}

/** The result of a finished run: status, counts and every customer that failed. */
export function runSummary(run) {
  const p = progressOf(run);
  const kind = run.status === "succeeded" ? "ok" : run.status === "partial" ? "warn" : "error";
  const errors = run.errors ?? [];
  const verb = run.mode === "draft" ? "saved as drafts" : "issued";
  // Every customer unchanged: the run found nothing to do (their invoices are issued already).
  const nothing = run.status === "succeeded" && p.done > 0 && p.unchanged === p.done && !p.saved && !p.failed;
  return [
    h("h2", { id: "run-panel-title" }, `Invoice run ${run.period ?? ""}`),
    nothing
      ? notice("info", h("p", { class: "nothing-changed" }, h("strong", {}, "Nothing changed. "),
          `Every invoice of ${run.period ?? "the period"} was issued already, so the run left all ${integer(p.unchanged)} as they were. To change an issued invoice, void it or credit it from its page.`))
      : null,
    notice(
      kind,
      h("p", {}, h("strong", {}, "Run ", badge(run.status), ". "),
        p.customers !== null ? `${integer(p.customers)} customers: ` : "",
        `${integer(p.saved)} ${verb}, ${integer(p.unchanged)} unchanged, ${integer(p.failed)} failed`,
        p.notRun ? `, ${integer(p.notRun)} not run` : "", "."),
      h("p", { class: "mono" }, h("a", { href: `#/runs/${seg(run.run_id)}` }, `Run ${run.run_id}`)),
    ),
    errors.length
      ? dataTable({
          caption: `Failures (${errors.length})`,
          columns: [
            { label: "Customer", value: (e) => h("a", { href: `#/customers/${seg(e.customer_id)}` }, e.customer_id) },
            { label: "Error", value: (e) => e.type ?? "error" },
            { label: "Message", value: (e) => [e.message, e.type === "MissingFxRate" ? [" ", fxRateLink(e.message)] : null] },
          ],
          rows: errors,
          rowAttrs: (e) => ({ dataset: { customer: e.customer_id } }),
        })
      : null,
  ];
}

/** Start a run and follow it to the end; `onUpdate(run)` on every poll. */
export async function execute(api, period, mode, onUpdate) {
  const accepted = await api.post("/invoice-runs", { period, mode });
  let run = { run_id: accepted.run_id, status: accepted.status ?? "running", period, mode };
  onUpdate(run);
  while (run.status === "running") {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    run = { period, mode, ...(await api.get(`/invoice-runs/${seg(accepted.run_id)}`)) };
    onUpdate(run);
  }
  lastRuns.set(period, run);
  return run;
}

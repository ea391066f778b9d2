// Invoice runs: the history of every run, newest first — of one period or of every period —
// with who started it, what it did and whether the bills reconciled; and one run in full.

import { seg } from "../api.js";
import { h } from "../dom.js";
import { dateTime, integer, isPeriod, money } from "../format.js";
import { href, navigate } from "../router.js";
import { badge, busy, dataTable, errorNotice, pageHeader, periodForm } from "../ui.js";
import { runSummary } from "./invoice-run.js";

const PAGE_SIZE = 50;

export async function render(ctx) {
  const period = isPeriod(ctx.query.get("period")) ? ctx.query.get("period") : null;
  const title = period ? `Invoice runs ${period}` : "Invoice runs";
  ctx.setTitle(title);
  const query = period ? { period, limit: PAGE_SIZE } : { limit: PAGE_SIZE };
  const first = await ctx.api.get("/invoice-runs", query, { signal: ctx.signal });
  const runs = [...first.items];
  const tableArea = h("div", {}, runsTable(runs, period));
  const messages = h("div", { class: "messages", "aria-live": "polite" });
  let cursor = first.next_cursor;
  const more = h("button", { type: "button", hidden: !cursor }, "Older runs");
  more.addEventListener("click", () =>
    busy(more, async () => {
      try {
        const page = await ctx.api.get("/invoice-runs", { ...query, cursor });
        runs.push(...page.items);
        cursor = page.next_cursor;
        more.hidden = !cursor;
        tableArea.replaceChildren(runsTable(runs, period));
      } catch (error) {
        messages.replaceChildren(errorNotice(error));
      }
    }),
  );
  ctx.render(
    pageHeader(title),
    periodForm("/runs", period, {}, navigate, {
      optional: true,
      hint: "Empty: the latest runs of every period.",
    }),
    messages,
    tableArea,
    h("p", {}, more),
    period
      ? h("p", {}, h("a", { href: href("/report", { period }) }, `Billing report ${period}`), " · ",
          h("a", { href: href("/runs") }, "Runs of every period"))
      : null,
  );
}

function runsTable(runs, period) {
  return dataTable({
    caption: period ? `Runs of ${period}, newest first` : "Latest runs of every period, newest first",
    columns: [
      { label: "Run", value: (r) => h("a", { href: `#/runs/${seg(r.run_id)}`, class: "mono" }, r.run_id) },
      { label: "Period", value: (r) => h("a", { href: href("/runs", { period: r.period }) }, r.period) },
      { label: "Mode", value: (r) => (r.mode === "draft" ? "Drafts" : r.mode === "issue" ? "Issue" : r.mode ?? "—") },
      { label: "Status", value: (r) => badge(r.status) },
      { label: "Started", value: (r) => dateTime(r.started_at ?? r.requested_at) },
      { label: "Finished", value: (r) => dateTime(r.finished_at) },
      { label: "Started by", value: (r) => startedBy(r.started_by) },
      { label: "Customers", value: (r) => countsText(r), data: () => ({ col: "counts" }) },
      { label: "Reconciliation", value: (r) => reconciliationText(r.reconciliation), data: () => ({ col: "reconciliation" }) },
    ],
    rows: runs,
    empty: period ? `No invoice run for ${period} yet: generate the invoices from the billing report.` : "No invoice run yet.",
    rowAttrs: (r) => ({ dataset: { run: r.run_id, status: r.status, period: r.period } }),
  });
}

function startedBy(who) {
  if (!who) return h("span", { class: "meta" }, "not recorded");
  return [who.name || who.subject, who.name && who.subject ? h("small", { class: "meta" }, ` ${who.subject}`) : null];
}

function countsText(run) {
  const c = run.counts ?? {};
  if (run.status === "running") return c.customers ? `running, ${integer(c.customers)} customers` : "running";
  if (c.customers === null || c.customers === undefined) return "—";
  const parts = [`${integer(c.saved ?? 0)} saved`, `${integer(c.unchanged ?? 0)} unchanged`];
  if (c.failed) parts.push(`${integer(c.failed)} failed`);
  return `${integer(c.customers)}: ${parts.join(", ")}`;
}

function reconciliationText(result) {
  if (!result) return "—";
  if (result.balanced === true) return badge("succeeded", "balanced");
  if (result.balanced === null || result.balanced === undefined) {
    return [badge("failed", "not checked"), result.error ? h("small", { class: "meta" }, ` ${result.error}`) : null];
  }
  const gaps = (result.differences ?? []).map((d) => money(d.difference_display ?? d.difference, d.currency));
  return [
    badge("failed", "does not balance"),
    gaps.length ? h("small", {}, ` difference ${gaps.join(", ")}`) : null,
    result.duplicated_lines ? h("small", {}, ` ${integer(result.duplicated_lines)} line(s) counted twice`) : null,
  ];
}

/** One run: status, counts, failures and its reconciliation, from GET /invoice-runs/{id}. */
export async function renderRun(ctx) {
  const run = await ctx.api.get(`/invoice-runs/${seg(ctx.params.id)}`, {}, { signal: ctx.signal });
  ctx.setTitle(`Invoice run ${run.run_id}`);
  const recon = run.reconciliation;
  ctx.render(
    pageHeader(`Invoice run ${run.period}`),
    h("dl", { class: "pairs run-facts" },
      fact("Run", h("span", { class: "mono" }, run.run_id)),
      fact("Mode", run.mode === "draft" ? "Drafts for review" : "Issue"),
      fact("Started", dateTime(run.started_at ?? run.requested_at)),
      fact("Finished", dateTime(run.finished_at)),
      fact("Started by", startedBy(run.started_by)),
      fact("Reconciliation", recon ? reconciliationText({ ...recon, differences: (recon.currencies ?? []).filter((c) => Number(c.difference)) }) : "—"),
    ),
    h("section", { class: "run-panel" }, runSummary(run)),
    h("p", {}, h("a", { href: href("/runs", { period: run.period }) }, `Runs of ${run.period}`), " · ",
      h("a", { href: href("/report", { period: run.period }) }, `Billing report ${run.period}`), " · ",
      h("a", { href: href("/invoices", { period: run.period }) }, `Invoices of ${run.period}`)),
  );
}

function fact(label, value) {
  return [h("dt", {}, label), h("dd", {}, value)];
}

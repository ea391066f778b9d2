// FX rates per period: what converts a bill's currency into a customer's. A missing rate
// (MissingFxRate) anywhere in the portal links here with the period and the pair prefilled
// (?period=&from=&to=). Each change replaces the settings' fx_rates (PATCH, If-Match).

import { h } from "../dom.js";
import { number } from "../format.js";
import { navigate } from "../router.js";
import { isStale, showRefusal, staleNotice } from "../patch.js";
import { busy, confirm, dataTable, field, flash, input, pageHeader, takeFlash } from "../ui.js";
import { CURRENCIES } from "./customers.js";

const RATE = "[0-9]{1,12}(\\.[0-9]{1,12})?";
const CURRENCY = { required: true, pattern: "[A-Za-z]{3}", maxlength: 3, list: "fx-currencies", autocapitalize: "characters" };

function pair(rate) {
  return `${rate.from} → ${rate.to}`;
}

export async function render(ctx) {
  ctx.setTitle("FX rates");
  const { body: settings, etag } = await ctx.api.getVersioned("/settings", { signal: ctx.signal });
  const rates = settings.fx_rates ?? [];
  const period = ctx.query.get("period") ?? "";
  const shown = rates.filter((r) => !period || r.period === period);
  const messages = h("div", { class: "messages", "aria-live": "polite" }, takeFlash());

  const save = async (form, button, next, done) => {
    try {
      await busy(button, () => ctx.api.patch("/settings", { fx_rates: next }, { ifMatch: etag }));
      flash("ok", h("p", {}, done));
      ctx.refresh();
    } catch (error) {
      if (isStale(error)) messages.replaceChildren(staleNotice("FX rates", () => ctx.refresh()));
      else showRefusal(messages, form, error);
      messages.scrollIntoView({ block: "nearest" });
    }
  };

  const periodInput = h("input", { type: "month", name: "period", value: period, pattern: "\\d{4}-\\d{2}" });
  const filter = h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": "Period",
      onsubmit: (event) => {
        event.preventDefault();
        navigate("/fx", periodInput.value ? { period: periodInput.value } : {});
      },
    },
    field("Billing period", periodInput, "Empty: every period."),
    h("div", {}, h("button", { type: "submit" }, "Show")),
  );

  const add = h("button", { type: "submit", class: "primary" }, "Add rate");
  const addForm = h(
    "form",
    { class: "form-grid", "aria-labelledby": "fx-form-title" },
    field("Period", input("period", period, { type: "month", required: true, pattern: "\\d{4}-\\d{2}" })),
    field("From currency", input("from", ctx.query.get("from") ?? "", CURRENCY), "The bill's currency, e.g. USD."),
    field("To currency", input("to", ctx.query.get("to") ?? "", CURRENCY), "The customer's currency, e.g. EUR."),
    field("Rate", input("rate", "", { required: true, inputmode: "decimal", pattern: RATE }), "1 unit of From is this many units of To."),
    h("datalist", { id: "fx-currencies" }, CURRENCIES.map((c) => h("option", { value: c }))),
    h("div", { class: "form-actions" }, add),
  );
  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const f = addForm.elements;
    const rate = {
      period: f.period.value,
      from: f.from.value.trim().toUpperCase(),
      to: f.to.value.trim().toUpperCase(),
      rate: f.rate.value.trim(),
    };
    // One rate per period and pair: a new one replaces the old.
    const same = (r) => r.period === rate.period && r.from === rate.from && r.to === rate.to;
    save(addForm, add, [...rates.filter((r) => !same(r)), rate], `${pair(rate)} for ${rate.period} is ${rate.rate}.`);
  });

  const remove = (rate) => async () => {
    const ok = await confirm({
      title: `Remove the ${pair(rate)} rate for ${rate.period}?`,
      body: h("p", {}, "Invoice runs of that period that need it fail until a rate is added again; issued invoices do not change."),
      confirmLabel: "Remove rate",
      danger: true,
    });
    if (!ok) return;
    save(addForm, add, rates.filter((r) => r !== rate), `The ${pair(rate)} rate for ${rate.period} was removed.`);
  };

  ctx.render(
    pageHeader("FX rates", h("a", { class: "button", href: "#/settings" }, "Settings")),
    messages,
    filter,
    dataTable({
      caption: `${shown.length} ${shown.length === 1 ? "rate" : "rates"}${period ? ` for ${period}` : ""}`,
      columns: [
        { label: "Period", value: (r) => r.period },
        { label: "Pair", value: (r) => pair(r) },
        { label: "Rate", numeric: true, value: (r) => number(r.rate, 12) },
        {
          label: "Actions",
          value: (r) => h("button", { type: "button", class: "danger", onclick: remove(r), "aria-label": `Remove ${pair(r)} for ${r.period}` }, "Remove"),
        },
      ],
      rows: [...shown].sort((a, b) => b.period.localeCompare(a.period) || pair(a).localeCompare(pair(b))),
      empty: period ? `No FX rates for ${period}.` : "No FX rates.",
      rowAttrs: (r) => ({ dataset: { fx: `${r.period} ${r.from} ${r.to}` } }),
    }),
    h("h2", { id: "fx-form-title" }, "Add an FX rate"),
    addForm,
  );
  if (ctx.query.get("from") && ctx.query.get("to")) addForm.elements.rate.focus();
}

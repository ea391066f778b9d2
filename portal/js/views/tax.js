// Tax rates: whether invoices carry tax, and the rate per country (and region). Each change
// is a partial update of the settings (PATCH /settings: tax only), based on the version read.

import { h } from "../dom.js";
import { percent } from "../format.js";
import { isStale, showRefusal, staleNotice } from "../patch.js";
import { busy, checkbox, confirm, dataTable, field, flash, input, pageHeader, takeFlash, valueOrNull } from "../ui.js";

const PERCENT = "[0-9]{1,6}(\\.[0-9]{1,8})?";

function label(rate) {
  return `${rate.country}${rate.region ? ` ${rate.region}` : ""}`;
}

export async function render(ctx) {
  ctx.setTitle("Tax rates");
  const { body: settings, etag } = await ctx.api.getVersioned("/settings", { signal: ctx.signal });
  const tax = settings.tax ?? { enabled: false, rates: [] };
  const rates = tax.rates ?? [];
  const messages = h("div", { class: "messages", "aria-live": "polite" }, takeFlash());

  const save = async (form, button, change, done) => {
    try {
      await busy(button, () => ctx.api.patch("/settings", { tax: change }, { ifMatch: etag }));
      flash("ok", h("p", {}, done));
      ctx.refresh();
    } catch (error) {
      if (isStale(error)) messages.replaceChildren(staleNotice("tax settings", () => ctx.refresh()));
      else showRefusal(messages, form, error);
      messages.scrollIntoView({ block: "nearest" });
    }
  };

  const saveEnabled = h("button", { type: "submit" }, "Save");
  const enabledForm = h(
    "form",
    { class: "inline-form", "aria-label": "Charge tax" },
    checkbox("enabled", tax.enabled, "Charge tax on invoices"),
    saveEnabled,
  );
  enabledForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const enabled = enabledForm.elements.enabled.checked;
    save(enabledForm, saveEnabled, { enabled }, enabled ? "Tax is charged on invoices." : "Tax is no longer charged.");
  });

  let editing = null; // the index of the rate being edited
  const heading = h("h2", { id: "rate-form-title" }, "Add a tax rate");
  const saveRate = h("button", { type: "submit", class: "primary" }, "Add rate");
  const cancelEdit = h("button", { type: "button", hidden: true, onclick: () => ctx.refresh() }, "Cancel editing");
  const rateForm = h(
    "form",
    { class: "form-grid", "aria-labelledby": "rate-form-title" },
    field("Country", input("country", "", { required: true, pattern: "[A-Za-z]{2}", maxlength: 2, autocapitalize: "characters" }), "ISO 3166-1, e.g. DE."),
    field("Region", input("region", "", { maxlength: 32 }), "Only where rates differ by region, e.g. US-WA."),
    field("Rate %", input("rate", "", { required: true, inputmode: "decimal", pattern: PERCENT }), 'e.g. 19 for 19 %.'),
    field("Tax name", input("name", "", { maxlength: 100 }), "Printed on invoices, e.g. VAT."),
    h("div", { class: "form-actions" }, saveRate, cancelEdit),
  );
  rateForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const f = rateForm.elements;
    const rate = {
      country: f.country.value.trim().toUpperCase(),
      region: valueOrNull(f.region.value),
      rate: f.rate.value.trim(),
      name: valueOrNull(f.name.value),
    };
    const next = editing === null ? [...rates, rate] : rates.map((r, i) => (i === editing ? rate : r));
    save(rateForm, saveRate, { rates: next }, `Tax rate ${label(rate)} saved.`);
  });
  const edit = (index) => () => {
    editing = index;
    const rate = rates[index];
    const f = rateForm.elements;
    f.country.value = rate.country ?? "";
    f.region.value = rate.region ?? "";
    f.rate.value = rate.rate ?? "";
    f.name.value = rate.name ?? "";
    heading.textContent = `Edit tax rate ${label(rate)}`;
    saveRate.textContent = "Save rate";
    cancelEdit.hidden = false;
    f.rate.focus();
  };
  const remove = (index) => async () => {
    const rate = rates[index];
    const ok = await confirm({
      title: `Remove the tax rate ${label(rate)}?`,
      body: h("p", {}, "Invoices computed from now on no longer use it; issued invoices do not change."),
      confirmLabel: "Remove rate",
      danger: true,
    });
    if (!ok) return;
    save(rateForm, saveRate, { rates: rates.filter((_, i) => i !== index) }, `Tax rate ${label(rate)} removed.`);
  };

  ctx.render(
    pageHeader("Tax rates", h("a", { class: "button", href: "#/settings" }, "Settings")),
    messages,
    enabledForm,
    dataTable({
      caption: `${rates.length} ${rates.length === 1 ? "tax rate" : "tax rates"}`,
      columns: [
        { label: "Country", value: (r) => r.country },
        { label: "Region", value: (r) => r.region ?? "" },
        { label: "Rate", numeric: true, value: (r) => percent(r.rate) },
        { label: "Name", value: (r) => r.name ?? "" },
        {
          label: "Actions",
          value: (r) => {
            const index = rates.indexOf(r);
            return h("div", { class: "actions" },
              h("button", { type: "button", onclick: edit(index), "aria-label": `Edit tax rate ${label(r)}` }, "Edit"),
              h("button", { type: "button", class: "danger", onclick: remove(index), "aria-label": `Remove tax rate ${label(r)}` }, "Remove"));
          },
        },
      ],
      rows: rates,
      empty: "No tax rates: invoices carry no tax.",
      rowAttrs: (r) => ({ dataset: { rate: label(r) } }),
    }),
    heading,
    rateForm,
  );
}

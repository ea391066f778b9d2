// Settings: the seller's profile (what invoices say about the reseller) and the invoice
// settings. Each form sends only the fields it changed (PATCH /settings, a JSON Merge Patch)
// based on the version it read (If-Match), so what it does not show is never dropped.

import { h } from "../dom.js";
import { changes, isStale, showRefusal, staleNotice } from "../patch.js";
import { busy, checkbox, field, flash, input, pageHeader, select, takeFlash, valueOrNull } from "../ui.js";

const COUNTRY = { pattern: "[A-Za-z]{2}", maxlength: 2, autocapitalize: "characters" };

/** Text inputs of the seller's profile: [path in settings.seller, label, attributes, hint]. */
const SELLER_TEXT = [
  ["name", "Trading name", { maxlength: 200 }],
  ["legal_name", "Legal name", { maxlength: 200 }, "As registered, if it differs from the trading name."],
  ["country", "Country", COUNTRY, "ISO 3166-1, e.g. DE: decides which tax rates apply."],
  ["tax_id", "Tax id (VAT number)", { maxlength: 64 }],
  ["registration", "Company registration", { maxlength: 200 }, "e.g. HRB 12345, Amtsgericht München."],
  ["email", "Billing email", { type: "email", maxlength: 254 }],
  ["phone", "Phone", { type: "tel", maxlength: 50 }],
];
const ADDRESS_TEXT = [
  ["city", "City", { maxlength: 100 }],
  ["postal_code", "Postal code", { maxlength: 20 }],
  ["region", "Region", { maxlength: 100 }],
  ["country", "Address country", COUNTRY],
];
const BANK_TEXT = [
  ["account_name", "Account holder", { maxlength: 200 }],
  ["iban", "IBAN", { maxlength: 34, spellcheck: "false", autocapitalize: "characters" }],
  ["bic", "BIC", { maxlength: 11, spellcheck: "false", autocapitalize: "characters" }],
  ["account_number", "Account number", { maxlength: 34, spellcheck: "false" }],
  ["routing_number", "Routing number", { maxlength: 34, spellcheck: "false" }],
];
const PASS_THROUGH = [
  ["provider_credits", "Pass the provider's credits on to customers"],
  ["provider_tax", "Pass the provider's tax on to customers"],
  ["provider_discounts", "Pass the provider's discounts on to customers"],
];

function textFields(prefix, spec, values) {
  return spec.map(([key, label, attrs, hint]) => field(label, input(`${prefix}_${key}`, values?.[key], attrs), hint));
}

function textValues(form, prefix, spec) {
  return Object.fromEntries(spec.map(([key]) => [key, valueOrNull(form.elements[`${prefix}_${key}`].value)]));
}

export async function render(ctx) {
  ctx.setTitle("Settings");
  const [{ body: settings, etag }, lists] = await Promise.all([
    ctx.api.getVersioned("/settings", { signal: ctx.signal }),
    ctx.api.all("/price-lists", {}, { signal: ctx.signal }).catch(() => ({ items: [] })),
  ]);
  let version = etag;
  const messages = h("div", { class: "messages", "aria-live": "polite" }, takeFlash());

  /** PATCH what `form` changed; a settings screen left open while someone else saved is told. */
  const save = async (form, button, patch) => {
    for (const old of form.querySelectorAll(".field-error")) old.remove();
    if (!patch) {
      messages.replaceChildren();
      flash("info", h("p", {}, "Nothing changed."));
      return ctx.refresh();
    }
    try {
      const saved = await busy(button, () => ctx.api.patch("/settings", patch, { ifMatch: version }));
      version = saved.etag;
      flash("ok", h("p", {}, "Settings saved."));
      ctx.refresh();
    } catch (error) {
      if (isStale(error)) messages.replaceChildren(staleNotice("settings", () => ctx.refresh()));
      else showRefusal(messages, form, error);
      messages.scrollIntoView({ block: "nearest" });
    }
  };

  const seller = settings.seller ?? {};
  const address = seller.address ?? {};
  const bank = seller.bank ?? {};
  const saveSeller = h("button", { type: "submit", class: "primary" }, "Save seller profile");
  const sellerForm = h(
    "form",
    { class: "form-grid", "aria-labelledby": "seller-title", dataset: { form: "seller" } },
    textFields("seller", SELLER_TEXT, seller),
    h("fieldset", { class: "wide" }, h("legend", {}, "Address"),
      h("div", { class: "form-grid plain" },
        field("Street lines", h("textarea", { name: "seller_address_lines", rows: 3, maxlength: 600 }, (address.lines ?? []).join("\n")), "One line per row."),
        textFields("seller_address", ADDRESS_TEXT, address))),
    h("fieldset", { class: "wide" }, h("legend", {}, "Bank account"),
      h("div", { class: "form-grid plain" }, textFields("seller_bank", BANK_TEXT, bank))),
    field("Payment terms (days)", input("seller_payment_terms_days", seller.payment_terms_days ?? "", { type: "number", min: 0, max: 365, step: 1 }), "Days between an invoice's issue and its due date."),
    h("div", { class: "wide" },
      field("Invoice footer", h("textarea", { name: "seller_footer", rows: 3, maxlength: 2000 }, seller.footer ?? ""), "Printed at the bottom of every invoice.")),
    h("div", { class: "form-actions" }, saveSeller),
  );
  sellerForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const f = sellerForm.elements;
    const lines = f.seller_address_lines.value.split("\n").map((l) => l.trim()).filter(Boolean);
    const days = f.seller_payment_terms_days.value.trim();
    const after = {
      ...textValues(sellerForm, "seller", SELLER_TEXT),
      address: { ...textValues(sellerForm, "seller_address", ADDRESS_TEXT), lines: lines.length ? lines : null },
      bank: textValues(sellerForm, "seller_bank", BANK_TEXT),
      payment_terms_days: days === "" ? null : Number.parseInt(days, 10),
      footer: valueOrNull(f.seller_footer.value),
    };
    for (const key of ["country"]) after[key] = after[key]?.toUpperCase() ?? null;
    after.address.country = after.address.country?.toUpperCase() ?? null;
    const sellerPatch = changes(seller, after);
    save(sellerForm, saveSeller, sellerPatch ? { seller: sellerPatch } : null);
  });

  const passThrough = settings.pass_through ?? {};
  const listOptions = [["", "None (no markup)"], ...lists.items.map((l) => [l.id, l.name || l.id])];
  const saveInvoice = h("button", { type: "submit", class: "primary" }, "Save invoice settings");
  const invoiceForm = h(
    "form",
    { class: "form-grid", "aria-labelledby": "invoice-settings-title", dataset: { form: "invoice-settings" } },
    field("Invoice number prefix", input("invoice_number_prefix", settings.invoice_number_prefix ?? "", { maxlength: 16, spellcheck: "false" }), "Up to 16 letters, digits, / _ . -; e.g. INV- gives INV-2026-000001."),
    field("Default price list", select("default_price_list_id", listOptions, settings.default_price_list_id ?? ""), "For customers and accounts without a price list of their own."),
    h("fieldset", { class: "wide" }, h("legend", {}, "Bill processing"),
      checkbox("automated_bill_processing", settings.automated_bill_processing, "Process bill files automatically as they arrive")),
    h("fieldset", { class: "wide" }, h("legend", {}, "Pass-through"),
      PASS_THROUGH.map(([key, label]) => checkbox(`pass_through_${key}`, passThrough[key], label))),
    h("div", { class: "form-actions" }, saveInvoice),
  );
  invoiceForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const f = invoiceForm.elements;
    const after = {
      invoice_number_prefix: valueOrNull(f.invoice_number_prefix.value),
      default_price_list_id: valueOrNull(f.default_price_list_id.value),
      automated_bill_processing: f.automated_bill_processing.checked,
      pass_through: Object.fromEntries(PASS_THROUGH.map(([key]) => [key, f[`pass_through_${key}`].checked])),
    };
    save(invoiceForm, saveInvoice, changes(settings, after));
  });

  ctx.render(
    pageHeader("Settings",
      h("a", { class: "button", href: "#/tax" }, "Tax rates"),
      h("a", { class: "button", href: "#/fx" }, "FX rates")),
    messages,
    h("section", { "aria-labelledby": "seller-title" }, h("h2", { id: "seller-title" }, "Seller profile"), sellerForm),
    h("section", { "aria-labelledby": "invoice-settings-title" }, h("h2", { id: "invoice-settings-title" }, "Invoice settings"), invoiceForm),
  );
}

// Customers: the list, and the form to create or edit one (docs/design.md §5.1 fields).

import { ApiError, seg } from "../api.js";
import { h } from "../dom.js";
import { percent } from "../format.js";
import { changes, isStale, showRefusal, staleNotice } from "../patch.js";
import { navigate } from "../router.js";
import { busy, checkbox, dataTable, field, flash, input, notFound, pageHeader, select, takeFlash, valueOrNull } from "../ui.js";

export const ID_PATTERN = "[A-Za-z0-9][A-Za-z0-9._\\-]{0,127}";
export const CURRENCIES = ["USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "INR", "BRL", "BHD"];
const APPLIES_TO = [["all", "Everything"], ["subscriptions", "Subscriptions"], ["cloud", "Cloud usage"]];

export async function renderList(ctx) {
  ctx.setTitle("Customers");
  const [customers, lists] = await Promise.all([
    ctx.api.all("/customers", {}, { signal: ctx.signal }),
    ctx.api.all("/price-lists", {}, { signal: ctx.signal }).catch(() => ({ items: [] })),
  ]);
  const listNames = new Map(lists.items.map((l) => [l.id, l.name || l.id]));
  ctx.render(
    pageHeader("Customers", h("a", { href: "#/customers/new", class: "button primary" }, "New customer")),
    takeFlash(),
    dataTable({
      caption: `${customers.items.length} customers`,
      columns: [
        { label: "Customer", value: (c) => [h("a", { href: `#/customers/${seg(c.id)}` }, c.name || c.id), " ", h("small", { class: "meta mono" }, c.id)] },
        { label: "Currency", value: (c) => c.currency },
        { label: "Price list", value: (c) => (c.price_list_id ? listNames.get(c.price_list_id) ?? c.price_list_id : "default") },
        { label: "Country", value: (c) => [c.tax_profile?.country ?? "—", c.tax_profile?.region ? ` ${c.tax_profile.region}` : ""] },
        { label: "Tax", value: (c) => (c.tax_profile?.exempt ? "exempt" : c.tax_profile?.tax_id ?? "") },
        { label: "Discount", numeric: true, value: (c) => (Number(c.discount?.percent) ? `${percent(c.discount.percent)} on ${c.discount.applies_to}` : "") },
        { label: "Email", value: (c) => c.email ?? "" },
      ],
      rows: customers.items,
      empty: "No customers yet.",
      rowAttrs: (c) => ({ dataset: { customer: c.id } }),
    }),
  );
}

export async function renderForm(ctx) {
  const editing = ctx.params.id ?? null;
  ctx.setTitle(editing ? `Edit ${editing}` : "New customer");
  let doc = { currency: "USD", tax_profile: {}, discount: { percent: "0", applies_to: "all" } };
  let version = null; // the ETag of the customer as read: an edit is saved over exactly that
  const listsPromise = ctx.api.all("/price-lists", {}, { signal: ctx.signal }).catch(() => ({ items: [] }));
  if (editing) {
    try {
      ({ body: doc, etag: version } = await ctx.api.getVersioned(`/customers/${seg(editing)}`, { signal: ctx.signal }));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return ctx.render(...notFound("customer"));
      throw error;
    }
  }
  const lists = (await listsPromise).items;
  const tax = doc.tax_profile ?? {};
  const discount = doc.discount ?? {};
  const messages = h("div", { class: "messages", "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "primary" }, editing ? "Save customer" : "Create customer");
  const form = h(
    "form",
    { class: "form-grid", "aria-label": editing ? "Edit customer" : "New customer" },
    editing
      ? null
      : field("Customer id", input("id", "", { pattern: ID_PATTERN, spellcheck: "false", autocapitalize: "none" }), "Letters, digits, . _ -; generated if empty."),
    field("Name", input("name", doc.name, { required: true, maxlength: 200 })),
    field("Currency", input("currency", doc.currency, { required: true, pattern: "[A-Za-z]{3}", maxlength: 3, list: "currencies", autocapitalize: "characters" }), "ISO 4217, e.g. USD, EUR."),
    h("datalist", { id: "currencies" }, CURRENCIES.map((c) => h("option", { value: c }))),
    field("Price list", select("price_list_id", [["", "The default price list"], ...lists.map((l) => [l.id, l.name || l.id])], doc.price_list_id ?? "")),
    field("Billing email", input("email", doc.email, { type: "email", maxlength: 254 })),
    h("fieldset", { class: "wide" }, h("legend", {}, "Tax profile"),
      h("div", { class: "form-grid plain" },
        field("Country", input("country", tax.country, { pattern: "[A-Za-z]{2}", maxlength: 2, autocapitalize: "characters" }), "ISO 3166-1, e.g. DE."),
        field("Region", input("region", tax.region, { maxlength: 32 }), "e.g. US-WA, where rates differ by region."),
        field("Tax id (VAT number)", input("tax_id", tax.tax_id, { maxlength: 64 }), "An EU VAT number enables reverse charge."),
        checkbox("exempt", tax.exempt, "Tax exempt"))),
    h("fieldset", { class: "wide" }, h("legend", {}, "Discount"),
      h("div", { class: "form-grid plain" },
        field("Discount %", input("discount_percent", discount.percent ?? "0", { inputmode: "decimal", pattern: "[0-9]{1,6}(\\.[0-9]{1,8})?" })),
        field("Applies to", select("discount_applies_to", APPLIES_TO, discount.applies_to ?? "all")))),
    h("div", { class: "form-actions" }, save,
      h("a", { class: "button", href: editing ? `#/customers/${seg(editing)}` : "#/customers" }, "Cancel")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const body = {
      name: valueOrNull(f.name.value),
      currency: f.currency.value.trim().toUpperCase(),
      price_list_id: valueOrNull(f.price_list_id.value),
      email: valueOrNull(f.email.value),
      tax_profile: {
        country: valueOrNull(f.country.value)?.toUpperCase() ?? null,
        region: valueOrNull(f.region.value),
        tax_id: valueOrNull(f.tax_id.value),
        exempt: f.exempt.checked,
      },
      discount: { percent: valueOrNull(f.discount_percent.value) ?? "0", applies_to: f.discount_applies_to.value },
    };
    if (!editing) {
      const id = valueOrNull(f.id.value);
      if (id) body.id = id;
      else delete body.id;
    }
    messages.replaceChildren();
    try {
      // An edit sends only what the form changed (PATCH): the fields it does not show (custom
      // items, profile fields) stay as they are.
      const saved = await busy(save, async () =>
        editing
          ? (await ctx.api.patch(`/customers/${seg(editing)}`, changes(doc, body) ?? {}, { ifMatch: version })).body
          : ctx.api.post("/customers", body));
      flash("ok", h("p", {}, `Customer ${saved?.name ?? saved?.id ?? ""} saved.`));
      navigate(`/customers/${seg(saved?.id ?? editing ?? body.id)}`);
    } catch (error) {
      if (isStale(error)) messages.replaceChildren(staleNotice("customer", () => ctx.refresh()));
      else showRefusal(messages, form, error);
    }
  });
  ctx.render(pageHeader(editing ? `Edit customer ${doc.name ?? editing}` : "New customer"), messages, form);
}

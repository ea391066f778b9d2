// Plans: what a subscription costs and the cloud credit it includes (docs/design.md §5.1).

import { ApiError, seg } from "../api.js";
import { h } from "../dom.js";
import { money, providerName } from "../format.js";
import { navigate } from "../router.js";
import { busy, dataTable, errorNotice, field, flagField, flash, input, notFound, pageHeader, select, takeFlash, valueOrNull } from "../ui.js";
import { codes } from "../vocabulary.js";
import { CURRENCIES, ID_PATTERN } from "./customers.js";

const UNUSED = [["forfeit", "Forfeit (no discount)"], ["credit", "Credit it on the invoice"], ["rollover", "Roll over to next period"]];
const OVERAGE = [["bill", "Bill usage beyond the credit"], ["waive", "Waive usage beyond the credit"]];
const AMOUNT = "[0-9]{1,15}(\\.[0-9]{1,10})?";

export async function renderList(ctx) {
  ctx.setTitle("Plans");
  const plans = await ctx.api.all("/plans", {}, { signal: ctx.signal });
  ctx.render(
    pageHeader("Plans", h("a", { href: "#/plans/new", class: "button primary" }, "New plan")),
    takeFlash(),
    dataTable({
      caption: `${plans.items.length} plans`,
      columns: [
        { label: "Plan", value: (p) => [h("a", { href: `#/plans/${seg(p.id)}` }, p.name || p.id), " ", h("small", { class: "meta mono" }, p.id)] },
        { label: "Price", numeric: true, value: (p) => money(p.price, p.currency) },
        { label: "Included credit", numeric: true, value: (p) => money(p.included_credit ?? "0", p.currency) },
        { label: "Credit for", value: (p) => (p.credit_providers?.length ? p.credit_providers.map(providerName).join(", ") : "all providers") },
        { label: "Unused credit", value: (p) => p.unused_credit_policy ?? "forfeit" },
        { label: "Overage", value: (p) => p.overage_policy ?? "bill" },
      ],
      rows: plans.items,
      empty: "No plans yet.",
      rowAttrs: (p) => ({ dataset: { plan: p.id } }),
    }),
  );
}

export async function renderForm(ctx) {
  const editing = ctx.params.id ?? null;
  ctx.setTitle(editing ? `Plan ${editing}` : "New plan");
  let plan = { currency: "USD", price: "", included_credit: "0.00", credit_providers: null, unused_credit_policy: "forfeit", overage_policy: "bill" };
  if (editing) {
    try {
      plan = await ctx.api.get(`/plans/${seg(editing)}`, undefined, { signal: ctx.signal });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return ctx.render(...notFound("plan"));
      throw error;
    }
  }
  const messages = h("div", { class: "messages", "aria-live": "polite" }, takeFlash());
  const save = h("button", { type: "submit", class: "primary" }, editing ? "Save plan" : "Create plan");
  const scoped = new Set(plan.credit_providers ?? []);
  const form = h(
    "form",
    { class: "form-grid", "aria-label": editing ? "Edit plan" : "New plan" },
    editing ? null : field("Plan id", input("id", "", { pattern: ID_PATTERN, spellcheck: "false" }), "Generated if empty."),
    field("Name", input("name", plan.name, { required: true, maxlength: 200 })),
    field("Price per period", input("price", plan.price, { required: true, inputmode: "decimal", pattern: AMOUNT })),
    field("Currency", input("currency", plan.currency, { required: true, pattern: "[A-Za-z]{3}", maxlength: 3, list: "plan-currencies" })),
    h("datalist", { id: "plan-currencies" }, CURRENCIES.map((c) => h("option", { value: c }))),
    field("Included cloud credit", input("included_credit", plan.included_credit ?? "0", { inputmode: "decimal", pattern: AMOUNT }), "Pre-purchased infrastructure per period and unit."),
    h("fieldset", { class: "wide" }, h("legend", {}, "Credit applies to"),
      h("p", { class: "hint" }, "None checked: usage of every provider."),
      h("div", { class: "actions" }, codes("providers").map((p) =>
        h("label", { class: "check" }, h("input", { type: "checkbox", name: "credit_providers", value: p, checked: scoped.has(p) }), providerName(p))))),
    field("Unused credit", select("unused_credit_policy", UNUSED, plan.unused_credit_policy ?? "forfeit")),
    field("Overage", select("overage_policy", OVERAGE, plan.overage_policy ?? "bill")),
    h("div", { class: "form-actions" }, save, h("a", { class: "button", href: "#/plans" }, "Back to plans")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const providers = [...form.querySelectorAll("input[name=credit_providers]:checked")].map((box) => box.value);
    const body = {
      name: valueOrNull(f.name.value),
      price: f.price.value.trim(),
      currency: f.currency.value.trim().toUpperCase(),
      included_credit: valueOrNull(f.included_credit.value) ?? "0",
      credit_providers: providers.length ? providers : null,
      unused_credit_policy: f.unused_credit_policy.value,
      overage_policy: f.overage_policy.value,
    };
    if (editing) body.id = editing;
    else if (valueOrNull(f.id.value)) body.id = f.id.value.trim();
    messages.replaceChildren();
    try {
      const saved = await busy(save, () => (editing ? ctx.api.put(`/plans/${seg(editing)}`, body) : ctx.api.post("/plans", body)));
      flash("ok", h("p", {}, `Plan ${saved?.name ?? saved?.id ?? ""} saved.`));
      navigate("/plans");
    } catch (error) {
      messages.replaceChildren(errorNotice(error));
      flagField(form, error);
    }
  });
  ctx.render(pageHeader(editing ? `Plan ${plan.name ?? editing}` : "New plan"), messages, form);
}

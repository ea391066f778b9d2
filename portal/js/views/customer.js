// One customer: its details, the cloud accounts it owns and its subscriptions, each editable.

import { ApiError, seg } from "../api.js";
import { h } from "../dom.js";
import { date, percent, providerName } from "../format.js";
import { navigate } from "../router.js";
import { badge, busy, confirm, dataTable, errorNotice, field, flagField, flash, input, notFound, pageHeader, select, takeFlash, valueOrNull } from "../ui.js";
import { entries } from "../vocabulary.js";
import { ID_PATTERN } from "./customers.js";

export async function render(ctx) {
  const id = ctx.params.id;
  const base = `/customers/${seg(id)}`;
  let customer;
  try {
    customer = await ctx.api.get(base, undefined, { signal: ctx.signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return ctx.render(...notFound("customer"));
    throw error;
  }
  const [accounts, subscriptions, plans, lists] = await Promise.all([
    ctx.api.all(`${base}/accounts`, {}, { signal: ctx.signal }),
    ctx.api.all(`${base}/subscriptions`, {}, { signal: ctx.signal }),
    ctx.api.all("/plans", {}, { signal: ctx.signal }).catch(() => ({ items: [] })),
    ctx.api.all("/price-lists", {}, { signal: ctx.signal }).catch(() => ({ items: [] })),
  ]);
  ctx.setTitle(customer.name ?? id);
  const messages = h("div", { class: "messages", "aria-live": "polite" }, takeFlash());
  const fail = (error, form) => {
    messages.replaceChildren(errorNotice(error));
    if (form) flagField(form, error);
    messages.scrollIntoView({ block: "nearest" });
  };
  const deleteButton = h("button", { type: "button", class: "danger" }, "Delete customer…");
  deleteButton.addEventListener("click", async () => {
    const ok = await confirm({
      title: `Delete customer ${customer.name ?? id}?`,
      body: h("p", {}, "The customer, its account links and subscriptions are deleted. A customer that has invoices cannot be deleted."),
      confirmLabel: "Delete customer",
      danger: true,
    });
    if (!ok) return;
    try {
      await ctx.api.delete(base);
      flash("ok", h("p", {}, `Customer ${id} deleted.`));
      navigate("/customers");
    } catch (error) {
      fail(error);
    }
  });

  const tax = customer.tax_profile ?? {};
  ctx.render(
    pageHeader(customer.name ?? id,
      h("a", { class: "button", href: `#/invoices?customer_id=${seg(id)}` }, "Invoices"),
      h("a", { class: "button", href: `#/tokens?customer_id=${seg(id)}` }, "API token…"),
      h("a", { class: "button", href: `#/users?customer_id=${seg(id)}` }, "Invite user…"),
      h("a", { class: "button primary", href: `#${base}/edit` }, "Edit"),
      deleteButton),
    messages,
    h("dl", { class: "pairs customer-details" },
      pair("Customer id", h("code", {}, customer.id)),
      pair("Currency", customer.currency),
      pair("Price list", customer.price_list_id ?? "the default price list"),
      pair("Billing email", customer.email ?? "—"),
      pair("Tax", [tax.country ?? "no country", tax.region ? ` (${tax.region})` : "", tax.tax_id ? `, tax id ${tax.tax_id}` : "", tax.exempt ? ", exempt" : ""]),
      pair("Discount", Number(customer.discount?.percent) ? `${percent(customer.discount.percent)} on ${customer.discount.applies_to}` : "none")),
    accountsSection(ctx, base, accounts.items, lists.items, fail),
    subscriptionsSection(ctx, base, subscriptions.items, plans.items, fail),
  );
}

function pair(term, value) {
  return [h("dt", {}, term), h("dd", {}, value)];
}

function accountsSection(ctx, base, accounts, lists, fail) {
  const listOptions = [["", "The customer's price list"], ...lists.map((l) => [l.id, l.name || l.id])];
  const remove = (account) => async () => {
    const ok = await confirm({
      title: `Unlink ${providerName(account.provider)} account ${account.account_id}?`,
      body: h("p", {}, "Its charges are no longer billed to this customer from the next invoice run; issued invoices do not change."),
      confirmLabel: "Unlink account",
      danger: true,
    });
    if (!ok) return;
    try {
      await ctx.api.delete(`${base}/accounts/${seg(account.provider)}/${seg(account.account_id)}`);
      flash("ok", h("p", {}, `Account ${account.account_id} unlinked.`));
      ctx.refresh();
    } catch (error) {
      fail(error);
    }
  };
  const add = h("button", { type: "submit", class: "primary" }, "Link account");
  const form = h(
    "form",
    { class: "form-grid", "aria-label": "Link a cloud account" },
    field("Provider", select("provider", entries("providers"), "aws")),
    field("Account id", input("account_id", "", { required: true, spellcheck: "false", autocomplete: "off" }), "AWS account, GCP project, Azure subscription…"),
    field("Price list override", select("price_list_id", listOptions, "")),
    field("Valid from", input("valid_from", "", { type: "date" })),
    field("Valid until", input("valid_to", "", { type: "date" }), "Exclusive; empty: open-ended."),
    h("div", { class: "form-actions" }, add),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const body = {
      provider: f.provider.value,
      account_id: f.account_id.value.trim(),
      price_list_id: valueOrNull(f.price_list_id.value),
      valid_from: valueOrNull(f.valid_from.value),
      valid_to: valueOrNull(f.valid_to.value),
    };
    try {
      await busy(add, () => ctx.api.post(`${base}/accounts`, body));
      flash("ok", h("p", {}, `${providerName(body.provider)} account ${body.account_id} linked.`));
      ctx.refresh();
    } catch (error) {
      fail(error, form);
    }
  });
  return h("section", { "aria-labelledby": "accounts-title" },
    h("h2", { id: "accounts-title" }, "Cloud accounts"),
    dataTable({
      caption: `${accounts.length} linked accounts`,
      columns: [
        { label: "Account", value: (a) => h("code", {}, a.account_id) },
        { label: "Provider", value: (a) => providerName(a.provider) },
        { label: "Price list", value: (a) => a.price_list_id ?? "customer's" },
        { label: "Valid", value: (a) => `${a.valid_from ? date(a.valid_from) : "always"} – ${a.valid_to ? date(a.valid_to) : "open"}` },
        { label: "Actions", value: (a) => h("button", { type: "button", class: "danger", onclick: remove(a), "aria-label": `Unlink account ${a.account_id}` }, "Unlink") },
      ],
      rows: accounts,
      empty: "No account is linked: this customer's cloud usage is not billed.",
      rowAttrs: (a) => ({ dataset: { account: a.account_id } }),
    }),
    h("h3", {}, "Link a cloud account"),
    form);
}

function subscriptionsSection(ctx, base, subscriptions, plans, fail) {
  const planNames = new Map(plans.map((p) => [p.id, p.name || p.id]));
  const planOptions = plans.map((p) => [p.id, `${p.name || p.id} (${p.price} ${p.currency})`]);
  let editing = null;
  const heading = h("h3", { id: "subscription-form-title" }, "Add a subscription");
  const save = h("button", { type: "submit", class: "primary" }, "Add subscription");
  const cancelEdit = h("button", { type: "button", hidden: true }, "Cancel editing");
  const idInput = input("id", "", { pattern: ID_PATTERN, spellcheck: "false" });
  const form = h(
    "form",
    { class: "form-grid", "aria-labelledby": "subscription-form-title" },
    field("Subscription id", idInput, "Generated if empty."),
    field("Plan", planOptions.length ? select("plan_id", planOptions, planOptions[0]?.[0]) : input("plan_id", "", { required: true })),
    field("Quantity", input("quantity", "1", { type: "number", min: 1, step: 1, required: true })),
    field("Start date", input("start_date", "", { type: "date", required: true })),
    field("End date", input("end_date", "", { type: "date" }), "Exclusive; empty: open-ended."),
    h("div", { class: "form-actions" }, save, cancelEdit),
  );
  const startEdit = (sub) => () => {
    editing = sub;
    const f = form.elements;
    f.id.value = sub.id;
    f.id.readOnly = true;
    f.plan_id.value = sub.plan_id;
    f.quantity.value = sub.quantity ?? 1;
    f.start_date.value = sub.start_date ?? "";
    f.end_date.value = sub.end_date ?? "";
    heading.textContent = `Edit subscription ${sub.id}`;
    save.textContent = "Save subscription";
    cancelEdit.hidden = false;
    f.plan_id.focus();
  };
  cancelEdit.addEventListener("click", () => ctx.refresh());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const body = {
      plan_id: f.plan_id.value,
      quantity: Number.parseInt(f.quantity.value, 10),
      start_date: f.start_date.value,
      end_date: valueOrNull(f.end_date.value),
    };
    const id = valueOrNull(f.id.value);
    if (id) body.id = id;
    try {
      await busy(save, () =>
        editing ? ctx.api.put(`${base}/subscriptions/${seg(editing.id)}`, body) : ctx.api.post(`${base}/subscriptions`, body));
      flash("ok", h("p", {}, `Subscription ${id ?? ""} saved.`));
      ctx.refresh();
    } catch (error) {
      fail(error, form);
    }
  });
  const remove = (sub) => async () => {
    const ok = await confirm({
      title: `Delete subscription ${sub.id}?`,
      body: h("p", {}, "It disappears from future invoice runs. To end a subscription in time, set its end date instead."),
      confirmLabel: "Delete subscription",
      danger: true,
    });
    if (!ok) return;
    try {
      await ctx.api.delete(`${base}/subscriptions/${seg(sub.id)}`);
      flash("ok", h("p", {}, `Subscription ${sub.id} deleted.`));
      ctx.refresh();
    } catch (error) {
      fail(error);
    }
  };
  const today = new Date().toISOString().slice(0, 10);
  return h("section", { "aria-labelledby": "subscriptions-title" },
    h("h2", { id: "subscriptions-title" }, "Subscriptions"),
    dataTable({
      caption: `${subscriptions.length} subscriptions`,
      columns: [
        { label: "Subscription", value: (s) => h("code", {}, s.id) },
        { label: "Plan", value: (s) => planNames.get(s.plan_id) ?? s.plan_id },
        { label: "Quantity", numeric: true, value: (s) => String(s.quantity ?? 1) },
        { label: "Start", value: (s) => date(s.start_date) },
        { label: "End", value: (s) => (s.end_date ? date(s.end_date) : "open") },
        { label: "State", value: (s) => (s.end_date && s.end_date <= today ? badge("void", "ended") : s.start_date > today ? badge("draft", "future") : badge("paid", "active")) },
        {
          label: "Actions",
          value: (s) => h("div", { class: "actions" },
            h("button", { type: "button", onclick: startEdit(s), "aria-label": `Edit subscription ${s.id}` }, "Edit"),
            h("button", { type: "button", class: "danger", onclick: remove(s), "aria-label": `Delete subscription ${s.id}` }, "Delete")),
        },
      ],
      rows: subscriptions,
      empty: "No subscriptions.",
      rowAttrs: (s) => ({ dataset: { subscription: s.id } }),
    }),
    heading,
    form);
}

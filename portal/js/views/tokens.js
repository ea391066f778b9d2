// API tokens for machine clients (an ERP, a script): created for an operator or a customer,
// the secret shown once, listed without it, revoked. ?customer_id= prefills a customer's token.

import { seg } from "../api.js";
import { h } from "../dom.js";
import { date } from "../format.js";
import { showRefusal } from "../patch.js";
import { busy, confirm, dataTable, field, flash, input, notice, pageHeader, select, takeFlash } from "../ui.js";

const ROLES = [["customer", "Customer: reads its own invoices"], ["operator", "Operator: everything"]];

/** The one time a token's secret is seen: a read-only field, a copy button and a warning. */
function secretPanel(created) {
  const secret = h("input", { name: "secret", value: created.token, readonly: true, spellcheck: "false", class: "mono secret", "aria-describedby": "secret-warning" });
  const status = h("span", { role: "status", class: "copy-status" });
  const copy = h("button", { type: "button" }, "Copy token");
  copy.addEventListener("click", async () => {
    secret.select();
    try {
      await navigator.clipboard.writeText(created.token);
      status.textContent = "Copied.";
    } catch {
      status.textContent = "Select the token and copy it (Ctrl+C).";
    }
  });
  return notice(
    "warn",
    h("p", {}, h("strong", {}, `Token "${created.name}" created.`)),
    h("p", { id: "secret-warning" }, "Copy it now: this is the only time it is shown. Rebill keeps only its fingerprint; if it is lost, revoke it and create another."),
    h("div", { class: "secret-row" }, field("API token", secret), copy, status),
  );
}

export async function render(ctx) {
  ctx.setTitle("API tokens");
  const [tokens, customers] = await Promise.all([
    ctx.api.all("/api-tokens", {}, { signal: ctx.signal }),
    ctx.api.all("/customers", {}, { signal: ctx.signal }).catch(() => ({ items: [] })),
  ]);
  const names = new Map(customers.items.map((c) => [c.id, c.name || c.id]));
  const messages = h("div", { class: "messages", "aria-live": "polite" }, takeFlash());
  const prefilled = ctx.query.get("customer_id") ?? "";

  const create = h("button", { type: "submit", class: "primary" }, "Create token");
  const customerSelect = select("customer_id", [["", "Choose a customer"], ...customers.items.map((c) => [c.id, `${c.name || c.id} (${c.id})`])], prefilled);
  const roleSelect = select("role", ROLES, "customer");
  const customerField = field("Customer", customerSelect, "The customer whose invoices the token reads.");
  const form = h(
    "form",
    { class: "form-grid", "aria-labelledby": "token-form-title" },
    field("Name", input("name", prefilled ? `${prefilled} ERP` : "", { required: true, maxlength: 100 }), "Who or what uses it, e.g. Acme's ERP."),
    field("Role", roleSelect),
    customerField,
    h("div", { class: "form-actions" }, create),
  );
  const showCustomer = () => {
    customerField.hidden = roleSelect.value !== "customer";
  };
  roleSelect.addEventListener("change", showCustomer);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const body = { name: f.name.value.trim(), role: f.role.value };
    if (body.role === "customer") body.customer_id = f.customer_id.value || null;
    try {
      const created = await busy(create, () => ctx.api.post("/api-tokens", body));
      f.name.value = ""; // a second click makes no second token by accident
      await draw(secretPanel(created));
      document.querySelector("input[name='secret']")?.focus();
    } catch (error) {
      showRefusal(messages, form, error);
    }
  });

  const revoke = (token) => async () => {
    const ok = await confirm({
      title: `Revoke the token "${token.name}"?`,
      body: h("p", {}, "Whatever uses it is refused from now on. This cannot be undone."),
      confirmLabel: "Revoke token",
      danger: true,
    });
    if (!ok) return;
    try {
      await ctx.api.delete(`/api-tokens/${seg(token.id)}`);
      flash("ok", h("p", {}, `Token "${token.name}" revoked.`));
      ctx.refresh();
    } catch (error) {
      showRefusal(messages, form, error);
    }
  };

  /** The screen, with the new token's secret on top when one was just created. */
  async function draw(created) {
    const list = created ? await ctx.api.all("/api-tokens", {}, { signal: ctx.signal }) : tokens;
    if (created) messages.replaceChildren(created);
    ctx.render(
      pageHeader("API tokens"),
      messages,
      dataTable({
        caption: `${list.items.length} tokens`,
        columns: [
          { label: "Name", value: (t) => t.name },
          { label: "Role", value: (t) => t.role },
          { label: "Customer", value: (t) => (t.customer_id ? h("a", { href: `#/customers/${seg(t.customer_id)}` }, names.get(t.customer_id) ?? t.customer_id) : "") },
          { label: "Created", value: (t) => (t.created_at ? date(t.created_at) : "") },
          { label: "Token id", value: (t) => h("code", {}, t.id) },
          { label: "Actions", value: (t) => h("button", { type: "button", class: "danger", onclick: revoke(t), "aria-label": `Revoke token ${t.name}` }, "Revoke") },
        ],
        rows: list.items,
        empty: "No API tokens.",
        rowAttrs: (t) => ({ dataset: { token: t.id } }),
      }),
      h("h2", { id: "token-form-title" }, "Create a token"),
      form,
    );
  }

  showCustomer();
  await draw(null);
}

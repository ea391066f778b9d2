// The portal's users (operators only): invite an operator or a customer's user (Cognito emails
// a temporary password, changed at the first sign-in), disable, enable, reset a password.

import { ApiError, seg } from "../api.js";
import { h } from "../dom.js";
import { date } from "../format.js";
import { showRefusal } from "../patch.js";
import { badge, busy, confirm, dataTable, field, flash, input, notice, pageHeader, select, takeFlash } from "../ui.js";

const ROLES = [["customer", "Customer's user: sees its customer's invoices"], ["operator", "Operator: administers Rebill"]];
const STATUS = {
  FORCE_CHANGE_PASSWORD: "invited",
  CONFIRMED: "active",
  RESET_REQUIRED: "password reset",
};

export async function render(ctx) {
  ctx.setTitle("Users");
  let users;
  try {
    users = await ctx.api.all("/users", {}, { signal: ctx.signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      return ctx.render(pageHeader("Users"), notice("info", h("p", {}, error.message)));
    }
    throw error;
  }
  const customers = await ctx.api.all("/customers", {}, { signal: ctx.signal }).catch(() => ({ items: [] }));
  const names = new Map(customers.items.map((c) => [c.id, c.name || c.id]));
  const messages = h("div", { class: "messages", "aria-live": "polite" }, takeFlash());

  const invite = h("button", { type: "submit", class: "primary" }, "Invite user");
  const roleSelect = select("role", ROLES, "customer");
  const customerField = field("Customer", select("customer_id", [["", "Choose a customer"], ...customers.items.map((c) => [c.id, `${c.name || c.id} (${c.id})`])], ctx.query.get("customer_id") ?? ""), "The customer whose invoices the user sees.");
  const form = h(
    "form",
    { class: "form-grid", "aria-labelledby": "invite-title" },
    field("Email", input("email", "", { type: "email", required: true, maxlength: 254, autocomplete: "off" }), "The invitation with a temporary password goes here; the user signs in with it."),
    field("Role", roleSelect),
    customerField,
    h("div", { class: "form-actions" }, invite),
  );
  roleSelect.addEventListener("change", () => {
    customerField.hidden = roleSelect.value !== "customer";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const body = { email: f.email.value.trim(), role: f.role.value };
    if (body.role === "customer") body.customer_id = f.customer_id.value || null;
    try {
      const user = await busy(invite, () => ctx.api.post("/users", body));
      flash("ok", h("p", {}, `${user.email} is invited as `, h("code", {}, user.username), ": Cognito emails them a temporary password."));
      ctx.refresh();
    } catch (error) {
      showRefusal(messages, form, error);
    }
  });

  const act = (user, action, { title, body, confirmLabel, danger, done }) => async (event) => {
    const ok = await confirm({ title, body: h("p", {}, body), confirmLabel, danger });
    if (!ok) return;
    try {
      await busy(event.target, () => ctx.api.post(`/users/${seg(user.username)}/${action}`, {}));
      flash("ok", h("p", {}, done));
      ctx.refresh();
    } catch (error) {
      showRefusal(messages, form, error);
      messages.scrollIntoView({ block: "nearest" });
    }
  };
  const actions = (u) => {
    const who = u.email ?? u.username;
    const buttons = [];
    if (u.enabled) {
      buttons.push(h("button", {
        type: "button",
        class: "danger",
        "aria-label": `Disable ${who}`,
        onclick: act(u, "disable", {
          title: `Disable ${who}?`,
          body: "They can no longer sign in, and the sessions they have lose access within 5 minutes.",
          confirmLabel: "Disable user",
          danger: true,
          done: `${who} is disabled.`,
        }),
      }, "Disable"));
      buttons.push(h("button", {
        type: "button",
        "aria-label": `Reset the password of ${who}`,
        onclick: act(u, "reset", {
          title: `Reset the password of ${who}?`,
          body: u.status === "FORCE_CHANGE_PASSWORD"
            ? "They have not signed in yet: the invitation is sent again with a new temporary password."
            : "Their password stops working; Cognito emails them a code to choose a new one.",
          confirmLabel: "Reset password",
          done: `The password of ${who} is reset.`,
        }),
      }, "Reset password"));
    } else {
      buttons.push(h("button", {
        type: "button",
        "aria-label": `Enable ${who}`,
        onclick: act(u, "enable", {
          title: `Enable ${who}?`,
          body: "They can sign in again.",
          confirmLabel: "Enable user",
          done: `${who} is enabled.`,
        }),
      }, "Enable"));
    }
    return h("div", { class: "actions" }, buttons);
  };

  ctx.render(
    pageHeader("Users"),
    messages,
    dataTable({
      caption: `${users.items.length} users`,
      columns: [
        { label: "User", value: (u) => [u.email ?? u.username, " ", h("small", { class: "meta mono" }, u.username)] },
        { label: "Role", value: (u) => u.role ?? "none" },
        { label: "Customer", value: (u) => (u.customer_id ? h("a", { href: `#/customers/${seg(u.customer_id)}` }, names.get(u.customer_id) ?? u.customer_id) : "") },
        { label: "Status", value: (u) => [u.enabled ? badge("paid", STATUS[u.status] ?? u.status.toLowerCase()) : badge("void", "disabled")] },
        { label: "Invited", value: (u) => (u.created_at ? date(u.created_at) : "") },
        { label: "Actions", value: actions },
      ],
      rows: users.items,
      empty: "No users.",
      rowAttrs: (u) => ({ dataset: { user: u.username, email: u.email ?? "" } }),
    }),
    h("h2", { id: "invite-title" }, "Invite a user"),
    form,
  );
}

// Shared pieces of every screen: headings, notices, tables, form fields, confirmations.

import { ApiError, ApiUnreachable } from "./api.js";
import { CognitoError } from "./cognito.js";
import { h, uid } from "./dom.js";
import { titleCase } from "./format.js";
import { fxRateLink } from "./fxlink.js";

export function pageHeader(title, ...actions) {
  return h(
    "div",
    { class: "page-header" },
    h("h1", { tabindex: "-1" }, title),
    actions.length ? h("div", { class: "toolbar" }, actions) : null,
  );
}

/** kind: info | ok | warn | error. Errors are announced at once (role=alert). */
export function notice(kind, ...content) {
  return h(
    "div",
    { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" },
    content,
  );
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

/** What went wrong, in the user's words, with a retry where retrying can help. */
export function errorNotice(error, { retry, what } = {}) {
  let title = "Something went wrong.";
  let detail = error?.message ?? String(error);
  if (error instanceof ApiUnreachable) {
    title = "The Rebill API cannot be reached.";
    detail = `No answer from ${error.url}. Check your connection; if it persists, the service may be down.`;
  } else if (error instanceof ApiError) {
    if (error.status === 404) title = `${what ? titleCase(what) : "This"} was not found.`;
    else if (error.status === 403) title = "You are not allowed to see this.";
    else if (error.status >= 500) title = "The API failed to answer.";
    else if (error.status === 401) title = "You are not signed in.";
    else title = "The request was refused.";
    detail = error.field ? `${error.message} (field: ${error.field})` : error.message;
  } else if (error instanceof CognitoError) {
    title = "Sign-in failed.";
  }
  const fix = error?.code === "missing_fx_rate" ? fxRateLink(error.message) : null;
  return notice(
    "error",
    h("p", {}, h("strong", {}, title), " ", detail),
    fix ? h("p", {}, fix) : null,
    retry ? h("p", {}, h("button", { type: "button", onclick: retry }, "Try again")) : null,
  );
}

export function notFound(what = "page") {
  return [
    pageHeader(`${titleCase(what)} not found`),
    notice("warn", h("p", {}, `This ${what} does not exist, or it is not yours to see.`)),
    h("p", {}, h("a", { href: "#/" }, "Back to the start")),
  ];
}

export function badge(status, label) {
  return h("span", { class: `badge badge-${status}`, dataset: { status } }, label ?? titleCase(status));
}

/**
 * A table. columns: [{label, value(row) → node|text, numeric?, key?, className?}]
 * sort: {key, dir: "asc"|"desc", onSort(key)} makes columns with a `key` sortable.
 */
export function dataTable({ caption, columns, rows, footer = [], empty = "Nothing to show.", sort, rowAttrs }) {
  const head = h(
    "tr",
    {},
    columns.map((column) => {
      const attrs = { scope: "col", class: column.numeric ? "num" : null };
      if (sort && column.key) {
        const active = sort.key === column.key;
        attrs["aria-sort"] = active ? (sort.dir === "desc" ? "descending" : "ascending") : "none";
        const arrow = active ? (sort.dir === "desc" ? " ▼" : " ▲") : "";
        return h(
          "th",
          attrs,
          h("button", { type: "button", class: "sort", onclick: () => sort.onSort(column.key) },
            column.label, arrow ? h("span", { "aria-hidden": "true" }, arrow) : null),
        );
      }
      return h("th", attrs, column.label);
    }),
  );
  const body = rows.length
    ? rows.map((row) =>
        h(
          "tr",
          rowAttrs ? rowAttrs(row) : {},
          columns.map((column, index) => {
            const cell = column.value(row);
            const tag = index === 0 && column.rowHeader !== false ? "th" : "td";
            return h(
              tag,
              {
                scope: tag === "th" ? "row" : null,
                class: [column.numeric ? "num" : null, column.className].filter(Boolean).join(" ") || null,
                dataset: column.data ? column.data(row) : undefined,
                // A phone shows each row as a card: the cell's column name beside its value.
                "data-label": typeof column.label === "string" ? column.label : null,
              },
              cell,
            );
          }),
        ),
      )
    : h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, empty));
  return h(
    "div",
    { class: "table-wrap stack" },
    h(
      "table",
      {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, head),
      h("tbody", {}, body),
      footer.length ? labelled(h("tfoot", {}, footer), columns) : null,
    ),
  );
}

/** The footer's cells get their column's name too (for the phone's cards), counting colspans. */
function labelled(tfoot, columns) {
  for (const row of tfoot.rows) {
    let index = 0;
    for (const cell of row.cells) {
      const label = columns[index]?.label;
      if (cell.tagName === "TD" && typeof label === "string" && !cell.hasAttribute("data-label")) cell.dataset.label = label;
      index += cell.colSpan || 1;
    }
  }
  return tfoot;
}

/** A labelled control: <div class="field"><label for>Label</label> control <small>hint</small></div>. */
export function field(label, control, hint) {
  control.id ||= uid(control.name || "field");
  const hintNode = hint ? h("small", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintNode);
}

export function input(name, value, attrs = {}) {
  return h("input", { name, value: value ?? "", ...attrs });
}

/** options: [[value, label]] or [value]. */
export function select(name, options, value, attrs = {}) {
  return h(
    "select",
    { name, ...attrs },
    options.map((option) => {
      const [optionValue, label] = Array.isArray(option) ? option : [option, option];
      return h("option", { value: optionValue, selected: String(optionValue) === String(value ?? "") }, label);
    }),
  );
}

export function checkbox(name, checked, label, attrs = {}) {
  return h("label", { class: "check" }, h("input", { type: "checkbox", name, checked, ...attrs }), label);
}

/** Mark the control named by an API error's `field` as invalid, and focus it. */
export function flagField(form, error) {
  for (const element of form.querySelectorAll("[aria-invalid]")) element.removeAttribute("aria-invalid");
  if (!(error instanceof ApiError) || !error.field) return;
  const candidates = [error.field, error.field.replaceAll(".", "_"), error.field.split(/[.[]/).pop().replace("]", "")];
  const control = candidates.map((name) => form.elements.namedItem(name)).find(Boolean);
  if (control instanceof Element) {
    control.setAttribute("aria-invalid", "true");
    control.focus();
  }
}

/**
 * Ask before doing something that changes invoices. Resolves true when confirmed.
 * `body` explains exactly what will happen; the dialog is modal, Escape cancels.
 */
export function confirm({ title, body, confirmLabel, danger = false, cancelLabel = "Cancel" }) {
  return new Promise((resolve) => {
    const cancel = h("button", { type: "button", value: "cancel" }, cancelLabel);
    const ok = h("button", { type: "submit", value: "confirm", class: danger ? "primary danger" : "primary" }, confirmLabel);
    const titleId = `dialog-title-${Date.now()}`;
    const dialog = h(
      "dialog",
      { "aria-labelledby": titleId },
      h("form", { method: "dialog" }, h("h2", { id: titleId }, title), body, h("div", { class: "actions" }, cancel, ok)),
    );
    cancel.addEventListener("click", () => dialog.close("cancel"));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
    (danger ? cancel : ok).focus();
  });
}

/** Run `action` with the button disabled (no double submissions); returns its result. */
export async function busy(button, action, busyLabel) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (busyLabel) button.textContent = busyLabel;
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (busyLabel) button.textContent = label;
  }
}

/** Empty strings → null, so optional fields are sent as "not set". */
export function valueOrNull(value) {
  const text = typeof value === "string" ? value.trim() : value;
  return text === "" || text === undefined ? null : text;
}

let flashed = null;

/** A message for the next screen drawn (after a save, a void, a run…). */
export function flash(kind, ...content) {
  flashed = { kind, content };
}

export function takeFlash() {
  const message = flashed;
  flashed = null;
  return message ? notice(message.kind, ...message.content) : null;
}

/** A period picker form that navigates to `path` with ?period= (`optional`: may be left empty,
 * `hint` says what empty means). */
export function periodForm(path, period, extra = {}, navigate, { optional = false, hint } = {}) {
  const control = h("input", {
    type: "month",
    name: "period",
    value: period ?? "",
    required: !optional,
    pattern: "\\d{4}-\\d{2}",
  });
  return h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": "Period",
      onsubmit: (event) => {
        event.preventDefault();
        navigate(path, { ...extra, period: control.value });
      },
    },
    field("Billing period", control, hint),
    h("div", {}, h("button", { type: "submit" }, "Show")),
  );
}

// Partial updates from forms: send only what the form changed (a JSON Merge Patch), based on
// the version that was read (If-Match), so nothing the form does not show is ever dropped.

import { ApiError } from "./api.js";
import { h } from "./dom.js";
import { errorNotice, flagField, notice } from "./ui.js";

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** An empty text and an absent value are the same "not set". */
function blank(value) {
  return value === "" || value === undefined ? null : value;
}

/**
 * The merge patch that turns `before` into `after`, for the keys `after` names: changed values,
 * nested objects diffed key by key, arrays whole, null for a value cleared. Keys `after` does
 * not name are left alone. Returns null when nothing changed.
 */
export function changes(before, after) {
  const patch = {};
  for (const [key, value] of Object.entries(after)) {
    const old = before?.[key];
    if (isObject(value)) {
      const inner = changes(isObject(old) ? old : {}, value);
      if (inner) patch[key] = inner;
    } else if (JSON.stringify(blank(value)) !== JSON.stringify(blank(old))) {
      patch[key] = value ?? null;
    }
  }
  return Object.keys(patch).length ? patch : null;
}

/** A 412: the document changed since the screen read it. */
export function isStale(error) {
  return error instanceof ApiError && error.status === 412;
}

export function staleNotice(what, reload) {
  return notice(
    "warn",
    h("p", {}, h("strong", {}, `The ${what} changed since this screen was opened.`),
      " Your change was not saved, so nobody's change is lost. Reload to see the current values, then make your change again."),
    h("p", {}, h("button", { type: "button", onclick: reload }, "Reload")),
  );
}

/**
 * Show a refused save: the API's message at the top, and under the control its `field` names
 * (marked invalid and focused), so the reader sees what to correct where it is.
 */
export function showRefusal(messages, form, error) {
  for (const old of form.querySelectorAll(".field-error")) old.remove();
  messages.replaceChildren(errorNotice(error));
  flagField(form, error);
  const control = form.querySelector("[aria-invalid='true']");
  if (control && error instanceof ApiError) {
    const id = `${control.id}-error`;
    const text = h("small", { class: "field-error", id }, error.message);
    control.insertAdjacentElement("afterend", text);
    const described = (control.getAttribute("aria-describedby") ?? "").split(" ").filter((x) => x && x !== id);
    control.setAttribute("aria-describedby", [...described, id].join(" "));
  }
}

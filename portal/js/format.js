// Money, percentages, dates and periods as the reader expects them.
// Money is a decimal string from the API ("1234.50"): Intl.NumberFormat formats the string
// itself, so no amount ever goes through a binary float on its way to the screen.

import { nameOf } from "./vocabulary.js";

const formatters = new Map();

export function locale() {
  return (navigator.languages && navigator.languages[0]) || navigator.language || "en-US";
}

function formatter(key, options) {
  const id = `${locale()}|${key}`;
  if (!formatters.has(id)) formatters.set(id, new Intl.NumberFormat(locale(), options));
  return formatters.get(id);
}

export const DASH = "—";

/** "1234.5", "USD" → "$1,234.50" (en-US) or "1.234,50 $" (de-DE). */
export function money(amount, currency) {
  if (amount === null || amount === undefined || amount === "") return DASH;
  if (!currency) return number(amount);
  try {
    return formatter(`money:${currency}`, { style: "currency", currency }).format(String(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}

/** A plain decimal with two to ten fraction digits, grouped per locale. */
export function number(value, maxFractionDigits = 10) {
  if (value === null || value === undefined || value === "") return DASH;
  return formatter(`num:${maxFractionDigits}`, {
    minimumFractionDigits: 0,
    maximumFractionDigits: maxFractionDigits,
  }).format(String(value));
}

export function integer(value) {
  if (value === null || value === undefined || value === "") return DASH;
  return formatter("int", { maximumFractionDigits: 0 }).format(value);
}

/** "60.88" (percent points, as the API gives them) → "60.88 %" in the reader's locale. */
export function percent(points) {
  if (points === null || points === undefined || points === "") return DASH;
  return formatter("pct", { style: "percent", maximumFractionDigits: 2 }).format(
    Number(points) / 100,
  );
}

/** An ISO date-time or date → "2026-11-25" (UTC). */
export function date(value) {
  if (!value) return DASH;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? String(value) : parsed.toISOString().slice(0, 10);
}

/** An ISO date-time → "2026-11-25 00:07 UTC". */
export function dateTime(value) {
  if (!value) return DASH;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) return String(value);
  return `${parsed.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** The period a billing team closes now: the previous calendar month, UTC. */
export function previousPeriod(today = new Date()) {
  const month = today.getUTCMonth(); // 0-based: this is already "last month" 1-based
  const year = month === 0 ? today.getUTCFullYear() - 1 : today.getUTCFullYear();
  return `${year}-${String(month === 0 ? 12 : month).padStart(2, "0")}`;
}

export function isPeriod(value) {
  return typeof value === "string" && /^\d{4}-(0[1-9]|1[0-2])$/.test(value);
}

/** Compare two decimal strings numerically (for sorting; display never uses the float). */
export function compareDecimal(a, b) {
  return (Number(a ?? 0) || 0) - (Number(b ?? 0) || 0);
}

/** "gcp" → "Google Cloud": the provider's name as config.json's vocabulary gives it. */
export function providerName(code) {
  return nameOf("providers", code) ?? code ?? DASH;
}

export function titleCase(text) {
  return text ? text.charAt(0).toUpperCase() + text.slice(1).replaceAll("_", " ") : "";
}

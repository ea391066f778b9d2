// The missing-FX-rate error (code missing_fx_rate, run failures of type MissingFxRate) names
// the rate it needs: link it to the FX rates screen with that rate prefilled.

import { h } from "./dom.js";

/** "no FX rate from USD to EUR for 2026-10 …" → a link to #/fx?period=2026-10&from=USD&to=EUR. */
export function fxRateLink(message) {
  const found = /from (\S+) to ([A-Z]{3}) for (\d{4}-\d{2})/.exec(String(message ?? ""));
  if (!found) return null;
  const [, from, to, period] = found;
  const query = new URLSearchParams({ period, from: from.replace(/^\(.*\)$/, ""), to });
  return h("a", { href: `#/fx?${query}`, class: "fx-link" }, `Add the ${from} → ${to} rate for ${period}`);
}

// The picture of the report: provider cost against customer price, per customer, one chart per
// invoice currency (amounts in different currencies are never drawn on one scale).

import { h, svg, uid } from "./dom.js";
import { money } from "./format.js";

const WIDTH = 720;
const LABEL = 200;
const VALUE = 110;
const BAR = 12;
const GAP = 3;
const GROUP = 14;

/** rows: [{name, cost, price}] in one currency → <figure> with an SVG bar chart. */
export function costPriceChart(rows, currency) {
  const max = Math.max(0, ...rows.flatMap((row) => [Number(row.cost) || 0, Number(row.price) || 0]));
  const scale = (value) => (max > 0 ? (Math.max(0, Number(value) || 0) / max) * (WIDTH - LABEL - VALUE) : 0);
  const height = rows.length * (2 * BAR + GAP + GROUP) + GROUP;
  const titleId = uid("chart");
  const bars = rows.map((row, index) => {
    const y = GROUP + index * (2 * BAR + GAP + GROUP);
    const bar = (kind, value, offset) => {
      const width = scale(value);
      const label = `${row.name}: ${kind} ${money(value, currency)}`;
      return [
        svg("rect", { class: `bar-${kind}`, x: LABEL, y: y + offset, width: Math.max(width, 1), height: BAR, rx: 2 },
          svg("title", {}, label)),
        svg("text", { class: "value", x: LABEL + width + 6, y: y + offset + BAR - 2 }, money(value, currency)),
      ];
    };
    return svg(
      "g",
      { "data-customer": row.customer_id },
      svg("text", { x: LABEL - 8, y: y + BAR + 3, "text-anchor": "end" }, truncate(row.name, 26)),
      bar("cost", row.cost, 0),
      bar("price", row.price, BAR + GAP),
    );
  });
  const picture = svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-labelledby": titleId, preserveAspectRatio: "xMinYMin meet" },
    svg("title", { id: titleId }, `Provider cost and price per customer, ${currency}`),
    bars,
  );
  return h(
    "figure",
    { class: "chart", dataset: { currency } },
    h("figcaption", {}, `Cost and price per customer (${currency})`),
    picture,
    h(
      "ul",
      { class: "legend" },
      h("li", {}, h("span", { style: { background: "var(--cost)" } }), "Provider cost"),
      h("li", {}, h("span", { style: { background: "var(--price)" } }), "Price billed"),
    ),
  );
}

function truncate(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

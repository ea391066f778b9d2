// The picture of the report: provider cost against customer price, per customer, one chart per
// invoice currency (amounts in different currencies are never drawn on one scale).

import { h, svg, uid } from "./dom.js";
import { money } from "./format.js";

// Each customer's name on a line of its own above its two bars, each amount right-aligned at
// the end of the row: nothing is drawn outside the box, and the drawing keeps its proportions
// from a phone (390 px) to a desktop without a sideways scroll.
const WIDTH = 340;
const VALUE = 86; // room at the right for an amount
const NAME = 16; // the name's line
const BAR = 11;
const GAP = 3;
const GROUP = 10;
const ROW = NAME + 2 * BAR + GAP + GROUP;
const NAME_CHARS = 44; // what fits in WIDTH at the name's font size

/** rows: [{name, cost, price}] in one currency → <figure> with an SVG bar chart. */
export function costPriceChart(rows, currency) {
  const max = Math.max(0, ...rows.flatMap((row) => [Number(row.cost) || 0, Number(row.price) || 0]));
  const scale = (value) => (max > 0 ? (Math.max(0, Number(value) || 0) / max) * (WIDTH - VALUE - 6) : 0);
  const height = rows.length * ROW + GAP;
  const titleId = uid("chart");
  const bars = rows.map((row, index) => {
    const y = GAP + index * ROW;
    const bar = (kind, value, offset) => {
      const label = `${row.name}: ${kind} ${money(value, currency)}`;
      return [
        svg("rect", { class: `bar-${kind}`, x: 0, y: y + offset, width: Math.max(scale(value), 1), height: BAR, rx: 2 },
          svg("title", {}, label)),
        svg("text", { class: "value", x: WIDTH, y: y + offset + BAR - 1, "text-anchor": "end" }, money(value, currency)),
      ];
    };
    return svg(
      "g",
      { "data-customer": row.customer_id },
      svg("text", { class: "name", x: 0, y: y + NAME - 4 }, truncate(row.name, NAME_CHARS)),
      bar("cost", row.cost, NAME),
      bar("price", row.price, NAME + BAR + GAP),
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

// Price lists: a default (markup, discount or none) and rules that match bill lines
// (docs/design.md §4.3).

import { ApiError, seg } from "../api.js";
import { h } from "../dom.js";
import { percent } from "../format.js";
import { navigate } from "../router.js";
import { busy, dataTable, errorNotice, field, flagField, flash, input, notFound, pageHeader, select, takeFlash, valueOrNull } from "../ui.js";
import { codes, entries } from "../vocabulary.js";
import { ID_PATTERN } from "./customers.js";

const DEFAULT_TYPES = [["none", "None (price = cost basis)"], ["markup", "Markup"], ["discount", "Discount"]];
const RULE_TYPES = [["markup", "Markup %"], ["discount", "Discount %"], ["fixed_rate", "Fixed unit price"]];
const BASES = [["billed", "Billed cost"], ["list", "List (on-demand) cost"]];
const PERCENT = "[0-9]{1,6}(\\.[0-9]{1,8})?";

function describeDefault(d) {
  if (!d || d.type === "none" || !d.type) return "none";
  return `${d.type} ${percent(d.percent ?? "0")}`;
}

export async function renderList(ctx) {
  ctx.setTitle("Price lists");
  const lists = await ctx.api.all("/price-lists", {}, { signal: ctx.signal });
  ctx.render(
    pageHeader("Price lists", h("a", { href: "#/price-lists/new", class: "button primary" }, "New price list")),
    takeFlash(),
    dataTable({
      caption: `${lists.items.length} price lists`,
      columns: [
        { label: "Price list", value: (l) => [h("a", { href: `#/price-lists/${seg(l.id)}` }, l.name || l.id), " ", h("small", { class: "meta mono" }, l.id)] },
        { label: "Default", value: (l) => describeDefault(l.default) },
        { label: "Rules", numeric: true, value: (l) => String((l.rules ?? []).length) },
      ],
      rows: lists.items,
      empty: "No price lists yet.",
      rowAttrs: (l) => ({ dataset: { priceList: l.id } }),
    }),
  );
}

export async function renderForm(ctx) {
  const editing = ctx.params.id ?? null;
  ctx.setTitle(editing ? `Price list ${editing}` : "New price list");
  let list = { default: { type: "markup", percent: "10" }, rules: [] };
  if (editing) {
    try {
      list = await ctx.api.get(`/price-lists/${seg(editing)}`, undefined, { signal: ctx.signal });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return ctx.render(...notFound("price list"));
      throw error;
    }
  }
  const messages = h("div", { class: "messages", "aria-live": "polite" }, takeFlash());
  const rulesBox = h("div", { class: "rules" });
  const addRule = (rule = { type: "markup", match: {} }) => {
    rulesBox.append(ruleFieldset(rule, rulesBox));
    renumber(rulesBox);
  };
  for (const rule of list.rules ?? []) addRule(rule);
  const save = h("button", { type: "submit", class: "primary" }, editing ? "Save price list" : "Create price list");
  const defaults = list.default ?? { type: "none" };
  const form = h(
    "form",
    { "aria-label": editing ? "Edit price list" : "New price list" },
    h("div", { class: "form-grid" },
      editing ? null : field("Price list id", input("id", "", { pattern: ID_PATTERN, spellcheck: "false" }), "Generated if empty."),
      field("Name", input("name", list.name, { required: true, maxlength: 200 })),
      field("Default pricing", select("default_type", DEFAULT_TYPES, defaults.type ?? "none")),
      field("Default percent", input("default_percent", defaults.percent ?? "", { inputmode: "decimal", pattern: PERCENT })),
      field("Default basis", select("default_basis", BASES, defaults.basis ?? "billed"))),
    h("h2", {}, "Rules"),
    h("p", { class: "meta" }, "The matching rule with the most match keys wins; ties go to the earlier rule. Matching ignores case."),
    rulesBox,
    h("p", {}, h("button", { type: "button", onclick: () => addRule() }, "Add rule")),
    h("div", { class: "actions" }, save, h("a", { class: "button", href: "#/price-lists" }, "Back to price lists")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const type = f.default_type.value;
    const body = {
      name: valueOrNull(f.name.value),
      default: defaultPricing(type, valueOrNull(f.default_percent.value), f.default_basis.value),
      rules: [...rulesBox.querySelectorAll("fieldset.rule")].map(readRule),
    };
    if (editing) body.id = editing;
    else if (valueOrNull(f.id.value)) body.id = f.id.value.trim();
    messages.replaceChildren();
    try {
      const saved = await busy(save, () => (editing ? ctx.api.put(`/price-lists/${seg(editing)}`, body) : ctx.api.post("/price-lists", body)));
      flash("ok", h("p", {}, `Price list ${saved?.name ?? saved?.id ?? ""} saved.`));
      navigate("/price-lists");
    } catch (error) {
      messages.replaceChildren(errorNotice(error));
      flagField(form, error);
    }
  });
  ctx.render(pageHeader(editing ? `Price list ${list.name ?? editing}` : "New price list"), messages, form);
}

function defaultPricing(type, percentValue, basis) {
  if (type === "none") return { type: "none" };
  const pricing = { type, percent: percentValue ?? "0" };
  if (basis === "list") pricing.basis = "list"; // "billed" is the default
  return pricing;
}

function ruleFieldset(rule, box) {
  const fieldset = h(
    "fieldset",
    { class: "rule" },
    h("legend", {}, "Rule"),
    h("div", { class: "form-grid plain" },
      field("Rule id", input("rule_id", rule.id, { pattern: ID_PATTERN, spellcheck: "false" })),
      field("Type", select("rule_type", RULE_TYPES, rule.type ?? "markup")),
      field("Percent", input("rule_percent", rule.percent, { inputmode: "decimal", pattern: PERCENT }), "For markup and discount."),
      field("Unit price", input("rule_unit_price", rule.unit_price, { inputmode: "decimal" }), "For a fixed rate: quantity × unit price."),
      field("Basis", select("rule_basis", BASES, rule.basis ?? "billed")),
      entries("match_keys").map(([key, label]) => field(`Match ${label.toLowerCase()}`, input(`match_${key}`, rule.match?.[key], { spellcheck: "false" })))),
    h("p", {}, h("button", {
      type: "button",
      class: "danger",
      onclick: () => {
        fieldset.remove();
        renumber(box);
      },
    }, "Remove rule")),
  );
  return fieldset;
}

function renumber(box) {
  [...box.querySelectorAll("fieldset.rule")].forEach((fieldset, index) => {
    fieldset.querySelector("legend").textContent = `Rule ${index + 1}`;
    fieldset.querySelector("button.danger").setAttribute("aria-label", `Remove rule ${index + 1}`);
  });
}

function readRule(fieldset) {
  const value = (name) => valueOrNull(fieldset.querySelector(`[name=${name}]`).value);
  const type = value("rule_type");
  const rule = { type, match: {} };
  if (value("rule_id")) rule.id = value("rule_id");
  for (const key of codes("match_keys")) {
    const matched = value(`match_${key}`);
    if (matched) rule.match[key] = matched;
  }
  if (type === "fixed_rate") rule.unit_price = value("rule_unit_price") ?? "0";
  else rule.percent = value("rule_percent") ?? "0";
  if (value("rule_basis") === "list") rule.basis = "list";
  return rule;
}

// The portal's entry point: configuration, session, navigation, and which view draws <main>.

import { Api } from "./api.js";
import { Auth } from "./auth.js";
import { ConfigError, loadConfig } from "./config.js";
import { h, replace } from "./dom.js";
import { Router, navigate, parseHash } from "./router.js";
import { errorNotice, loading, notFound, notice, pageHeader } from "./ui.js";
import { setVocabulary } from "./vocabulary.js";
import * as bills from "./views/bills.js";
import * as customers from "./views/customers.js";
import * as customer from "./views/customer.js";
import * as invoice from "./views/invoice.js";
import * as invoices from "./views/invoices.js";
import * as plans from "./views/plans.js";
import * as priceLists from "./views/price-lists.js";
import * as report from "./views/report.js";
import * as runs from "./views/runs.js";
import * as signin from "./views/signin.js";
import * as settings from "./views/settings.js";
import * as tax from "./views/tax.js";
import * as fx from "./views/fx.js";
import * as tokens from "./views/tokens.js";
import * as users from "./views/users.js";

const OPERATOR = ["operator"];
const EVERYONE = ["operator", "customer"];

const NAV = {
  operator: [
    ["report", "Billing report", "/report"],
    ["invoices", "Invoices", "/invoices"],
    ["bills", "Bills", "/bills"],
    ["runs", "Runs", "/runs"],
    ["customers", "Customers", "/customers"],
    ["plans", "Plans", "/plans"],
    ["price-lists", "Price lists", "/price-lists"],
    ["settings", "Settings", "/settings"],
    ["tokens", "API tokens", "/tokens"],
    ["users", "Users", "/users"],
  ],
  customer: [["invoices", "My invoices", "/invoices"]],
};

const router = new Router([
  { path: "/signin", view: signin.render, public: true },
  { path: "/", view: home, roles: EVERYONE },
  { path: "/report", view: report.render, roles: OPERATOR, nav: "report" },
  { path: "/invoices", view: invoices.render, roles: EVERYONE, nav: "invoices" },
  { path: "/invoices/:id", view: invoice.render, roles: EVERYONE, nav: "invoices" },
  { path: "/bills", view: bills.render, roles: OPERATOR, nav: "bills" },
  { path: "/bills/:id", view: bills.renderBill, roles: OPERATOR, nav: "bills" },
  { path: "/runs", view: runs.render, roles: OPERATOR, nav: "runs" },
  { path: "/runs/:id", view: runs.renderRun, roles: OPERATOR, nav: "runs" },
  { path: "/customers", view: customers.renderList, roles: OPERATOR, nav: "customers" },
  { path: "/customers/new", view: customers.renderForm, roles: OPERATOR, nav: "customers" },
  { path: "/customers/:id", view: customer.render, roles: OPERATOR, nav: "customers" },
  { path: "/customers/:id/edit", view: customers.renderForm, roles: OPERATOR, nav: "customers" },
  { path: "/plans", view: plans.renderList, roles: OPERATOR, nav: "plans" },
  { path: "/plans/new", view: plans.renderForm, roles: OPERATOR, nav: "plans" },
  { path: "/plans/:id", view: plans.renderForm, roles: OPERATOR, nav: "plans" },
  { path: "/price-lists", view: priceLists.renderList, roles: OPERATOR, nav: "price-lists" },
  { path: "/price-lists/new", view: priceLists.renderForm, roles: OPERATOR, nav: "price-lists" },
  { path: "/price-lists/:id", view: priceLists.renderForm, roles: OPERATOR, nav: "price-lists" },
  { path: "/settings", view: settings.render, roles: OPERATOR, nav: "settings" },
  { path: "/tax", view: tax.render, roles: OPERATOR, nav: "settings" },
  { path: "/fx", view: fx.render, roles: OPERATOR, nav: "settings" },
  { path: "/tokens", view: tokens.render, roles: OPERATOR, nav: "tokens" },
  { path: "/users", view: users.render, roles: OPERATOR, nav: "users" },
]);

function home(ctx) {
  navigate(ctx.auth.role === "operator" ? "/report" : "/invoices", {}, { replace: true });
}

const main = document.getElementById("main");
let current = null; // the AbortController of the view on screen

function chrome(app, route) {
  const nav = document.getElementById("nav");
  const user = document.getElementById("user");
  const items = app.auth.signedIn ? NAV[app.auth.role] ?? [] : [];
  replace(
    nav,
    items.length
      ? h(
          "ul",
          {},
          items.map(([key, label, path]) =>
            h("li", {}, h("a", { href: `#${path}`, "aria-current": route?.nav === key ? "page" : null }, label)),
          ),
        )
      : null,
  );
  replace(
    user,
    app.auth.signedIn
      ? [
          h("span", { class: "who", dataset: { role: app.auth.role } },
            `${app.auth.session.name}${app.auth.role === "operator" ? " (operator)" : ""}`),
          h("button", { type: "button", class: "link", onclick: () => signOut(app) }, "Sign out"),
        ]
      : null,
  );
}

async function signOut(app) {
  await app.auth.signOut();
  navigate("/signin", { signedout: 1 });
}

async function show(app) {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const { path, query } = parseHash();
  const found = router.match(path);
  main.dataset.route = location.hash;
  main.setAttribute("aria-busy", "true");
  const done = () => {
    if (!controller.signal.aborted) main.setAttribute("aria-busy", "false");
  };
  const route = found?.route;
  if (route && !route.public && !app.auth.signedIn) {
    navigate("/signin", { next: location.hash.slice(1) || "/" }, { replace: true });
    return;
  }
  chrome(app, route);
  const ctx = {
    ...app,
    params: found?.params ?? {},
    query,
    path,
    main,
    signal: controller.signal,
    /** Draw the view, unless the user has moved on meanwhile. */
    render: (...nodes) => {
      if (!controller.signal.aborted) replace(main, ...nodes);
    },
    setTitle: (title) => {
      document.title = `${title} · Rebill`;
    },
    refresh: () => show(app),
  };
  if (!route || (route.roles && !route.roles.includes(app.auth.role))) {
    ctx.setTitle("Not found");
    ctx.render(...notFound("page"));
    focusHeading();
    done();
    return;
  }
  replace(main, loading());
  try {
    await route.view(ctx);
  } catch (error) {
    if (error?.name === "AbortError" || controller.signal.aborted) return;
    console.error(error);
    ctx.render(pageHeader("Something went wrong"), errorNotice(error, { retry: () => show(app) }));
  }
  if (!controller.signal.aborted) focusHeading();
  done();
}

let firstView = true;

/** After moving to another screen, put the focus on its heading (as a page load would reset
 * it); the first screen of a page load leaves the focus where the browser put it. */
function focusHeading() {
  const heading = main.querySelector("h1");
  if (firstView) {
    firstView = false;
    return;
  }
  if (heading && !main.contains(document.activeElement)) heading.focus({ preventScroll: true });
}

async function start() {
  document.querySelector("[data-skip]")?.addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    replace(main, pageHeader("Rebill"), notice("error", h("p", {}, error instanceof ConfigError ? error.message : String(error))));
    return;
  }
  setVocabulary(config.vocabulary);
  const auth = new Auth(config);
  const api = new Api(config.apiUrl, auth);
  const app = { config, auth, api };
  auth.onExpired = () => navigate("/signin", { next: parseHash().path === "/signin" ? "/" : location.hash.slice(1), expired: 1 });
  window.addEventListener("hashchange", () => show(app));
  await show(app);
}

start();

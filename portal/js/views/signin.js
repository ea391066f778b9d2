// Sign in: a Cognito user with name and password, or an API token; both end in one session.

import { ApiError, ApiUnreachable } from "../api.js";
import { hasCognito } from "../config.js";
import { h } from "../dom.js";
import { navigate } from "../router.js";
import { busy, errorNotice, field, input, notice, pageHeader } from "../ui.js";

function destination(query) {
  const next = query.get("next") || "/";
  const [path, search = ""] = next.split("?", 2);
  return { path: path.startsWith("/") && path !== "/signin" ? path : "/", query: new URLSearchParams(search) };
}

function describe(error) {
  if (error instanceof ApiError && error.status === 401) {
    return notice("error", h("p", {}, h("strong", {}, "Not accepted. "), `The API refused these credentials: ${error.message}`));
  }
  if (error instanceof ApiUnreachable) return errorNotice(error);
  return errorNotice(error);
}

export function render(ctx) {
  const { auth, api, config, query } = ctx;
  if (auth.signedIn) {
    const target = destination(query);
    navigate(target.path, target.query, { replace: true });
    return;
  }
  ctx.setTitle("Sign in");
  const messages = h("div", { class: "messages", "aria-live": "polite" });
  const done = () => {
    const target = destination(query);
    navigate(target.path, target.query, { replace: true });
  };
  const fail = (error) => messages.replaceChildren(describe(error));

  const cognito = hasCognito(config);
  const passwordForm = cognito ? passwordSignIn(ctx, messages, done, fail) : null;

  const tokenInput = input("token", "", { type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const tokenButton = h("button", { type: "submit", class: cognito ? null : "primary" }, "Sign in with token");
  const tokenForm = h(
    "form",
    {
      "aria-label": "Sign in with an API token",
      onsubmit: async (event) => {
        event.preventDefault();
        messages.replaceChildren();
        try {
          await busy(tokenButton, () => auth.signInWithToken(api, tokenInput.value), "Signing in…");
          done();
        } catch (error) {
          fail(error);
          tokenInput.focus();
        }
      },
    },
    field("API token", tokenInput, "An operator or customer token (rbl_…) created with POST /api-tokens."),
    h("div", { class: "actions" }, tokenButton),
  );

  const banner = query.get("expired")
    ? notice("warn", h("p", {}, "Your session has ended. Sign in again."))
    : query.get("signedout")
      ? notice("info", h("p", {}, "You are signed out."))
      : null;

  ctx.render(
    h(
      "section",
      { class: "signin" },
      pageHeader("Sign in to Rebill"),
      banner,
      messages,
      passwordForm,
      cognito
        ? h("details", {}, h("summary", {}, "Sign in with an API token"), tokenForm)
        : [notice("info", h("p", {}, "Sign-in with a user name is not configured here; use an API token.")), tokenForm],
    ),
  );
  (cognito ? passwordForm.querySelector("input[name=username]") : tokenInput).focus();
}

function passwordSignIn(ctx, messages, done, fail) {
  const { auth, api } = ctx;
  const username = input("username", auth.lastUser(), { autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
  const password = input("password", "", { type: "password", autocomplete: "current-password", required: true });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    {
      "aria-label": "Sign in with your user name",
      onsubmit: async (event) => {
        event.preventDefault();
        messages.replaceChildren();
        try {
          const result = await busy(button, () => auth.signInWithPassword(api, username.value.trim(), password.value), "Signing in…");
          next(ctx, form, result, messages, done, fail);
        } catch (error) {
          fail(error);
          password.value = "";
          password.focus();
        }
      },
    },
    field("Email or user name", username),
    field("Password", password),
    h("div", { class: "actions" }, button),
  );
  return form;
}

/** After a sign-in step: signed in, or the next step's form in place of this one. */
function next(ctx, form, result, messages, done, fail) {
  if (result.setup) form.replaceWith(totpSetupForm(ctx, result.setup, messages, done, fail));
  else if (result.challenge?.name === "SOFTWARE_TOKEN_MFA") form.replaceWith(totpForm(ctx, result.challenge, messages, done, fail));
  else if (result.challenge) form.replaceWith(newPasswordForm(ctx, result.challenge, messages, done, fail));
  else done();
}

function codeInput() {
  return input("code", "", { inputmode: "numeric", autocomplete: "one-time-code", required: true, pattern: "[0-9]{6}", maxlength: 6 });
}

function totpForm(ctx, challenge, messages, done, fail) {
  const code = codeInput();
  const button = h("button", { type: "submit", class: "primary" }, "Verify and sign in");
  const form = h(
    "form",
    {
      "aria-label": "Enter the code of your authenticator app",
      onsubmit: async (event) => {
        event.preventDefault();
        messages.replaceChildren();
        try {
          const result = await busy(button, () => ctx.auth.completeTotp(ctx.api, challenge, code.value), "Signing in…");
          next(ctx, form, result, messages, done, fail);
        } catch (error) {
          fail(error);
          code.value = "";
          code.focus();
        }
      },
    },
    field("Code from your authenticator app", code, "The 6-digit code the app shows for Rebill now."),
    h("div", { class: "actions" }, button),
  );
  queueMicrotask(() => code.focus());
  return form;
}

/** An operator must have an authenticator app: show its key, check its first code, enable it. */
function totpSetupForm(ctx, setup, messages, done, fail) {
  const key = h("code", { class: "totp-key" }, "…");
  const uri = h("code", { class: "totp-uri" });
  const code = codeInput();
  const button = h("button", { type: "submit", class: "primary" }, "Turn on and sign in again");
  const form = h(
    "form",
    {
      "aria-label": "Set up an authenticator app",
      onsubmit: async (event) => {
        event.preventDefault();
        messages.replaceChildren();
        try {
          await busy(button, () => ctx.auth.finishTotpSetup(setup, code.value), "Turning on…");
          messages.replaceChildren(notice("ok", h("p", {}, "Your authenticator app is set up. Sign in again: Rebill now asks for its code.")));
          form.replaceWith(passwordSignIn(ctx, messages, done, fail));
        } catch (error) {
          fail(error);
          code.value = "";
          code.focus();
        }
      },
    },
    notice("info", h("p", {}, "Operators sign in with a second factor. Add Rebill to an authenticator app (1Password, Google Authenticator, Authy, …) with this key, then enter the code it shows.")),
    field("Key", key),
    h("p", { class: "meta" }, "Or open this link on the device with the app: ", uri),
    field("Code from your authenticator app", code),
    h("div", { class: "actions" }, button),
  );
  ctx.auth
    .startTotpSetup(setup)
    .then((secret) => {
      key.textContent = secret.replace(/(.{4})/g, "$1 ").trim();
      uri.textContent = `otpauth://totp/Rebill:${encodeURIComponent(setup.username)}?secret=${secret}&issuer=Rebill`;
      code.focus();
    })
    .catch(fail);
  return form;
}

function newPasswordForm(ctx, challenge, messages, done, fail) {
  const first = input("new_password", "", { type: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const second = input("confirm_password", "", { type: "password", autocomplete: "new-password", required: true });
  const button = h("button", { type: "submit", class: "primary" }, "Set password and sign in");
  const form = h(
    "form",
    {
      "aria-label": "Choose a new password",
      onsubmit: async (event) => {
        event.preventDefault();
        if (first.value !== second.value) {
          second.setCustomValidity("The two passwords differ.");
          second.reportValidity();
          return;
        }
        second.setCustomValidity("");
        try {
          const result = await busy(button, () => ctx.auth.completeNewPassword(ctx.api, challenge, first.value), "Signing in…");
          next(ctx, form, result, messages, done, fail);
        } catch (error) {
          fail(error);
        }
      },
    },
    notice("info", h("p", {}, "This is your first sign-in: choose a new password.")),
    field("New password", first),
    field("New password again", second),
    h("div", { class: "actions" }, button),
  );
  queueMicrotask(() => first.focus());
  return form;
}

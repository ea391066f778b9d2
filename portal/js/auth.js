// Who is signed in. Two ways in, one session: a Cognito user (USER_PASSWORD_AUTH; the ID token
// is the bearer) or an API token pasted by the user. Either way the API itself says what the
// bearer may do: the session's role comes from asking it, never from the client's guess.

import { ApiError } from "./api.js";
import * as cognito from "./cognito.js";

const STORAGE_KEY = "rebill.session";
const LAST_USER_KEY = "rebill.last-user";

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
  } catch {
    return null;
  }
}

/** The role the API grants a bearer: operators may list customers, customers may not. An
 * operator who must set up an authenticator app first is told so (`mfa_required`). */
export async function identify(api, token) {
  try {
    await api.get("/customers", { limit: 1 }, { token });
    return "operator";
  } catch (error) {
    if (error instanceof ApiError && error.code === "mfa_required") return "mfa_required";
    if (error instanceof ApiError && error.status === 403 && error.code) return "customer";
    throw error;
  }
}

export class Auth {
  constructor(config) {
    this.config = config;
    this.session = load();
    this.onExpired = () => {};
    this.refreshing = null;
  }

  get signedIn() {
    return Boolean(this.session?.token);
  }

  get role() {
    return this.session?.role ?? null;
  }

  token() {
    return this.session?.token ?? null;
  }

  lastUser() {
    return localStorage.getItem(LAST_USER_KEY) || "";
  }

  #save(session) {
    this.session = session;
    if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    else sessionStorage.removeItem(STORAGE_KEY);
  }

  async #establish(api, fields) {
    const role = await identify(api, fields.token);
    // Not a session yet: the operator sets up an authenticator app, then signs in again.
    if (role === "mfa_required") return { setup: { accessToken: fields.accessToken, username: fields.username } };
    const session = { ...fields, role };
    this.#save(session);
    return session;
  }

  #fromCognito(result, username) {
    const tokens = result.AuthenticationResult;
    const idClaims = cognito.claims(tokens.IdToken);
    return {
      method: "cognito",
      token: tokens.IdToken,
      accessToken: tokens.AccessToken,
      refreshToken: tokens.RefreshToken ?? this.session?.refreshToken ?? null,
      username,
      name: idClaims.email || idClaims["cognito:username"] || username,
      customerId: idClaims["custom:customer_id"] || null,
    };
  }

  /** Sign in with user name and password: a session, {challenge} for a new password or the
   * authenticator app's code, or {setup} when an operator must set up an authenticator app. */
  async signInWithPassword(api, username, password) {
    const result = await cognito.initiateAuth(this.config, username, password);
    localStorage.setItem(LAST_USER_KEY, username);
    if (result.ChallengeName === "NEW_PASSWORD_REQUIRED" || result.ChallengeName === "SOFTWARE_TOKEN_MFA") {
      return { challenge: { name: result.ChallengeName, session: result.Session, username } };
    }
    if (!result.AuthenticationResult) {
      throw new cognito.CognitoError(result.ChallengeName, `Sign-in needs ${result.ChallengeName}, which the portal does not support.`);
    }
    return this.#establish(api, this.#fromCognito(result, username));
  }

  async completeNewPassword(api, challenge, newPassword) {
    const result = await cognito.respondNewPassword(this.config, challenge.username, challenge.session, newPassword);
    if (result.ChallengeName === "SOFTWARE_TOKEN_MFA") {
      return { challenge: { name: result.ChallengeName, session: result.Session, username: challenge.username } };
    }
    return this.#establish(api, this.#fromCognito(result, challenge.username));
  }

  async completeTotp(api, challenge, code) {
    const result = await cognito.respondTotp(this.config, challenge.username, challenge.session, code.trim());
    return this.#establish(api, this.#fromCognito(result, challenge.username));
  }

  /** The secret key of a new authenticator app for the user being set up. */
  async startTotpSetup(setup) {
    return (await cognito.associateSoftwareToken(this.config, setup.accessToken)).SecretCode;
  }

  async finishTotpSetup(setup, code) {
    await cognito.enableSoftwareToken(this.config, setup.accessToken, code.trim());
  }

  async signInWithToken(api, token) {
    const trimmed = token.trim();
    return this.#establish(api, { method: "token", token: trimmed, name: "API token" });
  }

  /** A new ID token from the refresh token (once at a time); false when that is impossible. */
  async refresh() {
    const session = this.session;
    if (session?.method !== "cognito" || !session.refreshToken) return false;
    this.refreshing ??= cognito
      .refreshTokens(this.config, session.refreshToken)
      .then((result) => {
        this.#save({ ...session, ...this.#fromCognito(result, session.username), role: session.role });
        return true;
      })
      .catch(() => false)
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /** The API refused the session: forget it and let the app send the user to sign in. */
  expired() {
    if (!this.session) return;
    this.#save(null);
    this.onExpired();
  }

  async signOut() {
    const session = this.session;
    this.#save(null);
    if (session?.method === "cognito" && session.accessToken) {
      // Revokes the refresh token; the portal does not wait for it.
      cognito.globalSignOut(this.config, session.accessToken).catch(() => {});
    }
  }
}

// Amazon Cognito user pools' JSON API, called straight from the browser (no SDK): the same
// requests go to https://cognito-idp.<region>.amazonaws.com/ in AWS and to moto locally.

export class CognitoError extends Error {
  constructor(type, message) {
    super(message || type);
    this.name = "CognitoError";
    this.type = type;
  }
}

const FRIENDLY = {
  NotAuthorizedException: "Incorrect user name or password.",
  UserNotFoundException: "Incorrect user name or password.",
  PasswordResetRequiredException: "Your password must be reset before you can sign in.",
  UserNotConfirmedException: "Your account is not confirmed yet.",
  TooManyRequestsException: "Too many attempts. Wait a minute and try again.",
  LimitExceededException: "Too many attempts. Wait a minute and try again.",
  InvalidPasswordException: null, // Cognito's own message names the rule that failed
  CodeMismatchException: "That code is not right. Enter the code your app shows now.",
  EnableSoftwareTokenMFAException: "That code is not right. Enter the code your app shows now.",
  ExpiredCodeException: "That code has expired. Enter the code your app shows now.",
};

async function call(config, action, payload) {
  let response;
  try {
    response = await fetch(config.cognitoEndpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
      },
      body: JSON.stringify(payload),
    });
  } catch {
    throw new CognitoError("Unreachable", "The sign-in service cannot be reached.");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const type = String(body.__type || body.code || "Error").split("#").pop();
    throw new CognitoError(type, FRIENDLY[type] || body.message || body.Message || type);
  }
  return body;
}

/** USER_PASSWORD_AUTH: tokens, or a challenge (NEW_PASSWORD_REQUIRED) to answer. */
export function initiateAuth(config, username, password) {
  return call(config, "InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: config.clientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
}

export function respondNewPassword(config, username, session, newPassword) {
  return call(config, "RespondToAuthChallenge", {
    ChallengeName: "NEW_PASSWORD_REQUIRED",
    ClientId: config.clientId,
    Session: session,
    ChallengeResponses: { USERNAME: username, NEW_PASSWORD: newPassword },
  });
}

/** The second step of a sign-in with an authenticator app: its current 6-digit code. */
export function respondTotp(config, username, session, code) {
  return call(config, "RespondToAuthChallenge", {
    ChallengeName: "SOFTWARE_TOKEN_MFA",
    ClientId: config.clientId,
    Session: session,
    ChallengeResponses: { USERNAME: username, SOFTWARE_TOKEN_MFA_CODE: code },
  });
}

/** A new authenticator app for the signed-in user: the secret key to enter in it. */
export function associateSoftwareToken(config, accessToken) {
  return call(config, "AssociateSoftwareToken", { AccessToken: accessToken });
}

/** The app's first code proves it holds the key; then it is the user's second factor. */
export async function enableSoftwareToken(config, accessToken, code) {
  await call(config, "VerifySoftwareToken", { AccessToken: accessToken, UserCode: code, FriendlyDeviceName: "Rebill" });
  await call(config, "SetUserMFAPreference", {
    AccessToken: accessToken,
    SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true },
  });
}

export function refreshTokens(config, refreshToken) {
  return call(config, "InitiateAuth", {
    AuthFlow: "REFRESH_TOKEN_AUTH",
    ClientId: config.clientId,
    AuthParameters: { REFRESH_TOKEN: refreshToken },
  });
}

export function globalSignOut(config, accessToken) {
  return call(config, "GlobalSignOut", { AccessToken: accessToken });
}

/** The claims of a JWT (not verified: the API verifies; the portal only reads names). */
export function claims(jwt) {
  try {
    const payload = jwt.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    const padded = payload + "=".repeat((4 - (payload.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

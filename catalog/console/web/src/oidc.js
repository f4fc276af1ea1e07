// OpenID Connect sign-in for a public client: authorization code + PKCE (RFC 7636). The
// verifier and state live in sessionStorage for the round trip only; the token obtained is
// kept like an API token (sessionStorage), never in the URL.
const PENDING = "icefloe.oidc";

const b64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

async function discover(issuer) {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`, { credentials: "omit" });
  if (!response.ok) throw new Error(`The identity provider's discovery failed (${response.status})`);
  return response.json();
}

export const redirectUri = () => `${location.origin}/ui/callback`;

export async function startSignIn(config) {
  const meta = await discover(config.issuer);
  const verifier = random(48);
  const state = random(16);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, token: meta.token_endpoint }));
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config["client-id"],
    redirect_uri: redirectUri(),
    scope: config.scope || "openid",
    state,
    code_challenge: b64url(digest),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

/** On /ui/callback: exchange the code for a token; returns the bearer to keep. */
export async function finishSignIn(config) {
  const params = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", "/ui/");
  if (params.get("error")) throw new Error(params.get("error_description") || params.get("error"));
  if (!pending || params.get("state") !== pending.state) throw new Error("The sign-in answer did not match this tab's request");
  const response = await fetch(pending.token, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    credentials: "omit",
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code") || "",
      redirect_uri: redirectUri(),
      client_id: config["client-id"],
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new Error(`The identity provider refused the code (${response.status})`);
  const body = await response.json();
  const isJwt = (t) => typeof t === "string" && t.split(".").length === 3;
  const bearer = isJwt(body.access_token) ? body.access_token : body.id_token;
  if (!bearer) throw new Error("The identity provider sent no token");
  return bearer;
}

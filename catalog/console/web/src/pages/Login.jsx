import { useState } from "preact/hooks";
import { api, session } from "../api.js";
import { ErrorBox } from "../common.jsx";
import { startSignIn } from "../oidc.js";

export function Login({ config, onSignedIn, initialError }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(initialError || null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const who = await api("/admin/v1/whoami", { token: token.trim() });
      session.set(token.trim());
      onSignedIn(who);
    } catch (e) {
      setError(
        e.status === 401 || e.status === 403
          ? new Error(`The catalog refused this token: ${e.message}`)
          : e,
      );
      setBusy(false);
    }
  };
  const oidc = config && config.oidc;
  return (
    <main class="login">
      <h1>icefloe console</h1>
      <form onSubmit={submit} aria-label="Token sign-in">
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      {oidc && (
        <p>
          <button type="button" onClick={() => startSignIn(oidc).catch(setError)}>
            Sign in with {new URL(oidc.issuer).host}
          </button>
        </p>
      )}
      <ErrorBox error={error} />
      <p class="muted">
        The token stays in this tab's session storage and is sent only in the Authorization header.
      </p>
    </main>
  );
}

// Small shared pieces. Everything the catalog sends is rendered as JSX text (escaped by Preact);
// nothing here sets innerHTML.
import { useCallback, useEffect, useState } from "preact/hooks";

export function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const run = useCallback(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => live && setState({ loading: false, data, error: null }),
      (error) => live && setState({ loading: false, data: null, error }),
    );
    return () => {
      live = false;
    };
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error.message || String(error)}
    </p>
  );
}

export function Loading({ state, children }) {
  if (state.error) return <ErrorBox error={state.error} />;
  if (state.loading && !state.data) return <p aria-busy="true">Loading…</p>;
  return children(state.data);
}

export function Section({ title, children, id }) {
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** A destructive action that needs the object's name typed before the button works. */
export function TypedConfirm({ label, name, onConfirm, id }) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  if (!open)
    return (
      <button type="button" class="danger" onClick={() => setOpen(true)}>
        {label}
      </button>
    );
  const go = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <form class="confirm" onSubmit={go}>
      <label for={id}>
        Type <strong>{name}</strong> to confirm
      </label>
      <input id={id} value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autocomplete="off" />
      <button type="submit" class="danger" disabled={typed !== name || busy}>
        {label}
      </button>
      <button type="button" onClick={() => setOpen(false)}>
        Cancel
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

export const fmtBytes = (n) => {
  if (n === undefined || n === null || n === "") return "";
  let v = Number(n);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
};

export const fmtTime = (ms) => (ms ? new Date(Number(ms)).toISOString().replace("T", " ").slice(0, 19) : "");

export function KeyValues({ entries, label }) {
  if (!entries.length) return <p class="muted">None.</p>;
  return (
    <table class="kv" aria-label={label}>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{typeof v === "object" ? JSON.stringify(v) : String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

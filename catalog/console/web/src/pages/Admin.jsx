// Admin pages (admin tokens only; the server refuses anyone else whatever this page shows).
import { useState } from "preact/hooks";
import { api, seg } from "../api.js";
import { ErrorBox, Loading, TypedConfirm, useLoad } from "../common.jsx";
import { Link } from "../router.jsx";
import { RunsTable } from "./Table.jsx";

function Tabs({ current }) {
  const tabs = [
    ["tokens", "Tokens"],
    ["warehouses", "Warehouses"],
    ["audit", "Audit log"],
    ["maintenance", "Maintenance runs"],
  ];
  return (
    <nav aria-label="Admin" class="tabs">
      {tabs.map(([id, label]) => (
        <Link key={id} to={`/admin/${id}`} aria-current={current === id ? "page" : undefined}>
          {label}
        </Link>
      ))}
    </nav>
  );
}

function Secret({ issued, onDone }) {
  return (
    <div class="secret" role="alert">
      <p>
        Token <strong>{issued.name}</strong> — copy the secret now; it is not shown again:
      </p>
      <output class="mono" aria-label="New token secret">
        {issued.token}
      </output>
      <button type="button" onClick={onDone}>
        I have copied it
      </button>
    </div>
  );
}

function Tokens() {
  const state = useLoad(() => api("/admin/v1/tokens"), []);
  const [name, setName] = useState("");
  const [permission, setPermission] = useState("read-only");
  const [warehouses, setWarehouses] = useState("");
  const [issued, setIssued] = useState(null);
  const [error, setError] = useState(null);
  const create = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const body = { name, permission };
      if (warehouses.trim()) body.warehouses = warehouses.split(",").map((w) => w.trim()).filter(Boolean);
      setIssued(await api("/admin/v1/tokens", { method: "POST", body }));
      setName("");
      state.reload();
    } catch (e) {
      setError(e);
    }
  };
  const act = async (fn) => {
    setError(null);
    try {
      await fn();
      state.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <form onSubmit={create} aria-label="Create token" class="stack">
        <label for="token-name">Token name</label>
        <input id="token-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <label for="token-permission">Permission</label>
        <select id="token-permission" value={permission} onChange={(e) => setPermission(e.currentTarget.value)}>
          <option value="read-only">read-only</option>
          <option value="read-write">read-write</option>
          <option value="admin">admin</option>
        </select>
        <label for="token-warehouses">Warehouses (comma-separated; empty: all)</label>
        <input id="token-warehouses" value={warehouses} onInput={(e) => setWarehouses(e.currentTarget.value)} />
        <button type="submit">Create token</button>
      </form>
      {issued && <Secret issued={issued} onDone={() => setIssued(null)} />}
      <ErrorBox error={error} />
      <Loading state={state}>
        {(body) => (
          <div class="scroll">
            <table aria-label="Tokens">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Permission</th>
                  <th scope="col">Warehouses</th>
                  <th scope="col">Created</th>
                  <th scope="col">State</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {body.tokens.map((t) => (
                  <tr key={t.id} data-token-name={t.name}>
                    <td>{t.name}</td>
                    <td>{t.permission}</td>
                    <td>{t.warehouses ? t.warehouses.join(", ") : "all"}</td>
                    <td>{t["created-at"]}</td>
                    <td>{t["revoked-at"] ? "revoked" : t["expires-at"] ? `expires ${t["expires-at"]}` : "active"}</td>
                    <td>
                      {!t["revoked-at"] && (
                        <span class="actions">
                          <button type="button" onClick={() => act(async () => setIssued(await api(`/admin/v1/tokens/${seg(t.id)}/rotate`, { method: "POST" })))}>
                            Rotate {t.name}
                          </button>
                          <TypedConfirm
                            id={`revoke-${t.id}`}
                            label={`Revoke ${t.name}`}
                            name={t.name}
                            onConfirm={() => act(() => api(`/admin/v1/tokens/${seg(t.id)}`, { method: "DELETE" }))}
                          />
                        </span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loading>
    </div>
  );
}

function WarehousesAdmin() {
  const state = useLoad(() => api("/admin/v1/warehouses"), []);
  return (
    <Loading state={state}>
      {(body) => (
        <div class="scroll">
          <table aria-label="Warehouses">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Location</th>
                <th scope="col">Storage</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {body.warehouses.map((w) => (
                <tr key={w.id}>
                  <td>{w.name}</td>
                  <td class="mono">{w.location}</td>
                  <td class="mono small">{JSON.stringify(w.storage)}</td>
                  <td>{w["created-at"]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Loading>
  );
}

function Audit() {
  const [limit, setLimit] = useState(100);
  const [filter, setFilter] = useState({ principal: "", operation: "", status: "" });
  const state = useLoad(() => api(`/admin/v1/audit?limit=${limit}`), [limit]);
  const field = (key, label) => (
    <span>
      <label for={`audit-${key}`}>{label}</label>
      <input id={`audit-${key}`} value={filter[key]} onInput={(e) => setFilter({ ...filter, [key]: e.currentTarget.value })} />
    </span>
  );
  const keep = (e) =>
    (!filter.principal || String(e.principal || "").includes(filter.principal)) &&
    (!filter.operation || String(e.operation || "").includes(filter.operation)) &&
    (!filter.status || String(e.status || "") === filter.status);
  return (
    <div>
      <form class="filters" aria-label="Audit filters" onSubmit={(e) => e.preventDefault()}>
        {field("principal", "Principal")}
        {field("operation", "Operation")}
        {field("status", "Status")}
        <span>
          <label for="audit-limit">Newest</label>
          <select id="audit-limit" value={limit} onChange={(e) => setLimit(Number(e.currentTarget.value))}>
            {[100, 500, 1000].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </span>
      </form>
      <Loading state={state}>
        {(body) => (
          <div class="scroll">
            <table aria-label="Audit log">
              <thead>
                <tr>
                  <th scope="col">At</th>
                  <th scope="col">Principal</th>
                  <th scope="col">Operation</th>
                  <th scope="col">Target</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {body.events.filter(keep).map((e) => (
                  <tr key={e.id}>
                    <td>{e.at}</td>
                    <td>{e.principal}</td>
                    <td>{e.operation}</td>
                    <td class="mono small">{typeof e.target === "object" ? JSON.stringify(e.target) : e.target}</td>
                    <td>{e.status}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loading>
    </div>
  );
}

function Runs() {
  const state = useLoad(() => api("/admin/v1/maintenance/runs?pageSize=100"), []);
  return <Loading state={state}>{(body) => <RunsTable runs={body.runs} />}</Loading>;
}

export function Admin({ page }) {
  const pages = { tokens: Tokens, warehouses: WarehousesAdmin, audit: Audit, maintenance: Runs };
  const Page = pages[page] || Tokens;
  return (
    <main>
      <h1>Admin</h1>
      <Tabs current={page in pages ? page : "tokens"} />
      <Page />
    </main>
  );
}

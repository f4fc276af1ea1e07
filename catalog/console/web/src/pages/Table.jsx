import { useState } from "preact/hooks";
import { adminTablePath, api, seg, tablePath } from "../api.js";
import { ErrorBox, KeyValues, Loading, Section, TypedConfirm, fmtBytes, fmtTime, useLoad } from "../common.jsx";
import { Link, enc, encNs, navigate } from "../router.jsx";
import { uploadFile } from "../upload.js";
import { SnapshotCharts } from "./Charts.jsx";
import { SchemaTable, columnNames } from "./Schema.jsx";

const COMMITTER_KEYS = ["icefloe.principal", "committed-by", "user"];

function Snapshots({ meta }) {
  const snaps = [...(meta.snapshots || [])].sort((a, b) => b["timestamp-ms"] - a["timestamp-ms"]);
  if (!snaps.length) return <p class="muted">No snapshots yet.</p>;
  return (
    <ol class="timeline" aria-label="Snapshots">
      {snaps.map((s) => {
        const sum = s.summary || {};
        const who = COMMITTER_KEYS.map((k) => sum[k]).find(Boolean);
        return (
          <li key={s["snapshot-id"]} class="snapshot">
            <div>
              <strong>{sum.operation || "?"}</strong>{" "}
              <time>{fmtTime(s["timestamp-ms"])}</time>
              {s["snapshot-id"] === meta["current-snapshot-id"] && <span class="tag">current</span>}
            </div>
            <div class="mono small">id {String(s["snapshot-id"])}</div>
            <div class="small">
              +{sum["added-data-files"] || 0} / −{sum["deleted-data-files"] || 0} files, +
              {sum["added-records"] || 0} / −{sum["deleted-records"] || 0} rows; total{" "}
              <span class="rows-total">{sum["total-records"] || 0}</span> rows, {fmtBytes(sum["total-files-size"])}
              {who && <> · by {who}</>}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

function Refs({ meta }) {
  const refs = Object.entries(meta.refs || {});
  if (!refs.length) return <p class="muted">No branches or tags.</p>;
  return (
    <div class="scroll">
    <table aria-label="Branches and tags">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Kind</th>
          <th scope="col">Snapshot</th>
        </tr>
      </thead>
      <tbody>
        {refs.map(([name, r]) => (
          <tr key={name}>
            <td>{name}</td>
            <td>{r.type}</td>
            <td class="mono">{String(r["snapshot-id"])}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  );
}

function Specs({ meta, names }) {
  const specs = meta["partition-specs"] || [];
  const current = meta["default-spec-id"];
  return (
    <div>
      {specs.map((spec) => (
        <div key={spec["spec-id"]}>
          <h3>
            Spec {spec["spec-id"]} {spec["spec-id"] === current ? "(current)" : "(earlier)"}
          </h3>
          {spec.fields.length ? (
            <ul>
              {spec.fields.map((f) => (
                <li key={f["field-id"]} class="mono">
                  {f.transform}({names[f["source-id"]] || f["source-id"]}) → {f.name}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">Unpartitioned.</p>
          )}
        </div>
      ))}
    </div>
  );
}

function SortOrder({ meta, names }) {
  const order = (meta["sort-orders"] || []).find((o) => o["order-id"] === meta["default-sort-order-id"]);
  if (!order || !order.fields.length) return <p class="muted">Unsorted.</p>;
  return (
    <ul>
      {order.fields.map((f, i) => (
        <li key={i} class="mono">
          {f.transform}({names[f["source-id"]] || f["source-id"]}) {f.direction} {f["null-order"]}
        </li>
      ))}
    </ul>
  );
}

function Preview({ wh, levels, table, version }) {
  const state = useLoad(() => api(`${adminTablePath(wh, levels, table)}/preview?limit=50`), [wh, table, version]);
  return (
    <Loading state={state}>
      {(body) => (
        <div class="scroll">
          <table aria-label="Data preview" class="preview">
            <thead>
              <tr>
                {body.columns.map((c) => (
                  <th scope="col" key={c.name}>
                    {c.name} <span class="muted small">{c.type}</span>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {body.rows.map((row, i) => (
                <tr key={i}>
                  {row.map((cell, j) => (
                    <td key={j}>{cell === null ? "null" : typeof cell === "object" ? JSON.stringify(cell) : String(cell)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          {body.truncated && <p class="muted">First {body.rows.length} rows shown.</p>}
        </div>
      )}
    </Loading>
  );
}

function AddData({ wh, levels, table, onAdded }) {
  const [file, setFile] = useState(null);
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const base = `${adminTablePath(wh, levels, table)}/uploads`;
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setStatus("Uploading…");
    try {
      const slot = await uploadFile(base, file);
      setStatus("Checking and committing…");
      const done = await api(`${base}/${seg(slot["upload-id"])}/commit`, { method: "POST" });
      setStatus(`Added ${done["rows-added"]} rows; the table now has ${done["table-row-count"]} rows.`);
      onAdded();
    } catch (e) {
      setStatus(null);
      setError(e);
    }
  };
  return (
    <form onSubmit={submit} aria-label="Add data" class="stack">
      <label for="add-file">Parquet or CSV file to append</label>
      <input id="add-file" type="file" accept=".parquet,.csv,text/csv" required onChange={(e) => setFile(e.currentTarget.files[0] || null)} />
      <button type="submit" disabled={!file}>
        Add data
      </button>
      {status && <p role="status">{status}</p>}
      <ErrorBox error={error} />
    </form>
  );
}

function Maintenance({ wh, levels, table }) {
  const nsParam = encodeURIComponent(levels.join("\x1f"));
  const state = useLoad(async () => {
    const [policy, runs] = await Promise.all([
      api(`${adminTablePath(wh, levels, table)}/maintenance/policy`),
      api(`/admin/v1/maintenance/runs?warehouse=${seg(wh)}&namespace=${nsParam}&table=${seg(table)}&pageSize=10`),
    ]);
    return { policy, runs: runs.runs };
  }, [wh, table]);
  if (state.error && state.error.status === 403) return <p class="muted">Your token may not see maintenance.</p>;
  return (
    <Loading state={state}>
      {(d) => (
        <div>
          <h3>Policy in effect</h3>
          <KeyValues
            label="Maintenance policy"
            entries={Object.entries(d.policy.effective || {}).map(([k, v]) => [
              k,
              `${v}${(d.policy.sources || {})[k] === "default" ? " (default)" : ""}`,
            ])}
          />
          <h3>Last runs</h3>
          <RunsTable runs={d.runs} />
        </div>
      )}
    </Loading>
  );
}

export function RunsTable({ runs }) {
  if (!runs.length) return <p class="muted">No runs yet.</p>;
  return (
    <div class="scroll">
      <table aria-label="Maintenance runs">
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Table</th>
            <th scope="col">Kind</th>
            <th scope="col">Outcome</th>
            <th scope="col">Files before → after</th>
            <th scope="col">Snapshots expired</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td>{r["started-at"]}</td>
              <td>{[r.warehouse, ...r.namespace, r.table].join(".")}</td>
              <td>
                {r.kind}
                {r["dry-run"] ? " (dry run)" : ""}
              </td>
              <td>{r.outcome}{r.error ? `: ${r.error}` : ""}</td>
              <td>
                {r["files-before"]} → {r["files-after"]}
              </td>
              <td>{r["snapshots-expired"]}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Table({ wh, levels, table, can }) {
  const [version, setVersion] = useState(0);
  const state = useLoad(() => api(tablePath(wh, levels, table)), [wh, levels.join("\x1f"), table, version]);
  const drop = async () => {
    await api(tablePath(wh, levels, table), { method: "DELETE" });
    navigate(`/w/${enc(wh)}/n/${encNs(levels)}`);
  };
  return (
    <main>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link to="/">Warehouses</Link> / <Link to={`/w/${enc(wh)}`}>{wh}</Link> /{" "}
        <Link to={`/w/${enc(wh)}/n/${encNs(levels)}`}>{levels.join(".")}</Link> / <span>{table}</span>
      </nav>
      <h1>{table}</h1>
      <Loading state={state}>
        {(body) => {
          const meta = body.metadata;
          const schema = (meta.schemas || []).find((s) => s["schema-id"] === meta["current-schema-id"]) || { fields: [] };
          const names = columnNames(schema);
          const current = (meta.snapshots || []).find((s) => s["snapshot-id"] === meta["current-snapshot-id"]);
          return (
            <div>
              <KeyValues
                label="Table facts"
                entries={[
                  ["Format version", meta["format-version"]],
                  ["Location", meta.location],
                  ["UUID", meta["table-uuid"]],
                  ["Rows", current ? (current.summary || {})["total-records"] || "0" : "0"],
                  ["Size", current ? fmtBytes((current.summary || {})["total-files-size"]) : ""],
                  ["Last updated", fmtTime(meta["last-updated-ms"])],
                ]}
              />
              <Section title="Schema" id="schema">
                <SchemaTable schema={schema} />
              </Section>
              <Section title="Partitioning" id="partitioning">
                <Specs meta={meta} names={names} />
              </Section>
              <Section title="Sort order" id="sort-order">
                <SortOrder meta={meta} names={names} />
              </Section>
              <Section title="Snapshots" id="snapshots">
                <SnapshotCharts snapshots={meta.snapshots || []} />
                <Snapshots meta={meta} />
              </Section>
              <Section title="Branches and tags" id="refs">
                <Refs meta={meta} />
              </Section>
              <Section title="Properties" id="properties">
                <KeyValues label="Properties" entries={Object.entries(meta.properties || {})} />
              </Section>
              <Section title="Data preview" id="preview">
                <Preview wh={wh} levels={levels} table={table} version={version} />
              </Section>
              {can.write && (
                <Section title="Add data" id="add-data">
                  <AddData wh={wh} levels={levels} table={table} onAdded={() => setVersion(version + 1)} />
                </Section>
              )}
              <Section title="Maintenance" id="maintenance">
                <Maintenance wh={wh} levels={levels} table={table} />
              </Section>
              {can.write && (
                <Section title="Drop" id="drop">
                  <TypedConfirm id="drop-table" label="Drop table" name={table} onConfirm={drop} />
                </Section>
              )}
            </div>
          );
        }}
      </Loading>
    </main>
  );
}

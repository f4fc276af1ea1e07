import { useState } from "preact/hooks";
import { api, ns, seg } from "../api.js";
import { ErrorBox, Loading, Section, TypedConfirm, useLoad } from "../common.jsx";
import { Link, enc, encNs, navigate } from "../router.jsx";
import { uploadFile } from "../upload.js";
import { CreateNamespace } from "./Browse.jsx";

function CreateFromFile({ wh, levels }) {
  const [file, setFile] = useState(null);
  const [name, setName] = useState("");
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const base = `/admin/v1/warehouses/${seg(wh)}/namespaces/${ns(levels)}/uploads`;
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setStatus("Uploading…");
    try {
      const slot = await uploadFile(base, file);
      setStatus("Creating the table…");
      const made = await api(`${base}/${seg(slot["upload-id"])}/create-table`, {
        method: "POST",
        body: { name },
      });
      setStatus(`Created ${made.table} with ${made["rows-added"]} rows.`);
      navigate(`/w/${enc(wh)}/n/${encNs(levels)}/t/${enc(made.table)}`);
    } catch (e) {
      setStatus(null);
      setError(e);
    }
  };
  return (
    <form onSubmit={submit} aria-label="Create table from file" class="stack">
      <label for="create-file">Parquet or CSV file</label>
      <input id="create-file" type="file" accept=".parquet,.csv,text/csv" required onChange={(e) => setFile(e.currentTarget.files[0] || null)} />
      <label for="create-name">Table name</label>
      <input id="create-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <button type="submit" disabled={!file || !name}>
        Create table from file
      </button>
      {status && <p role="status">{status}</p>}
      <ErrorBox error={error} />
    </form>
  );
}

function Listing({ wh, levels, kind }) {
  const state = useLoad(() => api(`/v1/${seg(wh)}/namespaces/${ns(levels)}/${kind}`), [wh, levels.join("\x1f"), kind]);
  const letter = kind === "views" ? "v" : "t";
  return (
    <Loading state={state}>
      {(body) =>
        body.identifiers.length ? (
          <ul class="cards" aria-label={kind}>
            {body.identifiers.map((id) => (
              <li key={id.name}>
                <Link to={`/w/${enc(wh)}/n/${encNs(levels)}/${letter}/${enc(id.name)}`}>{id.name}</Link>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No {kind}.</p>
        )
      }
    </Loading>
  );
}

export function Namespace({ wh, levels, can }) {
  const key = levels.join("\x1f");
  const [version, setVersion] = useState(0);
  const props = useLoad(() => api(`/v1/${seg(wh)}/namespaces/${ns(levels)}`), [wh, key]);
  const children = useLoad(() => api(`/v1/${seg(wh)}/namespaces?parent=${ns(levels)}`), [wh, key, version]);
  const drop = async () => {
    await api(`/v1/${seg(wh)}/namespaces/${ns(levels)}`, { method: "DELETE" });
    navigate(`/w/${enc(wh)}`);
  };
  return (
    <main>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link to="/">Warehouses</Link> / <Link to={`/w/${enc(wh)}`}>{wh}</Link> /{" "}
        {levels.map((l, i) => (
          <span key={i}>
            {i > 0 && " . "}
            <Link to={`/w/${enc(wh)}/n/${encNs(levels.slice(0, i + 1))}`}>{l}</Link>
          </span>
        ))}
      </nav>
      <h1>{levels.join(".")}</h1>
      <Section title="Tables" id="tables">
        <Listing key={`t${version}`} wh={wh} levels={levels} kind="tables" />
      </Section>
      <Section title="Views" id="views">
        <Listing wh={wh} levels={levels} kind="views" />
      </Section>
      <Section title="Namespaces inside" id="children">
        <Loading state={children}>
          {(body) =>
            body.namespaces.length ? (
              <ul class="cards">
                {body.namespaces.map((l) => (
                  <li key={l.join("\x1f")}>
                    <Link to={`/w/${enc(wh)}/n/${encNs(l)}`}>{l[l.length - 1]}</Link>
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">None.</p>
            )
          }
        </Loading>
        {can.write && <CreateNamespace wh={wh} parent={levels} onCreated={() => setVersion(version + 1)} />}
      </Section>
      <Section title="Properties" id="ns-properties">
        <Loading state={props}>
          {(body) => (
            <dl class="props">
              {Object.entries(body.properties || {}).map(([k, v]) => [<dt key={`k${k}`}>{k}</dt>, <dd key={`v${k}`}>{v}</dd>])}
            </dl>
          )}
        </Loading>
      </Section>
      {can.write && (
        <Section title="Change" id="ns-write">
          <CreateFromFile wh={wh} levels={levels} />
          <TypedConfirm id="drop-namespace" label="Drop namespace" name={levels.join(".")} onConfirm={drop} />
        </Section>
      )}
    </main>
  );
}

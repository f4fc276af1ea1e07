// A warehouse: the namespace tree (each level listed when opened) and a name search.
import { useState } from "preact/hooks";
import { api, ns, seg } from "../api.js";
import { ErrorBox, Loading, useLoad } from "../common.jsx";
import { Link, enc, encNs } from "../router.jsx";

function Children({ wh, parent }) {
  const query = parent.length ? `?parent=${ns(parent)}` : "";
  const state = useLoad(() => api(`/v1/${seg(wh)}/namespaces${query}`), [wh, parent.join("\x1f")]);
  return (
    <Loading state={state}>
      {(body) =>
        body.namespaces.length ? (
          <ul role="group" class="tree">
            {body.namespaces.map((levels) => (
              <Node key={levels.join("\x1f")} wh={wh} levels={levels} />
            ))}
          </ul>
        ) : (
          !parent.length && <p class="muted">No namespaces yet.</p>
        )
      }
    </Loading>
  );
}

function Node({ wh, levels }) {
  const [open, setOpen] = useState(false);
  const name = levels[levels.length - 1];
  return (
    <li role="treeitem" aria-expanded={open}>
      <button
        type="button"
        class="twisty"
        aria-label={`${open ? "Collapse" : "Expand"} ${name}`}
        onClick={() => setOpen(!open)}
      >
        {open ? "▾" : "▸"}
      </button>
      <Link to={`/w/${enc(wh)}/n/${encNs(levels)}`}>{name}</Link>
      {open && <Children wh={wh} parent={levels} />}
    </li>
  );
}

function Search({ wh }) {
  const [q, setQ] = useState("");
  const [hits, setHits] = useState(null);
  const [error, setError] = useState(null);
  const run = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const body = await api(`/admin/v1/search?q=${encodeURIComponent(q)}&warehouse=${seg(wh)}`);
      setHits(body.results);
    } catch (e) {
      setError(e);
      setHits(null);
    }
  };
  return (
    <form role="search" onSubmit={run} class="inline">
      <label for="search">Search names</label>
      <input id="search" type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
      <button type="submit">Search</button>
      <ErrorBox error={error} />
      {hits && (
        <ul class="hits" aria-label="Search results">
          {hits.length === 0 && <li class="muted">Nothing matches.</li>}
          {hits.map((h, i) => {
            if (h.kind === "namespace")
              return (
                <li key={i}>
                  <span class="tag">namespace</span>{" "}
                  <Link to={`/w/${enc(wh)}/n/${encNs(h.namespace)}`}>{h.namespace.join(".")}</Link>
                </li>
              );
            const kind = h.kind === "view" ? "v" : "t";
            const id = h.identifier;
            return (
              <li key={i}>
                <span class="tag">{h.kind}</span>{" "}
                <Link to={`/w/${enc(wh)}/n/${encNs(id.namespace)}/${kind}/${enc(id.name)}`}>
                  {[...id.namespace, id.name].join(".")}
                </Link>
              </li>
            );
          })}
        </ul>
      )}
    </form>
  );
}

function CreateNamespace({ wh, parent, onCreated }) {
  const [name, setName] = useState("");
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      await api(`/v1/${seg(wh)}/namespaces`, { method: "POST", body: { namespace: [...parent, name] } });
      setName("");
      onCreated();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <form onSubmit={submit} class="inline" aria-label="Create namespace">
      <label for="new-namespace">New namespace{parent.length ? ` in ${parent.join(".")}` : ""}</label>
      <input id="new-namespace" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <button type="submit">Create namespace</button>
      <ErrorBox error={error} />
    </form>
  );
}

export { CreateNamespace };

export function Browse({ wh, can }) {
  const [version, setVersion] = useState(0);
  return (
    <main>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link to="/">Warehouses</Link> / <span>{wh}</span>
      </nav>
      <h1>{wh}</h1>
      <Search wh={wh} />
      <h2>Namespaces</h2>
      <div role="tree" aria-label="Namespaces">
        <Children key={version} wh={wh} parent={[]} />
      </div>
      {can.write && <CreateNamespace wh={wh} parent={[]} onCreated={() => setVersion(version + 1)} />}
    </main>
  );
}

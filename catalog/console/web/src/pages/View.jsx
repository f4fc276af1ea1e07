import { api, viewPath } from "../api.js";
import { Loading, Section, KeyValues, fmtTime, useLoad } from "../common.jsx";
import { Link, enc, encNs } from "../router.jsx";
import { SchemaTable } from "./Schema.jsx";

export function View({ wh, levels, view }) {
  const state = useLoad(() => api(viewPath(wh, levels, view)), [wh, levels.join("\x1f"), view]);
  return (
    <main>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link to="/">Warehouses</Link> / <Link to={`/w/${enc(wh)}`}>{wh}</Link> /{" "}
        <Link to={`/w/${enc(wh)}/n/${encNs(levels)}`}>{levels.join(".")}</Link> / <span>{view}</span>
      </nav>
      <h1>{view}</h1>
      <Loading state={state}>
        {(body) => {
          const meta = body.metadata;
          const versions = [...(meta.versions || [])].sort((a, b) => b["version-id"] - a["version-id"]);
          const current = versions.find((v) => v["version-id"] === meta["current-version-id"]) || versions[0];
          const schema = (meta.schemas || []).find((s) => s["schema-id"] === (current || {})["schema-id"]) || { fields: [] };
          return (
            <div>
              <Section title="SQL" id="sql">
                {((current || {}).representations || []).map((r, i) => (
                  <figure key={i}>
                    <figcaption>{r.dialect}</figcaption>
                    <pre class="sql">{r.sql}</pre>
                  </figure>
                ))}
              </Section>
              <Section title="Schema" id="view-schema">
                <SchemaTable schema={schema} />
              </Section>
              <Section title="Versions" id="versions">
                <ol class="timeline">
                  {versions.map((v) => (
                    <li key={v["version-id"]}>
                      <strong>Version {v["version-id"]}</strong> <time>{fmtTime(v["timestamp-ms"])}</time>{" "}
                      <span class="muted">{Object.entries(v.summary || {}).map(([k, x]) => `${k}=${x}`).join(", ")}</span>
                    </li>
                  ))}
                </ol>
              </Section>
              <Section title="Properties" id="view-properties">
                <KeyValues label="View properties" entries={[["Location", meta.location], ...Object.entries(meta.properties || {})]} />
              </Section>
            </div>
          );
        }}
      </Loading>
    </main>
  );
}

// An Iceberg schema as rows: nested structs, lists and maps indented under their parent.
function typeName(type) {
  if (typeof type === "string") return type;
  if (type.type === "struct") return "struct";
  if (type.type === "list") return `list<${typeName(type.element)}>`;
  if (type.type === "map") return `map<${typeName(type.key)}, ${typeName(type.value)}>`;
  return JSON.stringify(type);
}

function rows(fields, depth, out) {
  for (const f of fields) {
    out.push({ id: f.id, name: f.name, type: typeName(f.type), required: f.required, doc: f.doc, depth });
    nested(f.type, depth + 1, out);
  }
}

function nested(type, depth, out) {
  if (typeof type !== "object" || type === null) return;
  if (type.type === "struct") rows(type.fields, depth, out);
  if (type.type === "list") {
    out.push({ id: type["element-id"], name: "element", type: typeName(type.element), required: type["element-required"], depth });
    nested(type.element, depth + 1, out);
  }
  if (type.type === "map") {
    out.push({ id: type["key-id"], name: "key", type: typeName(type.key), required: true, depth });
    nested(type.key, depth + 1, out);
    out.push({ id: type["value-id"], name: "value", type: typeName(type.value), required: type["value-required"], depth });
    nested(type.value, depth + 1, out);
  }
}

export function SchemaTable({ schema, label = "Schema" }) {
  const out = [];
  rows(schema.fields || [], 0, out);
  return (
    <div class="scroll">
      <table aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Column</th>
            <th scope="col">Type</th>
            <th scope="col">Required</th>
            <th scope="col">Doc</th>
          </tr>
        </thead>
        <tbody>
          {out.map((r) => (
            <tr key={r.id}>
              <td class="num">{r.id}</td>
              <td class={`depth-${Math.min(r.depth, 5)}`}>{r.name}</td>
              <td class="mono">{r.type}</td>
              <td>{r.required ? "required" : "optional"}</td>
              <td>{r.doc || ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Field id -> dotted column name, for partition and sort fields. */
export function columnNames(schema) {
  const names = {};
  const walk = (fields, prefix) => {
    for (const f of fields) {
      names[f.id] = prefix + f.name;
      if (typeof f.type === "object" && f.type.type === "struct") walk(f.type.fields, `${prefix}${f.name}.`);
    }
  };
  walk(schema.fields || [], "");
  return names;
}

// The browser side of loading a file (docs/console.md): ask the catalog for an upload slot,
// PUT the file straight to the object store, then ask the catalog to commit (or create a table).
import { api, putToStore } from "./api.js";

export function contentType(file) {
  if (/\.csv$/i.test(file.name) || file.type === "text/csv") return "text/csv";
  return "application/vnd.apache.parquet";
}

export async function uploadFile(slotPath, file) {
  const slot = await api(slotPath, {
    method: "POST",
    body: { "file-name": file.name, "content-type": contentType(file), "content-length": file.size },
  });
  await putToStore(slot, file);
  return slot;
}


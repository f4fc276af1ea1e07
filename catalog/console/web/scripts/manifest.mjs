// Writes ../static/manifest.json: a hash of the console's sources and of each built file.
// tests/unit/test_console_build.py recomputes both (same rule as sources_hash below) and
// fails when the committed build is older than its sources: a hash, since git resets mtimes.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const web = fileURLToPath(new URL("..", import.meta.url));
const staticDir = join(web, "..", "static");
const SKIP = new Set(["node_modules"]);

function walk(dir, root) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path, root));
    else out.push(relative(root, path).split(sep).join("/"));
  }
  return out.sort();
}

function treeHash(root, files) {
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(file + "\0");
    hash.update(readFileSync(join(root, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

const sources = walk(web, web);
const built = walk(staticDir, staticDir).filter((f) => f !== "manifest.json");
const manifest = {
  "sources-sha256": treeHash(web, sources),
  sources,
  files: Object.fromEntries(
    built.map((f) => [f, createHash("sha256").update(readFileSync(join(staticDir, f))).digest("hex")]),
  ),
};
writeFileSync(join(staticDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`manifest: ${sources.length} sources, ${built.length} built files`);

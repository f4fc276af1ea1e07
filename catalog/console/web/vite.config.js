// Builds the console into ../static (committed; the Python package serves it at /ui).
import { defineConfig } from "vite";

export default defineConfig({
  base: "/ui/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "../static",
    emptyOutDir: true,
    assetsInlineLimit: 0, // no data: URLs: everything is a file under 'self'
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2020",
  },
});

// After tsc: dist/config/schema-library.js re-exports a few names of valibot; bundle them into
// that file (tree-shaken), so that no command loads the whole 200 kB module. See the source file.
// valibot is MIT licensed: its licence goes at the top of the bundle.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// valibot exports no ./package.json: find its folder from its entry (<folder>/dist/index.mjs).
const folder = new URL('..', import.meta.resolve('valibot'));
const licence = readFileSync(new URL('LICENSE.md', folder), 'utf8').trim();
const version = JSON.parse(readFileSync(new URL('package.json', folder), 'utf8')).version;
const file = fileURLToPath(new URL('../dist/config/schema-library.js', import.meta.url));
await build({
  entryPoints: [file],
  outfile: file,
  allowOverwrite: true,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  banner: { js: `/*! Parts of valibot ${version} (https://valibot.dev), bundled by delta's build.\n${licence.replaceAll('*/', '* /')}\n*/` },
  logLevel: 'warning',
});

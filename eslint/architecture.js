// delta's own lint rules for the shape of src/ (docs/architecture.md draws it):
//   delta/layers     a folder imports only folders of a lower layer (types included);
//   delta/no-cycles  no file takes part in an import cycle (static and dynamic imports; `import type` is free).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Bottom to top: each area may import the areas of the layers below it (and layer 0 each other). */
export const LAYERS = [
  ['vocabulary', 'errors', 'version'],
  ['sqlite', 'config'],
  ['backup', 'connection', 'loader', 'lock', 'tracker'],
  ['runner'],
  ['fleet', 'adopt', 'rehearse'],
  ['api'],
  ['cli'],
  ['index'],
];
/** The sandbox is a server of its own: it imports nothing of delta's, and only the CLI and the package entry start it. */
const SANDBOX_USERS = new Set(['cli', 'index']);

const SRC = resolve(dirname(new URL(import.meta.url).pathname), '..', 'src');
const layerOf = new Map(LAYERS.flatMap((areas, layer) => areas.map((area) => [area, layer])));

/** The area of a file under src/: its top folder, or the name of a top-level file without extension. */
function areaOf(file) {
  const rel = relative(SRC, file);
  if (rel.startsWith('..')) return undefined;
  const [first, ...rest] = rel.split(sep);
  return rest.length > 0 ? first : first.replace(/\.[cm]?[tj]s$/, '');
}

/** An import specifier relative to `from`, as the TypeScript file it names. */
function resolveImport(from, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const target = resolve(dirname(from), specifier);
  for (const candidate of [target.replace(/\.js$/, '.ts'), target.replace(/\.mjs$/, '.mts'), target, `${target}.ts`, join(target, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

function allowed(fromArea, toArea) {
  if (fromArea === toArea) return true;
  if (toArea === 'sandbox') return SANDBOX_USERS.has(fromArea);
  if (fromArea === 'sandbox') return false;
  const from = layerOf.get(fromArea);
  const to = layerOf.get(toArea);
  if (from === undefined || to === undefined) return false;
  return to < from || (to === 0 && from === 0);
}

const layers = {
  meta: { type: 'problem', schema: [], messages: { upward: 'src/{{from}} may not import src/{{to}} (layers, bottom first: {{layers}}; see docs/architecture.md)' } },
  create(context) {
    const file = context.filename;
    const fromArea = areaOf(file);
    if (fromArea === undefined) return {};
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      const target = resolveImport(file, source);
      if (target === undefined) return;
      const toArea = areaOf(target);
      if (toArea === undefined || allowed(fromArea, toArea)) return;
      context.report({ node, messageId: 'upward', data: { from: fromArea, to: toArea, layers: LAYERS.map((areas) => areas.join('/')).join(' < ') } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

// --- cycles: one graph of src/ per lint run, its strongly connected components found once ---

const RUNTIME_IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
let cycles;

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : /\.[cm]?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Each file in a cycle, mapped to the files of its cycle (Tarjan's algorithm over runtime imports). */
function cyclesOfSrc() {
  const graph = new Map();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = new Set();
    for (const match of text.matchAll(RUNTIME_IMPORT)) {
      const target = resolveImport(file, match[1] ?? match[2]);
      if (target !== undefined) targets.add(target);
    }
    graph.set(file, [...targets]);
  }
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const inCycle = new Map();
  let counter = 0;
  const visit = (node) => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node), index.get(next)));
    }
    if (low.get(node) !== index.get(node)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    const selfImport = component.length === 1 && (graph.get(node) ?? []).includes(node);
    if (component.length > 1 || selfImport) for (const file of component) inCycle.set(file, component.map((f) => relative(SRC, f)).sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return inCycle;
}

const noCycles = {
  meta: { type: 'problem', schema: [], messages: { cycle: 'import cycle: {{files}} (move what they share down, into src/vocabulary or a lower layer)' } },
  create(context) {
    return {
      Program(node) {
        cycles ??= cyclesOfSrc();
        const members = cycles.get(context.filename);
        if (members !== undefined) context.report({ node, messageId: 'cycle', data: { files: members.join(', ') } });
      },
    };
  },
};

export default { rules: { layers, 'no-cycles': noCycles } };

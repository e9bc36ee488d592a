import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The project's lint configuration over a file that would sit at `path`, as `npm run lint` sees it. */
async function lint(path: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}${path}` });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? ''}: ${m.message}`);
}

describe('the lint rules on the shape of src/', () => {
  it('refuse an import from a higher layer, a type import included, naming both folders', async () => {
    const messages = await lint('src/loader/probe.ts', "import type { Delta } from '../api/delta.js';\nexport type Probe = Delta;\n");
    assert.equal(messages.length, 1, messages.join('\n'));
    assert.match(messages[0] ?? '', /^delta\/layers: src\/loader may not import src\/api \(layers, bottom first: vocabulary\/errors\/version < /);
  });

  it('let a folder import a lower layer, and only src/cli import commander', async () => {
    assert.deepEqual(await lint('src/runner/probe.ts', "import { isDatabaseName } from '../vocabulary/index.js';\nexport const probe = isDatabaseName;\n"), []);
    assert.deepEqual(await lint('src/api/probe.ts', "import { Command } from 'commander';\nexport const probe = Command;\n"), [
      "no-restricted-imports: 'commander' import is restricted from being used. Only src/cli/ may import CLI libraries.",
    ]);
  });

  it('keep the sandbox apart: the engine may not start it, the CLI may', async () => {
    const engine = await lint('src/runner/probe.ts', "import { startSandbox } from '../sandbox/index.js';\nexport const probe = startSandbox;\n");
    assert.equal(engine.length, 1, engine.join('\n'));
    assert.match(engine[0] ?? '', /src\/runner may not import src\/sandbox/);
    assert.deepEqual(await lint('src/cli/probe.ts', "import { startSandbox } from '../sandbox/index.js';\nexport const probe = startSandbox;\n"), []);
  });
});

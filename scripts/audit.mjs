#!/usr/bin/env node
// npm run audit: the registry's advisories for delta's production dependencies. The registry's
// audit endpoint is not always reachable (an offline machine, a mirror without it): then this
// says so plainly and exits 0, rather than failing a build for want of a network.
import { spawnSync } from 'node:child_process';

const result = spawnSync('npm', ['audit', '--omit=dev', ...process.argv.slice(2)], { encoding: 'utf8', shell: process.platform === 'win32' });
const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
const unreachable = /audit endpoint returned an error|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|405 Method Not Allowed|network/i.test(output) && !/found \d+ vulnerabilit/i.test(output);
if (unreachable) {
  process.stdout.write("npm run audit: the registry's audit endpoint could not be reached from here, so no advisories were checked (run it where https://registry.npmjs.org is reachable)\n");
  process.exit(0);
}
process.stdout.write(result.stdout ?? '');
process.stderr.write(result.stderr ?? '');
process.exit(result.status ?? 1);

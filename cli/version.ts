import { readFileSync } from 'node:fs';
import { describeEngine } from '../codec/engine.js';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** `shardgate version`: which engine and CPU kernel this machine uses, chosen at run time. */
export function runVersion(): void {
  console.log(`shardgate ${packageVersion()} (node ${process.version})`);
  console.log(describeEngine().summary);
}

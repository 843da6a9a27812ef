#!/usr/bin/env -S node --initial-old-space-size=128
// Thin launcher: the CLI is TypeScript compiled to dist/ by `npm install` (prepare) or `npm run build`.
// The V8 flags on the first line are cli/node-flags.ts's SERVER_NODE_FLAGS (why: there).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error('shardgate: dist/ is missing; run `npm run build` (or `npm ci`) first.');
  process.exit(1);
}
await import(main);

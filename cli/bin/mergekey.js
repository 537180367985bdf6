#!/usr/bin/env node
// The `mergekey` executable. The CLI is written in TypeScript and run through tsx, so a fresh
// `npm ci` is all it takes: no build step stands between a clone and a working command.
import { register } from 'tsx/esm/api';

register();
await import('../main.ts');

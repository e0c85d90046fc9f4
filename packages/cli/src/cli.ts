#!/usr/bin/env node
/**
 * The `conclave` command: init, start, status, kv, mcp. `pnpm conclave help` prints the usage;
 * the commands themselves are in commands.ts.
 */
import { runCli } from './commands.ts';

await runCli(process.argv.slice(2));

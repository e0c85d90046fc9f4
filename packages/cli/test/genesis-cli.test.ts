import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleGenesis, keygen } from '@conclave/node';
import { afterAll, describe, expect, it } from 'vitest';
import { runConclaveHere } from '../src/run-here.ts';
import { expectOneLineError } from './support/run-cli.ts';

/** In this process: the same command code without a node + tsx start-up each (cli.test.ts runs the binary). */
const conclave = (...args: string[]) => runConclaveHere(args);

const work = mkdtempSync(join(tmpdir(), 'conclave-genesis-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An unsigned genesis of four replicas and one agent, made in-process; replica 0's key in `dir`. */
function unsignedGenesis(dir: string): string {
  const parties = [0, 1, 2, 3].map((id) =>
    keygen({
      role: 'replica',
      id,
      host: '127.0.0.1',
      port: 21_500 + id,
      dir: id === 0 ? dir : `${dir}-r${id}`,
    }),
  );
  const alice = keygen({ role: 'agent', id: 'alice', dir: `${dir}-alice` });
  const genesis = assembleGenesis(
    [...parties, alice].map((p) => ({ source: p.statementPath, json: p.statement })),
  );
  const path = join(dir, 'genesis.json');
  writeFileSync(path, JSON.stringify(genesis, null, 2));
  return path;
}

describe('conclave keygen and genesis', () => {
  it('keygen refuses to overwrite a key, and an agent with an address', async () => {
    const dir = join(work, 'keygen');
    expect((await conclave('keygen', '--agent', 'bob', '--out', dir)).status).toBe(0);
    const again = await conclave('keygen', '--agent', 'bob', '--out', dir);
    expect(again.status).toBe(1);
    expectOneLineError(again, /bob\.secret exists; a key is never overwritten/);
    const usage = await conclave('keygen', '--agent', 'carol', '--host', 'h', '--out', dir);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/an agent has no address/);
  });

  it('verify exits 1 on an incomplete genesis and says who has not signed; start refuses it', async () => {
    const dir = join(work, 'start');
    mkdirSync(dir);
    const path = unsignedGenesis(dir);
    const hash = JSON.parse(readFileSync(path, 'utf8')).hash as string;
    const verify = await conclave('genesis', 'verify', path);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toMatch(`hash ${hash}`);
    expect(verify.stdout).toMatch(/not yet by replica 0, 1, 2, 3/);
    expect(verify.stdout).toMatch(/^incomplete: 4 of 4 replicas have not signed/m);
    const start = await conclave('start', '--dir', dir, '--replica', '0');
    expect(start.status).toBe(1);
    expectOneLineError(start, /not signed by every replica operator yet \(missing: replica 0, 1, 2, 3\)/);
  });

  it('sign refuses an altered genesis, and start a pinned hash that differs', async () => {
    const dir = join(work, 'altered');
    mkdirSync(dir);
    const path = unsignedGenesis(dir);
    const genesis = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...genesis, tickMs: 1 }));
    const sign = await conclave('genesis', 'sign', path, '--key', join(dir, 'keys', 'replica-0.secret'));
    expect(sign.status).toBe(1);
    expectOneLineError(sign, /was altered after assembly/);
    writeFileSync(path, JSON.stringify(genesis));
    const pinned = await conclave('start', '--dir', dir, '--replica', '0', '--genesis-hash', 'ab'.repeat(32));
    expect(pinned.status).toBe(1);
    expectOneLineError(pinned, /not the pinned --genesis-hash/);
  });
});

describe('conclave genesis assemble --observers', () => {
  it('marks the named agents observers and leaves them off the default council', async () => {
    const dir = join(work, 'observers');
    mkdirSync(dir);
    const replicas = [0, 1, 2, 3].map((id) =>
      keygen({ role: 'replica', id, host: '127.0.0.1', port: 21_600 + id, dir: `${dir}-r${id}` }),
    );
    const agents = ['alice', 'bob', 'watch'].map((id) => keygen({ role: 'agent', id, dir: `${dir}-${id}` }));
    const out = join(dir, 'genesis.json');
    const files = [...replicas, ...agents].map((p) => p.statementPath);
    const run = await conclave('genesis', 'assemble', ...files, '--out', out, '--observers', 'watch');
    expect(run.status, run.stderr).toBe(0);
    const genesis = JSON.parse(readFileSync(out, 'utf8'));
    expect(
      genesis.agents.map((a: { id: string; observer?: boolean }) => [a.id, a.observer ?? false]),
    ).toEqual([
      ['alice', false],
      ['bob', false],
      ['watch', true],
    ]);
    expect(genesis.council).toEqual({ members: ['alice', 'bob'], threshold: 2 });
    const stranger = await conclave(
      'genesis',
      'assemble',
      ...files,
      '--out',
      join(dir, 'x.json'),
      '--observers',
      'eve',
    );
    expect(stranger.status).toBe(1);
    expect(stranger.stderr).toMatch(/observers name eve, not agents of this genesis/);
  });
});

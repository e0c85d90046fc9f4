/**
 * The genesis ceremony's library: keygen, assemble's refusals, sign and verify, and what
 * `loadClusterFile` (so `conclave start` and every tool) accepts from a genesis.json.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkJoinStatement,
  joinStatementFromJson,
  joinStatementToJson,
  nodeCrypto,
  signJoinStatement,
} from '@conclave/core';
import { afterAll, describe, expect, it } from 'vitest';
import { initCluster, loadClusterFile } from '../src/cluster-file.ts';
import { coordinationOptionsOf } from '../src/coordination-options.ts';
import { CliError } from '../src/errors.ts';
import { assembleGenesis, type StatementInput } from '../src/genesis-assemble.ts';
import { GENESIS_FILE, type GenesisFile, genesisHashOf } from '../src/genesis-format.ts';
import { checkGenesis } from '../src/genesis-load.ts';
import { mergeGenesis, signGenesis } from '../src/genesis-sign.ts';
import { readSecretKeyFile } from '../src/key-file.ts';
import { type KeygenOptions, keygen } from '../src/keygen.ts';

const crypto = nodeCrypto();
/** Genesis JSON as an attacker edits it: any field, any depth. */
// biome-ignore lint/suspicious/noExplicitAny: the edits below reach into arbitrary JSON
type Editable = Record<string, any>;
const work = mkdtempSync(join(tmpdir(), 'conclave-genesis-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let dirs = 0;
/** A party's own directory, made by keygen: its statement as assemble reads it, and its key path. */
function party(options: KeygenOptions): { input: StatementInput; keyPath: string; dir: string } {
  const dir = join(work, `party-${dirs++}`);
  const made = keygen({ ...options, dir });
  return { input: { source: made.statementPath, json: made.statement }, keyPath: made.keyPath, dir };
}

const replica = (id: number) => party({ role: 'replica', id, host: '127.0.0.1', port: 21_000 + id });
const agent = (id: string) => party({ role: 'agent', id });

const replicas = [0, 1, 2, 3].map(replica);
const agents = ['alice', 'bob', 'carol'].map(agent);
const inputs = [...replicas, ...agents].map((p) => p.input);

function refusal(action: () => unknown): CliError {
  try {
    action();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

/** The genesis signed by the replicas given (by index). */
function signedBy(genesis: GenesisFile, ids: readonly number[]): GenesisFile {
  let current = genesis;
  for (const id of ids) {
    const keyPath = replicas[id]?.keyPath as string;
    const checked = checkGenesis(current, 'genesis.json');
    current = signGenesis(checked, readSecretKeyFile(keyPath, crypto), { genesisPath: 'g', keyPath }).genesis;
  }
  return current;
}

/** A start directory: the genesis and replica 0's key. */
function startDir(genesis: unknown): string {
  const dir = join(work, `start-${dirs++}`);
  mkdirSync(join(dir, 'keys'), { recursive: true });
  writeFileSync(join(dir, GENESIS_FILE), JSON.stringify(genesis));
  copyFileSync(replicas[0]?.keyPath as string, join(dir, 'keys', 'replica-0.secret'));
  return dir;
}

describe('keygen', () => {
  it('writes an owner-only key and a statement that checks, and never overwrites a key', () => {
    const made = replicas[2] as (typeof replicas)[number];
    expect(statSync(made.keyPath).mode & 0o777).toBe(0o600);
    const statement = joinStatementFromJson(JSON.parse(readFileSync(made.input.source, 'utf8')));
    expect(checkJoinStatement(statement, crypto)).toBeUndefined();
    expect(statement).toMatchObject({ role: 'replica', id: '2', host: '127.0.0.1', port: 21_002 });
    // The key file is the statement's key.
    expect(readSecretKeyFile(made.keyPath, crypto).publicKey).toEqual(statement.publicKey);
    const before = readFileSync(made.keyPath, 'utf8');
    const again = refusal(() =>
      keygen({ role: 'replica', id: 2, host: '127.0.0.1', port: 21_002, dir: made.dir }),
    );
    expect(again.code).toBe('ALREADY_EXISTS');
    expect(readFileSync(made.keyPath, 'utf8')).toBe(before);
  });

  it('refuses what a statement cannot carry before writing anything', () => {
    expect(
      refusal(() => keygen({ role: 'replica', id: 0, host: '', port: 1, dir: join(work, 'x') })).code,
    ).toBe('BAD_ARGUMENT');
  });
});

describe('genesis assemble', () => {
  it('writes replicas in id order with their proofs, the default council and a hash', () => {
    const genesis = assembleGenesis([...inputs].reverse());
    expect(genesis.replicas.map((r) => r.id)).toEqual([0, 1, 2, 3]);
    expect(genesis.council).toEqual({ members: ['carol', 'bob', 'alice'], threshold: 2 });
    expect(genesis.signatures).toEqual([]);
    expect(genesis.hash).toBe(genesisHashOf(genesis));
    expect(checkGenesis(genesis, 'g').signatures).toEqual({
      signed: [],
      missing: [0, 1, 2, 3],
      complete: false,
    });
  });

  it('hashes content, not its spelling: key order does not matter', () => {
    const genesis = assembleGenesis(inputs);
    const reordered = Object.fromEntries(Object.entries(genesis).reverse());
    expect(genesisHashOf(reordered)).toBe(genesis.hash);
  });

  const refuses = (
    what: string,
    statements: readonly StatementInput[],
    code: string,
    message: RegExp,
    options = {},
  ) =>
    it(`refuses ${what}`, () => {
      const error = refusal(() => assembleGenesis(statements, options));
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
    });

  const json = (p: { input: StatementInput }) => p.input.json as Record<string, unknown>;
  const swapped = {
    source: 'swapped.json',
    json: { ...json(agents[0] as never), publicKey: json(agents[1] as never).publicKey },
  };
  refuses(
    'a statement whose key did not sign it',
    [...inputs.slice(0, 4), swapped],
    'GENESIS_BAD_PROOF',
    /swapped\.json.*proof of possession/,
  );
  refuses(
    'a duplicate replica id',
    [...inputs, replica(3).input],
    'GENESIS_INVALID',
    /replica 3 has two statements/,
  );
  refuses(
    'a duplicate agent id',
    [...inputs, agent('bob').input],
    'GENESIS_INVALID',
    /agent bob has two statements/,
  );
  const copied = { source: 'copy.json', json: json(agents[0] as never) };
  refuses(
    'one key for two parties',
    [...inputs, copied],
    'GENESIS_INVALID',
    /agent alice has two statements/,
  );
  // The same key under another id, signed with it: one party registering twice.
  const twice = party({ role: 'agent', id: 'dave' });
  const daveKey = readSecretKeyFile(twice.keyPath, crypto);
  const doubled = {
    source: 'dave-as-erin.json',
    json: joinStatementToJson(
      signJoinStatement(
        { role: 'agent', id: 'erin', publicKey: daveKey.publicKey, host: '', port: 0 },
        daveKey.secretKey,
        crypto,
      ),
    ),
  };
  refuses(
    'a duplicate public key',
    [...inputs, twice.input, doubled],
    'GENESIS_INVALID',
    /belongs to two parties/,
  );
  refuses('5 replicas', [...inputs, replica(4).input], 'GENESIS_INVALID', /3f\+1 replicas .* got 5/);
  refuses(
    'a gap in replica ids',
    [...inputs.slice(0, 3), replica(4).input, ...inputs.slice(4)],
    'GENESIS_INVALID',
    /exactly 0\.\.3/,
  );
  refuses('no agents', inputs.slice(0, 4), 'GENESIS_INVALID', /at least one agent/);
  refuses('a council member that is not an agent', inputs, 'GENESIS_INVALID', /mallory are not agents/, {
    council: ['alice', 'mallory'],
  });
  refuses('threshold 0', inputs, 'GENESIS_INVALID', /threshold.*1 to 2/, {
    council: ['alice', 'bob'],
    threshold: 0,
  });
  refuses(
    'a threshold above the members',
    inputs,
    'GENESIS_INVALID',
    /threshold.*1 to 2 \(the members\), got 3/,
    {
      council: ['alice', 'bob'],
      threshold: 3,
    },
  );
  refuses('coordination limits that do not parse', inputs, 'CONFIG_INVALID', /unknown coordination limit/, {
    coordination: { noSuchLimit: 1 },
  });
  refuses('bad protocol settings', inputs, 'GENESIS_INVALID', /protocol/, {
    protocol: { heartbeatTicks: 0 },
  });
});

describe('genesis sign and verify', () => {
  const genesis = assembleGenesis(inputs, { council: ['alice', 'bob'], threshold: 2 });

  it('round-trips: each operator adds a signature, verify reports who, complete at the last', () => {
    const two = signedBy(genesis, [2, 0]);
    expect(two.signatures.map((s) => s.replica)).toEqual([0, 2]);
    expect(checkGenesis(two, 'g').signatures).toEqual({ signed: [0, 2], missing: [1, 3], complete: false });
    const all = signedBy(two, [1, 3]);
    expect(checkGenesis(all, 'g').signatures.complete).toBe(true);
    // Signing again changes nothing (Ed25519 is deterministic).
    expect(signedBy(all, [1]).signatures).toEqual(all.signatures);
  });

  it('refuses a key that is not one of its replicas', () => {
    const keyPath = agents[0]?.keyPath as string;
    const error = refusal(() =>
      signGenesis(checkGenesis(genesis, 'g'), readSecretKeyFile(keyPath, crypto), {
        genesisPath: 'g',
        keyPath,
      }),
    );
    expect(error.code).toBe('GENESIS_NOT_A_SIGNER');
  });

  const complete = signedBy(genesis, [0, 1, 2, 3]);
  const edits: [string, (g: Editable) => void][] = [
    ['tickMs', (g) => (g.tickMs = 11)],
    ['a replica port', (g) => (g.replicas[1].port = 9)],
    ['a replica httpPort', (g) => (g.replicas[1].httpPort = 9)],
    ['an agent key', (g) => (g.agents[0].publicKey = g.agents[1].publicKey)],
    ['an agent weight', (g) => (g.agents[0].weight = 5)],
    ['the council', (g) => (g.council.threshold = 1)],
    ['a protocol setting', (g) => (g.protocol.heartbeatTicks = 3)],
    [
      'an added agent',
      (g) => g.agents.push({ id: 'mallory', publicKey: g.agents[0].publicKey, proof: g.agents[0].proof }),
    ],
    ['a dropped field', (g) => delete g.replyAuth],
  ];
  it.each(edits)('detects %s changed after signing', (_, edit) => {
    const altered = structuredClone(complete) as Editable;
    edit(altered);
    expect(refusal(() => checkGenesis(altered, 'g')).code).toBe('GENESIS_ALTERED');
  });

  it('detects an entry re-hashed with a bad proof, and a forged signature', () => {
    const forged = structuredClone(complete) as Editable;
    forged.agents[0].publicKey = forged.agents[1].publicKey.replace(/^./, (c: string) =>
      c === 'a' ? 'b' : 'a',
    );
    forged.hash = genesisHashOf(forged);
    expect(refusal(() => checkGenesis(forged, 'g')).code).toBe('GENESIS_BAD_PROOF');
    const badSignature = structuredClone(complete) as Editable;
    badSignature.signatures[1].signature = badSignature.signatures[2].signature;
    expect(refusal(() => checkGenesis(badSignature, 'g')).code).toBe('GENESIS_BAD_SIGNATURE');
    const stranger = structuredClone(complete) as Editable;
    stranger.signatures.push({ replica: 7, signature: stranger.signatures[0].signature });
    expect(refusal(() => checkGenesis(stranger, 'g')).code).toBe('GENESIS_BAD_SIGNATURE');
  });

  describe('loadClusterFile (what conclave start and the tools read)', () => {
    const oneLine = (error: CliError) => expect(error.message).not.toMatch(/\n/);

    it('accepts a complete genesis, with or without the pinned hash', () => {
      const dir = startDir(complete);
      const file = loadClusterFile(dir, { genesisHash: complete.hash });
      expect(file.replicas).toHaveLength(4);
      expect(file.council).toEqual({ members: ['alice', 'bob'], threshold: 2 });
      expect(loadClusterFile(dir).agents.map((a) => a.id)).toEqual(['alice', 'bob', 'carol']);
    });

    it('refuses an incomplete genesis', () => {
      const error = refusal(() => loadClusterFile(startDir(signedBy(genesis, [0, 1, 2]))));
      expect(error.code).toBe('GENESIS_INCOMPLETE');
      expect(error.message).toMatch(/missing: replica 3/);
      oneLine(error);
    });

    it('refuses an altered genesis', () => {
      const error = refusal(() => loadClusterFile(startDir({ ...complete, tickMs: 1 })));
      expect(error.code).toBe('GENESIS_ALTERED');
      oneLine(error);
    });

    it('refuses a genesis whose hash is not the pinned one', () => {
      const error = refusal(() => loadClusterFile(startDir(complete), { genesisHash: 'ab'.repeat(32) }));
      expect(error.code).toBe('GENESIS_HASH_MISMATCH');
      expect(error.message).toMatch(complete.hash);
      oneLine(error);
    });

    it('refuses a pinned hash without a genesis, and a directory holding both files', () => {
      const dir = startDir(complete);
      writeFileSync(join(dir, 'cluster.json'), '{}');
      expect(refusal(() => loadClusterFile(dir)).message).toMatch(/both cluster\.json and genesis\.json/);
      rmSync(join(dir, GENESIS_FILE));
      expect(refusal(() => loadClusterFile(dir, { genesisHash: complete.hash })).code).toBe(
        'GENESIS_HASH_MISMATCH',
      );
    });
  });
});

describe('weights and merging copies signed in parallel', () => {
  it('writes voting weights, and refuses a weight below 1 or for a stranger', () => {
    const genesis = assembleGenesis(inputs, { weights: { alice: 3 } });
    expect(genesis.agents.map((a) => a.weight)).toEqual([3, undefined, undefined]);
    expect(refusal(() => assembleGenesis(inputs, { weights: { alice: 0 } })).message).toMatch(/weight.*>= 1/);
    expect(refusal(() => assembleGenesis(inputs, { weights: { mallory: 2 } })).message).toMatch(
      /mallory, not agents/,
    );
  });

  it('merges the signatures of copies of one genesis, and refuses a copy of another', () => {
    const genesis = assembleGenesis(inputs);
    const copies = [[0, 1], [2], [3, 1]].map((ids, index) => ({
      path: `copy-${index}`,
      checked: checkGenesis(signedBy(genesis, ids), `copy-${index}`),
    }));
    const merged = mergeGenesis(copies);
    expect(checkGenesis(merged, 'merged').signatures.complete).toBe(true);
    const other = assembleGenesis(inputs, { tickMs: 20 });
    const error = refusal(() =>
      mergeGenesis([...copies, { path: 'other', checked: checkGenesis(other, 'other') }]),
    );
    expect(error.code).toBe('GENESIS_HASH_MISMATCH');
  });
});

describe('council size', () => {
  it('refuses a council larger than votersMax, and init caps its default council there', () => {
    const error = refusal(() => assembleGenesis(inputs, { coordination: { votersMax: 2 } }));
    expect(error.message).toMatch(/council has 3 members, more than votersMax 2/);
    const dir = join(work, 'init-capped');
    const { cluster } = initCluster({ dir, agents: 5, coordination: { votersMax: 3 } });
    expect(cluster.council).toEqual({ members: ['agent-0', 'agent-1', 'agent-2'], threshold: 2 });
    expect(() => loadClusterFile(dir)).not.toThrow();
  });
});

describe('observers', () => {
  it('genesis marks observers, leaves them off the default council, and refuses one on it', () => {
    const genesis = assembleGenesis(inputs, { observers: ['carol'] });
    expect(genesis.agents.map((a) => a.observer)).toEqual([undefined, undefined, true]);
    expect(genesis.council).toEqual({ members: ['alice', 'bob'], threshold: 2 });
    const options = coordinationOptionsOf(genesis, crypto);
    expect(options.agents.map((a) => a.observer)).toEqual([undefined, undefined, true]);
    expect(
      refusal(() => assembleGenesis(inputs, { observers: ['carol'], council: ['alice', 'carol'] })).message,
    ).toMatch(/carol are observers, which may not vote/);
    expect(refusal(() => assembleGenesis(inputs, { observers: ['mallory'] })).message).toMatch(
      /mallory, not agents/,
    );
  });

  it('cluster.json: refuses an observer on the council, or an observer flag that is not a boolean', () => {
    const dir = join(work, 'init-observer');
    const { cluster } = initCluster({ dir, agents: 3 });
    const write = (agents: unknown, council: unknown) =>
      writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ ...cluster, agents, council }));
    const [a0, a1, a2] = cluster.agents;
    write([a0, a1, { ...a2, observer: true }], { members: ['agent-0', 'agent-1'], threshold: 2 });
    expect(loadClusterFile(dir).agents[2]?.observer).toBe(true);
    write([a0, a1, { ...a2, observer: true }], cluster.council);
    expect(refusal(() => loadClusterFile(dir)).message).toMatch(/agent-2 are observers, which may not vote/);
    write([a0, a1, { ...a2, observer: 'yes' }], { members: ['agent-0', 'agent-1'], threshold: 2 });
    expect(refusal(() => loadClusterFile(dir)).message).toMatch(/"observer" must be true or false/);
  });
});

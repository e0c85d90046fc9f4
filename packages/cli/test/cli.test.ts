import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runConclaveHere } from '../src/run-here.ts';
import { conclaveSync, expectOneLineError } from './support/run-cli.ts';

/**
 * Most commands run in this process (`runConclaveHere`: the same code, without the seconds of
 * start-up a node + tsx process costs each); `init` and the port test run the real binary, so
 * the entry point and a daemon that fails to start are tested in a process of their own.
 */
const conclave = (...args: string[]) => runConclaveHere(args);
const conclaveBinary = (...args: string[]) => conclaveSync(args);

const work = mkdtempSync(join(tmpdir(), 'conclave-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('conclave CLI', () => {
  const dir = join(work, 'cluster');

  it('init writes a config and owner-only keys, and refuses to overwrite them', () => {
    const first = conclaveBinary('init', '--dir', dir, '--base-port', '23400');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/created a 4-replica, 4-agent cluster/);
    // One line says what init is not for, and where to look instead.
    expect(first.stderr.trim()).toMatch(
      /^note: init made every key on this one machine.*docs\/operators-ceremony\.md$/,
    );
    const config = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8'));
    expect(config.replicas).toHaveLength(4);
    expect(config.agents).toHaveLength(4);
    expect(config.replicas[0].port).toBe(23400);
    expect(config.council).toEqual({ members: ['agent-0', 'agent-1', 'agent-2', 'agent-3'], threshold: 3 });
    const again = conclaveBinary('init', '--dir', dir);
    expect(again.status).toBe(1);
    expectOneLineError(again, /exists/);
  });

  it('writes channel reply authentication, and refuses a reply scheme or worker count it does not know', async () => {
    const config = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8'));
    expect(config.replyAuth).toBe('channel');
    const bad = join(work, 'bad-config');
    for (const [field, value, pattern] of [
      ['replyAuth', 'carrier-pigeon', /"replyAuth" must be one of signature, channel/],
      ['verifyWorkers', 2.5, /"verifyWorkers" must be a whole number from 0 to 64/],
    ] as const) {
      rmSync(bad, { recursive: true, force: true });
      expect((await conclave('init', '--dir', bad)).status).toBe(0);
      const path = join(bad, 'cluster.json');
      writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), [field]: value }));
      const result = await conclave('status', '--dir', bad);
      expect(result.status).toBe(1);
      expectOneLineError(result, pattern);
    }
  });

  it('rejects a cluster size that is not 3f+1', async () => {
    const result = await conclave('init', '--dir', join(work, 'five'), '--replicas', '5');
    expect(result.status).toBe(1);
    expectOneLineError(result, /3f\+1/);
  });

  it('init --agents 100 says which quotas to lower, and --coordination writes ones that fit', async () => {
    const big = join(work, 'hundred');
    const refused = await conclave('init', '--dir', big, '--agents', '100');
    expect(refused.status).toBe(1);
    expectOneLineError(refused, /100 agents at full quota .* lower openProposalsPerAgentMax.*--coordination/);
    const lowered = '{"openProposalsPerAgentMax":1,"retainedProposalsPerAgentMax":1,"votersMax":16}';
    const created = await conclave('init', '--dir', big, '--agents', '100', '--coordination', lowered);
    expect(created.status, created.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(big, 'cluster.json'), 'utf8')).coordination).toEqual(
      JSON.parse(lowered),
    );
    const typo = await conclave('init', '--dir', join(work, 'typo'), '--coordination', '{"kvKeys":2}');
    expectOneLineError(typo, /unknown coordination limit kvKeys/);
  });

  it('says how to create a missing config', async () => {
    const result = await conclave('status', '--dir', join(work, 'nowhere'));
    expect(result.status).toBe(1);
    expectOneLineError(result, /no cluster config at .*conclave init/);
  });

  it('refuses a key file that belongs to someone else', async () => {
    const wrong = join(work, 'wrong-key');
    await conclave('init', '--dir', wrong, '--base-port', '23500');
    copyFileSync(join(wrong, 'keys', 'replica-1.secret'), join(wrong, 'keys', 'replica-0.secret'));
    chmodSync(join(wrong, 'keys', 'replica-0.secret'), 0o600);
    const result = await conclave('start', '--dir', wrong, '--replica', '0');
    expect(result.status).toBe(1);
    expectOneLineError(result, /replica-0\.secret is not the key of replica-0/);
  });

  it('refuses a key file others can read', async () => {
    const open = join(work, 'open-key');
    await conclave('init', '--dir', open, '--base-port', '23600');
    chmodSync(join(open, 'keys', 'replica-0.secret'), 0o644);
    const result = await conclave('start', '--dir', open, '--replica', '0');
    expect(result.status).toBe(1);
    expectOneLineError(result, /readable by others.*chmod 600/);
  });

  it('names the port that is in use', async () => {
    const busy = join(work, 'busy');
    await conclave('init', '--dir', busy, '--base-port', '23700');
    const blocker: Server = createServer();
    await new Promise<void>((done) => blocker.listen(23700, '127.0.0.1', done));
    try {
      const result = conclaveBinary('start', '--dir', busy, '--replica', '0');
      expect(result.status).toBe(1);
      expectOneLineError(result, /port 23700 .* in use/);
    } finally {
      await new Promise((done) => blocker.close(done));
    }
  });

  it('explains bad usage with exit status 2', async () => {
    for (const args of [
      ['frobnicate'],
      ['kv', 'frob', '--dir', dir, '--agent', '0'],
      ['start', '--dir', dir],
      ['start', '--dir', dir, '--replica', '0', '--verify-workers', '-1'],
      ['start', '--dir', dir, '--replica', '0', '--verify-workers', 'lots'],
      ['status', '--bogus'],
    ]) {
      const result = await conclave(...args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^error: /);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    const help = await conclave('help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/conclave start +--dir DIR --replica I/);
  });

  it('reports unreachable replicas in status --json', async () => {
    const result = await conclave('status', '--dir', dir, '--json');
    expect(result.status).toBe(1); // none reachable
    const parsed = JSON.parse(result.stdout.trim());
    expect(parsed.replicas).toEqual([0, 1, 2, 3].map((id) => ({ id, reachable: false })));
  });
});

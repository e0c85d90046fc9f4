/**
 * The agent and proposal commands' pieces that need no cluster: actions built from arguments
 * (join statement files, quotas, weights, council), and the key files of a rotation in each of
 * its outcomes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keygen } from '@conclave/node';
import { afterAll, describe, expect, it } from 'vitest';
import { actionOf, defaultProposalId, quotasFlag } from '../src/action-args.ts';
import { UsageError } from '../src/args.ts';
import { actionText } from '../src/governance-view.ts';
import {
  commitRotation,
  interruptedRotation,
  prepareRotation,
  restoreRotation,
  rotationFiles,
  writeNewKeyFile,
} from '../src/key-rotation.ts';

const work = mkdtempSync(join(tmpdir(), 'conclave-agent-args-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('actions from command-line arguments', () => {
  it('builds register_agent from a keygen statement, with weight and quotas', () => {
    const made = keygen({ role: 'agent', id: 'dave', dir: work });
    const action = actionOf('register-agent', [made.statementPath], {
      weight: '2',
      quota: ['kvKeysPerAgentMax=5', 'locksPerAgentMax=1'],
    });
    expect(action).toMatchObject({
      kind: 'register_agent',
      weight: 2,
      quotas: { kvKeysPerAgentMax: 5, locksPerAgentMax: 1 },
    });
    expect(defaultProposalId(action)).toMatch(/^register-agent-dave-/);
    expect(action).not.toHaveProperty('observer');
    const observer = actionOf('register-agent', [made.statementPath], { observer: true });
    expect(observer).toMatchObject({ kind: 'register_agent', weight: 1, observer: true });
    expect(actionText(observer)).toMatch(
      /^register observer \(read-only\) dave key [0-9a-f]{16}… \(weight 1\)$/,
    );
    expect(actionText(action)).toMatch(/^register agent dave key /);
  });

  it('refuses a tampered statement, an unknown quota, a bad weight, and a statement for another agent', () => {
    const made = keygen({ role: 'agent', id: 'erin', dir: work });
    const json = JSON.parse(readFileSync(made.statementPath, 'utf8'));
    const tampered = join(work, 'tampered.json');
    writeFileSync(tampered, JSON.stringify({ ...json, id: 'mallory' }));
    expect(() => actionOf('register-agent', [tampered], {})).toThrow(/not signed by its own key/);
    expect(() => quotasFlag(['bogus=1'])).toThrow(UsageError);
    expect(() => quotasFlag(['kvKeysPerAgentMax=0'])).toThrow(/>= 1/);
    expect(() => actionOf('set-agent-weight', ['erin', '0'], {})).toThrow(/--weight/);
    expect(() => actionOf('rotate-agent-key', ['frank', made.statementPath], {})).toThrow(
      /erin's, not frank's/,
    );
    expect(() => actionOf('launch-missiles', [], {})).toThrow(UsageError);
  });

  it('builds set_council, remove_agent and set_agent_quotas; a number names agent-N', () => {
    expect(actionOf('set-council', [], { council: '0,1,bob', threshold: '2' })).toEqual({
      kind: 'set_council',
      members: ['agent-0', 'agent-1', 'bob'],
      threshold: 2,
    });
    expect(actionOf('remove-agent', ['3'], {})).toEqual({ kind: 'remove_agent', agent: 'agent-3' });
    expect(actionOf('set-agent-quotas', ['bob'], { quota: 'tasksPerAgentMax=4' })).toEqual({
      kind: 'set_agent_quotas',
      agent: 'bob',
      quotas: { tasksPerAgentMax: 4 },
    });
  });
});

describe('the key files of a rotation', () => {
  const oldKey = new Uint8Array(64).fill(1);
  const newKey = new Uint8Array(64).fill(2);
  const hex = (key: Uint8Array) => `${Buffer.from(key).toString('hex')}\n`;

  function fresh(name: string) {
    const path = join(work, `${name}.secret`);
    writeFileSync(path, hex(oldKey), { mode: 0o600 });
    return rotationFiles(path);
  }

  it('before sending: the new key in the key file (owner only), the old one kept aside', () => {
    const files = fresh('a');
    prepareRotation(files, oldKey, newKey);
    expect(readFileSync(files.current, 'utf8')).toBe(hex(newKey));
    expect(readFileSync(files.old, 'utf8')).toBe(hex(oldKey));
    expect(statSync(files.current).mode & 0o777).toBe(0o600);
    expect(existsSync(files.next)).toBe(false);
    // Executed: the old key goes.
    commitRotation(files);
    expect(existsSync(files.old)).toBe(false);
    expect(readFileSync(files.current, 'utf8')).toBe(hex(newKey));
  });

  it('refused: the old key comes back; interrupted: a new rotation refuses to start', () => {
    const refused = fresh('b');
    prepareRotation(refused, oldKey, newKey);
    restoreRotation(refused);
    expect(readFileSync(refused.current, 'utf8')).toBe(hex(oldKey));
    expect(existsSync(refused.old)).toBe(false);

    const interrupted = fresh('c');
    prepareRotation(interrupted, oldKey, newKey);
    expect(interruptedRotation(interrupted)).toMatch(/did not finish/);
    expect(() => prepareRotation(interrupted, newKey, oldKey)).toThrow(/did not finish/);
    expect(readFileSync(interrupted.old, 'utf8')).toBe(hex(oldKey));
  });

  it('--out: the new key in a file of its own, owner only, never over an existing one', () => {
    const path = join(work, 'elsewhere', 'keys', 'dave.secret');
    writeNewKeyFile(path, newKey);
    expect(readFileSync(path, 'utf8')).toBe(hex(newKey));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(() => writeNewKeyFile(path, oldKey)).toThrow(/never overwritten/);
  });
});

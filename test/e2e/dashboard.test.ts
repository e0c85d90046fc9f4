/**
 * `conclave dashboard` end to end: four real daemons, a decision and an equivocation, the
 * dashboard's page in headless Chromium (Debian's chromium driven by playwright-core; .ci/run
 * installs it). Screenshots go to docs/.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  connectAgent,
  type Dashboard,
  type NaclLike,
  ROOT,
  startDashboard,
  verifyReceiptText,
} from '@conclave/cli';
import { encodeBallot } from '@conclave/coordination';
import { decodeReceipt, encodeReceipt, nodeCrypto, toHex, verifyReceipt } from '@conclave/core';
import { clusterConfigOf } from '@conclave/node';
import { type ConclaveClient, coordination, type VoteResult } from '@conclave/sdk';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCluster, type RunningReplica, startReplica, statusOf, stopReplica, waitFor } from './support.ts';

const CHROMIUM = '/usr/bin/chromium';
// Screenshots go to a temporary directory, or to docs/ with DASHBOARD_SCREENSHOTS=docs (how
// docs/dashboard.md's pictures are made), so that a test run leaves the work tree as it was.
const SHOTS =
  process.env.DASHBOARD_SCREENSHOTS === 'docs'
    ? join(ROOT, 'docs')
    : mkdtempSync(join(tmpdir(), 'dashboard-'));
// tweetnacl, as the page gets it: a dependency of the CLI, resolved from there.
const nacl = createRequire(join(ROOT, 'packages/cli/package.json'))('tweetnacl') as NaclLike;

const running: RunningReplica[] = [];
const clients: ConclaveClient[] = [];
let browser: Browser | undefined;
let served: Dashboard | undefined;
let clusterDir = '';
afterAll(async () => {
  await browser?.close().catch(() => {});
  await served?.close().catch(() => {});
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await Promise.all(running.map((r) => stopReplica(r, 'SIGKILL')));
  if (clusterDir !== '') rmSync(dirname(clusterDir), { recursive: true, force: true });
  if (!SHOTS.startsWith(ROOT)) rmSync(SHOTS, { recursive: true, force: true });
}, 20_000);

const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** The status of GET /api/state sent with this Host header (fetch cannot set Host). */
function statusWithHost(url: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const request = httpGet(new URL('/api/state', url), { headers: { host }, timeout: 5_000 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', reject);
  });
}

describe('conclave dashboard in headless Chromium', () => {
  it('shows replicas, a decision, evidence, a killed replica, and checks receipts in the page', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`).toBe(
      true,
    );
    // agent-3 is the dashboard's observer: a read-only agent, whose key cannot write or vote.
    const { dir } = await makeCluster(4, 4);
    clusterDir = dir;
    const path = join(dir, 'cluster.json');
    const file = JSON.parse(readFileSync(path, 'utf8'));
    const agents = file.agents.map((a: { id: string }) =>
      a.id === 'agent-3' ? { ...a, observer: true } : a,
    );
    writeFileSync(
      path,
      JSON.stringify({
        ...file,
        agents,
        council: { members: ['agent-0', 'agent-1', 'agent-2'], threshold: 2 },
      }),
    );
    for (let id = 0; id < 4; id++) running.push(startReplica(dir, id));
    await waitFor(
      'replicas up',
      async () =>
        (await Promise.all([0, 1, 2, 3].map((id) => statusOf(dir, id)))).every(Boolean) ? true : undefined,
      30_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${running.map((r) => r.output.slice(-1_000)).join('\n')}`);
    });
    const [a0, a1, a2, a3] = await Promise.all(
      ['agent-0', 'agent-1', 'agent-2', 'agent-3'].map((agent) =>
        connectAgent({ dir, agent, timeoutMs: 5_000 }),
      ),
    );
    clients.push(...([a0, a1, a2, a3] as ConclaveClient[]));
    // The observer's key cannot write: the state machine refuses it, and counts the refusal.
    const write = coordination(a3 as ConclaveClient).kv.put('agent-3/x', new Uint8Array([1]));
    await expect(write).rejects.toMatchObject({ reason: 'READ_ONLY' });
    const [alice, bob, carol] = [a0, a1, a2].map((c) => coordination(c as ConclaveClient));
    await alice?.propose({
      proposalId: 'ship-b',
      // Replicated text is any agent's to write: the page must show it, never run it.
      title: 'Ship model B? <img src=x onerror="window.pwned=1">',
      rule: { kind: 'threshold', k: 2 },
      voters: ['agent-0', 'agent-1', 'agent-2'].map((agent) => ({ agent, weight: 1 })),
      ttlTicks: 5_000,
    });
    // carol equivocates: approve, then a conflicting signed reject for the same proposal.
    await carol?.vote('ship-b', 'approve');
    const conflicting = encodeBallot({
      proposalId: 'ship-b',
      agent: 'agent-2',
      choice: 'reject',
      reason: 'changed my mind',
      confidencePermille: 1000,
    });
    await carol
      ?.castBallot({ ballotBytes: conflicting, signature: (a2 as ConclaveClient).sign(conflicting) })
      .catch(() => {});
    const vote = (await alice?.vote('ship-b', 'approve', { reason: 'evals pass' })) as VoteResult;
    await bob?.vote('ship-b', 'approve');
    expect((await alice?.waitForDecision('ship-b', { timeoutMs: 10_000 }))?.status).toBe('approved');

    // The genuine receipt and a tampered one (one commit's signature altered).
    const genuine = encodeReceipt(vote.receipt);
    const receipt = decodeReceipt(genuine);
    if (receipt === undefined) throw new Error('receipt does not decode');
    const bad = new Uint8Array(receipt.commits[0]?.signature as Uint8Array);
    bad[7] = (bad[7] as number) ^ 0x01;
    const tampered = encodeReceipt({
      ...receipt,
      commits: [
        { bytes: receipt.commits[0]?.bytes as Uint8Array, signature: bad },
        ...receipt.commits.slice(1),
      ],
    });
    expect(verifyReceipt(receipt, clusterConfigOf(file), nodeCrypto()).ok).toBe(true);

    // The page's verifier agrees with core's, in Node first.
    const keys = {
      replicas: clusterConfigOf(file).replicas.map((r) => toHex(r.publicKey)),
      agents: (await alice?.agents({ consistency: 'quorum' }))?.map((a) => ({
        id: a.id,
        keys: a.keys.map((k) => ({ publicKey: toHex(k.publicKey), from: k.from, until: k.until })),
      })) as never,
    };
    expect(verifyReceiptText(toBase64(genuine), keys, nacl)).toMatchObject({ ok: true, agent: 'agent-0' });
    expect(verifyReceiptText(toHex(genuine), keys, nacl)).toMatchObject({ ok: true });
    expect(verifyReceiptText(toBase64(tampered), keys, nacl)).toMatchObject({ ok: false });

    // Any key that can write or vote is refused: only an observer's is taken.
    await expect(startDashboard({ dir, agent: 'agent-0' })).rejects.toThrow(/agent-0 is not an observer/);
    served = await startDashboard({ dir, agent: 'agent-3', refreshMs: 300 });
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    // A page that rebinds its own name to 127.0.0.1 sends that name as Host: refused.
    const port = new URL(served.url).port;
    expect(await statusWithHost(served.url, `evil.example:${port}`)).toBe(403);
    expect(await statusWithHost(served.url, `localhost:${port}`)).toBe(200);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
      timeout: 15_000,
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(8_000);
    await page.goto(served.url);
    await page.locator('tr[data-replica][data-state="up"]').nth(3).waitFor();
    expect(await page.locator('tr[data-replica]').count()).toBe(4);
    await page.locator('tr[data-proposal="ship-b"][data-status="approved"]').waitFor();
    expect(await page.locator('tr[data-proposal="ship-b"]').textContent()).toContain('<img src=x onerror=');
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    // Agents: roles, quota use (agent-0 keeps its decided proposal), refusals by code.
    expect(await page.locator('tr[data-agent="agent-3"]').textContent()).toContain('observer (read-only)');
    expect(await page.locator('tr[data-agent="agent-0"] td.usage').textContent()).toMatch(
      /kept proposals 1\/\d+/,
    );
    expect(await page.locator('tr[data-agent="agent-3"] td.refused').textContent()).toContain('READ_ONLY: 1');
    expect(await page.locator('tr[data-agent="agent-2"] td.refused').textContent()).toContain(
      'EQUIVOCATION: 1',
    );
    await page.locator('tr[data-evidence]').first().waitFor();
    expect(await page.locator('tr[data-evidence]').first().textContent()).toContain('agent-2');
    // The evidence item is re-checked in the page, from the signed ballots the replicas recorded.
    const evidence = page.locator('tr[data-evidence] td.check').first();
    await page.locator('tr[data-evidence] td.check[data-verified="true"]').first().waitFor();
    expect(await evidence.textContent()).toMatch(
      /^✓ verified in this page\s*two different ballots on ship-b by agent-2 \(approve, then reject\), signed with [0-9a-f]{8}… \[0, ∞\)/,
    );
    await evidence.locator('button').click();
    await page.locator('tr[data-evidence] td.check[data-checks="2"][data-verified="true"]').first().waitFor();
    // The same item with one signature byte changed fails in the page.
    // (A string, as it runs in the page's scope: `latest` is the page's last state.)
    const tamperedVerdict = await page.evaluate(`(() => {
      const item = structuredClone(latest.registry.evidence[0]);
      const sig = item.first.signature;
      item.first.signature = (sig[0] === '0' ? '1' : '0') + sig.slice(1);
      return verifyEvidenceItem(item, { agents: latest.registry.agents }, nacl, evidenceMsgpack);
    })()`);
    expect(tamperedVerdict).toEqual({
      ok: false,
      reason: "first signature does not verify against agent-2's key",
    });
    expect(await page.locator('tr[data-proposal="ship-b"]').textContent()).toContain('agent-2: equivocation');

    await page.fill('#receipt', toBase64(genuine));
    await page.click('#verify');
    await page.locator('#verdict[data-valid="true"]').waitFor();
    expect(await page.textContent('#verdict')).toMatch(/VALID: request \d+ of agent-0.*replicas/);
    await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });

    await page.fill('#receipt', toBase64(tampered));
    await page.click('#verify');
    await page.locator('#verdict[data-valid="false"]').waitFor();
    expect(await page.textContent('#verdict')).toContain('does not verify');

    // A replica killed outright turns red within seconds (the page polls every second).
    const victim = running[3] as RunningReplica;
    const killedAt = Date.now();
    victim.process.kill('SIGKILL');
    await page.locator('tr[data-replica="3"][data-state="down"]').waitFor({ timeout: 5_000 });
    const seconds = (Date.now() - killedAt) / 1000;
    expect(seconds).toBeLessThan(5);
    await page.screenshot({ path: join(SHOTS, 'dashboard-replica-down.png'), fullPage: true });
  }, 60_000);
});

/**
 * `conclave`: run and operate a Conclave cluster. `pnpm conclave help` lists the commands.
 * Errors a person can act on print one line (`error: …`) and exit 1; bad usage exits 2.
 */
import { parseArgs } from 'node:util';
import { encodeReceipt, toHex } from '@conclave/core';
import { createConclaveMcpServer, serveHttp, serveStdio } from '@conclave/mcp';
import {
  CliError,
  type DaemonOptions,
  DEFAULT_BASE_PORT,
  DEFAULT_CLUSTER_DIR,
  httpPortOf,
  initCluster,
  loadClusterFile,
  ReplicaDaemon,
  SYNC_MODES,
  type SyncMode,
  VERIFY_WORKERS_MAX,
} from '@conclave/node';
import {
  ConclaveError,
  coordination,
  MembershipError,
  type ReadConsistency,
  RejectedError,
  SealMismatchError,
} from '@conclave/sdk';
import { TransportError } from '@conclave/transport';
import { agentCommand } from './agent-commands.ts';
import { agentIdOf, integer, print, requireString, UsageError, type Values } from './args.ts';
import { connectAgent } from './connect.ts';
import { coordinationLimitsOf } from './coordination-limits.ts';
import { startDashboard } from './dashboard/server.ts';
import { eventsCommand } from './events-command.ts';
import { evidenceCommand } from './evidence-commands.ts';
import { genesisCommand, genesisHashFlag, keygenCommand } from './genesis-commands.ts';
import { type KvOutcome, kvAdapter } from './kv-adapter.ts';
import { proposalCommand } from './proposal-commands.ts';
import { receiptCommand } from './receipt-commands.ts';

const USAGE = `conclave — Byzantine fault-tolerant agreement for agents that do not trust each other

Usage:
  conclave init   [--replicas N] [--agents K] [--dir DIR] [--base-port P] [--coordination JSON]
  conclave keygen --replica ID --host H --port P [--http-port Q] [--out DIR]
  conclave keygen --agent NAME [--out DIR]
  conclave genesis assemble STATEMENT.json… --out genesis.json [--council A,B --threshold K]
                  [--weights A=W,…] [--observers A,…] [--tick-ms MS] [--protocol JSON] [--coordination JSON]
                  [--state-machine coordination|kv] [--reply-auth channel|signature]
  conclave genesis sign genesis.json --key DIR/keys/replica-N.secret
  conclave genesis merge SIGNED-COPY.json… --out genesis.json
  conclave genesis verify genesis.json [--genesis-hash H] [--json]
  conclave start  --dir DIR --replica I [--genesis-hash H] [--sync full|buffered] [--verify-workers N]
                  [--log-level LEVEL] [--stop-on-stdin-close]
  conclave status --dir DIR [--json]
  conclave kv put KEY VALUE --dir DIR --agent J [--json]
  conclave kv get KEY --dir DIR --agent J [--consistency linearizable|quorum|local] [--replica R] [--json]
  conclave mcp    --dir DIR --agent J [--http PORT] [--host H] [--session-idle-minutes M]
  conclave dashboard --dir DIR [--agent OBSERVER] [--port P] [--host H]
  conclave agent add STATEMENT.join.json --as M --dir DIR [--weight W] [--quota NAME=V]… [--observer]
                  [--proposal ID] [--title T] [--ttl TICKS] [--json]
  conclave agent remove ID --as M --dir DIR [--proposal ID] [--title T] [--ttl TICKS] [--json]
  conclave agent rotate --as J --dir DIR [--out OUT] [--json]
  conclave agent revoke --as J --dir DIR --yes [--json]
  conclave agent list|council|usage --as J --dir DIR [--json]
  conclave proposal propose ID --rule threshold:K|weighted:W --voters A,B,… [--weights A=W,…] --as J --dir DIR
                  [--title T] [--ttl TICKS] [SEALED] [--json]
  conclave proposal propose-action KIND ARGS… --as M --dir DIR [--proposal ID] [--title T] [--ttl TICKS] [SEALED]
  conclave proposal vote ID approve|reject|abstain --as M --dir DIR [--reason TEXT] [--commit-only|--reveal]
                  [--timeout SECONDS] [--json]
  conclave proposal show ID --as J --dir DIR [--json]
  conclave proposal wait ID --as J --dir DIR [--timeout SECONDS] [--json]
  conclave proposal evidence ID --as J --dir DIR [--json]
  conclave proposal list --as J --dir DIR [--status open|decided|all] [--json]
  conclave evidence list --as J --dir DIR [--agent A] [--proposal P] [--limit N] [--json]
  conclave events watch --as J --dir DIR [--from SEQ] [--limit N] [--follow] [--json]
  conclave receipt get --sequence S --request-id R --as J --dir DIR [--out FILE] [--json]
  conclave receipt verify FILE|- --dir DIR [--json]
  SEALED: --sealed --commit-ticks N|--commit-deadline T [--missing-reveal abstain|reject]

  init     writes DIR/cluster.json and owner-only secret keys (default: 4 replicas, 4 agents,
           ./${DEFAULT_CLUSTER_DIR}, ports from ${DEFAULT_BASE_PORT}); --coordination '{"kvKeysPerAgentMax": 8}'
           overrides coordination limits (cluster.json "coordination"); beyond ~70 agents the
           default per-agent quotas do not fit a snapshot and must be lowered this way
           It makes every key on one machine: for local try-outs. Across organisations, run the
           genesis ceremony instead (docs/operators-ceremony.md):
  keygen   makes this party's own key (DIR/keys/NAME.secret, owner only, never overwritten; DIR
           defaults to ./${DEFAULT_CLUSTER_DIR}) and its public join statement DIR/NAME.join.json,
           signed with the new key (NAME: replica-ID, or the agent's name). --host/--port: where the
           other replicas and agents reach this replica; --http-port: its metrics port on 127.0.0.1
           (default 0: the OS chooses)
  genesis  assemble checks every join statement (proof of possession, unique ids and keys, replica
           ids 0..n-1 with n = 3f+1) and writes the unsigned genesis and its hash; the council
           defaults to every agent, threshold floor(n/2)+1. sign adds a replica operator's signature
           over the hash (merge joins copies signed in parallel); verify prints the hash and who has signed, and exits 1 until every replica
           operator has. Put the complete genesis.json in each replica's DIR (with its keys/)
  start    runs replica I in the foreground: JSON logs on stdout, stops cleanly on SIGTERM/SIGINT.
           --sync full (default) fsyncs every write; buffered survives a process crash, not a power cut
           DIR holds cluster.json or genesis.json; a genesis that is incomplete, altered, badly
           signed, or whose hash is not --genesis-hash H is refused
           --stop-on-stdin-close: stop when stdin closes (when the process that started it dies)
           --verify-workers N: threads checking signatures ahead of the step loop (default: from
           cluster.json, else cores - 1, at most 8; 0 checks them in the loop)
  status   asks every replica for its view, executed sequence, stable checkpoint and state digest
  kv       acts as agent J (a number for agent-J, or an agent id):
           put writes through consensus and prints the result and its verified receipt;
           get reads: linearizable (ordered, the latest value; default), quorum (2f+1 replicas
           agree, not ordered: consistent but may be slightly stale), local (one replica, may be
           stale; prints how stale)
  dashboard serves a live web page of the cluster on 127.0.0.1 (port 0: the OS picks; the URL is
           printed): replicas from their status endpoints; with --agent, an observer (a read-only
           agent: genesis --observers or agent add --observer), also agents, quota usage,
           proposals and evidence by quorum reads; receipts and evidence are verified in the
           page. See docs/dashboard.md
  mcp      serves agent J's coordination primitives to agent frameworks as an MCP server (tools:
           propose, cast_vote, wait_for_decision, verify_receipt, kv, tasks…; resources: decisions).
           It signs as agent J: guard J's key file. Stdio by default (stdout carries only the
           protocol; logs go to stderr); --http PORT serves Streamable HTTP at
           http://127.0.0.1:PORT/mcp instead (--host to bind elsewhere: no authentication, so only
           behind one); HTTP sessions idle --session-idle-minutes (default 10) are closed.
           See packages/mcp/README.md
  agent    the registry, acting as agent J (--as; a number for agent-J). add proposes registering
           the agent of a join statement (conclave keygen --agent NAME writes one), remove proposes
           removing one: council members then vote with proposal vote. rotate makes a new key,
           writes it to DIR/keys/J.secret (the old one kept as J.secret.old until the cluster
           answers; --out OUT: to OUT/keys/J.secret instead) and only then rotates J's key to
           it; revoke removes J itself, for good. list shows every
           agent with its keys and the sequences each was in force; council the members and the
           approving weight an action needs
  proposal propose-action KIND: register-agent STATEMENT.json, remove-agent ID, rotate-agent-key
           ID STATEMENT.json, set-agent-weight ID W, set-agent-quotas ID --quota NAME=V…,
           set-council --council A,B --threshold K. propose opens an ordinary yes/no proposal.
           --sealed: voters commit to a sealed ballot until the commit deadline (--commit-ticks
           from now, or --commit-deadline, in agreed time), then reveal it until the deadline.
           vote casts J's signed ballot and prints its receipt; on a sealed proposal it commits,
           waits for the commit deadline and reveals (--commit-only, --reveal: one half each; run
           again with the same choice and --reason after an interruption); show reads the tally,
           the phase and the action's outcome; wait exits 0 once approved and executed, 1 if it
           ends otherwise; evidence lists what voters were caught at; list the proposals (open
           by default). See docs/commands.md
  evidence list: every evidence item (or one agent's, one proposal's), each checked here
           against the registry's key history: exit 1 (EVIDENCE_INVALID) if one does not verify
  events   watch prints committed events in log order, one a line (--json: one object a line),
           from --from SEQ (default: the oldest kept); it stops once caught up, or with
           --follow waits for more until --limit N events or Ctrl-C
  receipt  get fetches and checks the receipt of J's own request R decided at sequence S (the
           sequence, requestId and receipt proposal vote --json prints); verify checks a receipt
           (hex, or JSON with a "receipt" field; - reads stdin) offline against DIR's cluster.json
           or genesis.json and says which replicas signed it: exit 1 (RECEIPT_INVALID) if not
`;

const CONSISTENCIES: readonly ReadConsistency[] = ['linearizable', 'quorum', 'local'];

async function main(argv: string[], options: CliOptions): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      dir: { type: 'string' },
      replicas: { type: 'string' },
      agents: { type: 'string' },
      'base-port': { type: 'string' },
      coordination: { type: 'string' },
      replica: { type: 'string' },
      agent: { type: 'string' },
      sync: { type: 'string' },
      'log-level': { type: 'string' },
      consistency: { type: 'string' },
      'verify-workers': { type: 'string' },
      'stop-on-stdin-close': { type: 'boolean', default: false },
      http: { type: 'string' },
      host: { type: 'string' },
      'session-idle-minutes': { type: 'string' },
      out: { type: 'string' },
      port: { type: 'string' },
      'http-port': { type: 'string' },
      council: { type: 'string' },
      weights: { type: 'string' },
      observers: { type: 'string' },
      observer: { type: 'boolean', default: false },
      threshold: { type: 'string' },
      'tick-ms': { type: 'string' },
      protocol: { type: 'string' },
      'state-machine': { type: 'string' },
      'reply-auth': { type: 'string' },
      key: { type: 'string' },
      'genesis-hash': { type: 'string' },
      as: { type: 'string' },
      weight: { type: 'string' },
      quota: { type: 'string', multiple: true },
      proposal: { type: 'string' },
      ttl: { type: 'string' },
      title: { type: 'string' },
      reason: { type: 'string' },
      timeout: { type: 'string' },
      rule: { type: 'string' },
      voters: { type: 'string' },
      sealed: { type: 'boolean', default: false },
      'commit-ticks': { type: 'string' },
      'commit-deadline': { type: 'string' },
      'missing-reveal': { type: 'string' },
      'commit-only': { type: 'boolean', default: false },
      reveal: { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      sequence: { type: 'string' },
      'request-id': { type: 'string' },
      from: { type: 'string' },
      limit: { type: 'string' },
      follow: { type: 'boolean', default: false },
      status: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    print(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  switch (command) {
    case 'init':
      return init(values);
    case 'start':
      return start(values, options);
    case 'keygen':
      return keygenCommand(rest, values);
    case 'genesis':
      return genesisCommand(rest, values);
    case 'status':
      return status(values);
    case 'kv':
      return kv(rest, values);
    case 'agent':
      return agentCommand(rest, values);
    case 'proposal':
      return proposalCommand(rest, values);
    case 'dashboard':
      if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
      return dashboard(values);
    case 'evidence':
      return evidenceCommand(rest, values);
    case 'events':
      return eventsCommand(rest, values);
    case 'receipt':
      return receiptCommand(rest, values);
    case 'mcp':
      if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
      return mcp(values);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/** What a program embedding the command may add; the `conclave` binary passes nothing. */
export interface CliOptions {
  /** Wraps a started replica's transport (the harness's Byzantine replicas, for demonstrations). */
  readonly decorateTransport?: DaemonOptions['decorateTransport'];
}

/** `--coordination JSON`: an object of limits, checked by `initCluster` (unknown names, values, fit). */
function coordinationFlag(value: Values[string]): { coordination?: Record<string, number> } {
  if (typeof value !== 'string') return {};
  try {
    return { coordination: JSON.parse(value) as Record<string, number> };
  } catch (error) {
    throw new UsageError(`--coordination takes a JSON object of limits: ${(error as Error).message}`);
  }
}

function init(values: Values): number {
  const { dir, cluster } = initCluster({
    dir: typeof values.dir === 'string' ? values.dir : undefined,
    replicas: integer(values.replicas, '--replicas', 4),
    agents: integer(values.agents, '--agents', 4),
    basePort: integer(values['base-port'], '--base-port', DEFAULT_BASE_PORT),
    ...coordinationFlag(values.coordination),
  });
  print(`created a ${cluster.replicas.length}-replica, ${cluster.agents.length}-agent cluster in ${dir}`);
  print(`  replicas listen on ${cluster.replicas.map((r) => `${r.host}:${r.port}`).join(', ')}`);
  print(`  metrics on 127.0.0.1 ports ${cluster.replicas.map((r) => r.httpPort).join(', ')}`);
  print(`start each replica with: pnpm conclave start --dir ${dir} --replica I`);
  process.stderr.write(
    'note: init made every key on this one machine, so whoever holds this directory can sign as anyone: ' +
      'for local try-outs only; to run a cluster across organisations see docs/operators-ceremony.md\n',
  );
  return 0;
}

async function start(values: Values, options: CliOptions): Promise<number> {
  const dir = requireString(values.dir, '--dir');
  const replica = integer(requireString(values.replica, '--replica'), '--replica');
  const sync = (values.sync ?? 'full') as SyncMode;
  if (!SYNC_MODES.includes(sync))
    throw new UsageError(`--sync takes ${SYNC_MODES.join(' or ')}, got ${String(values.sync)}`);
  const workers =
    values['verify-workers'] === undefined
      ? undefined
      : integer(values['verify-workers'], '--verify-workers');
  if (workers !== undefined && (workers < 0 || workers > VERIFY_WORKERS_MAX))
    throw new UsageError(`--verify-workers takes 0 to ${VERIFY_WORKERS_MAX}, got ${workers}`);
  const genesisHash = genesisHashFlag(values['genesis-hash']);
  const daemon = await ReplicaDaemon.start({
    dir,
    replica,
    sync,
    ...(genesisHash === undefined ? {} : { genesisHash }),
    ...(workers === undefined ? {} : { verifyWorkers: workers }),
    ...(options.decorateTransport === undefined ? {} : { decorateTransport: options.decorateTransport }),
    logLevel: typeof values['log-level'] === 'string' ? values['log-level'] : 'info',
  });
  await new Promise<void>((resolveStop) => {
    const onSignal = (signal: NodeJS.Signals) => {
      daemon.logger.info({ event: 'signal', signal }, 'stopping');
      resolveStop();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    if (values['stop-on-stdin-close'] === true) {
      // For whoever started this replica with a pipe as stdin (tests, benchmarks, supervisors):
      // when that process dies, even by SIGKILL, the pipe closes and the replica stops instead of
      // running on as an orphan.
      process.stdin.on('end', () => {
        daemon.logger.info({ event: 'stdin-closed' }, 'stopping: stdin closed');
        resolveStop();
      });
      process.stdin.resume();
    }
  });
  // A resumed stdin would keep the process alive after a signal: let go of it.
  process.stdin.destroy();
  await daemon.stop();
  return 0;
}

async function status(values: Values): Promise<number> {
  const dir = requireString(values.dir, '--dir');
  const file = loadClusterFile(dir);
  const replicas = await Promise.all(
    file.replicas.map(async (replica) => {
      try {
        const httpPort = httpPortOf(dir, file, replica.id);
        if (httpPort === undefined) throw new Error('no port reported yet');
        const response = await fetch(`http://127.0.0.1:${httpPort}/status`, {
          signal: AbortSignal.timeout(2_000),
        });
        if (!response.ok) throw new Error(String(response.status));
        const body = (await response.json()) as {
          view: number;
          executedSequence: number;
          stableCheckpoint: number;
          stateDigest: string;
          changingView: boolean;
        };
        return {
          id: replica.id,
          reachable: true,
          view: body.view,
          executedSequence: body.executedSequence,
          stableCheckpoint: body.stableCheckpoint,
          stateDigest: body.stateDigest,
          changingView: body.changingView,
        };
      } catch {
        return { id: replica.id, reachable: false };
      }
    }),
  );
  if (values.json) {
    print(JSON.stringify({ replicas }));
  } else {
    print('replica  reachable  view  executed  stable  state digest');
    for (const r of replicas) {
      if (!r.reachable || !('view' in r)) {
        print(`${String(r.id).padEnd(9)}no`);
        continue;
      }
      const view = `${r.view}${r.changingView ? '*' : ''}`;
      print(
        `${String(r.id).padEnd(9)}${'yes'.padEnd(11)}${view.padEnd(6)}${String(r.executedSequence).padEnd(10)}${String(r.stableCheckpoint).padEnd(8)}${(r.stateDigest ?? '').slice(0, 16)}`,
      );
    }
  }
  return replicas.some((r) => r.reachable) ? 0 : 1;
}

function kvFailure(result: KvOutcome): never {
  throw new CliError(
    'REJECTED',
    result.ok ? 'unexpected result' : `the state machine refused (${result.code}): ${result.message}`,
  );
}

async function kv(args: string[], values: Values): Promise<number> {
  const [action, key, value, ...extra] = args;
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const dir = requireString(values.dir, '--dir');
  const agent = agentIdOf(requireString(values.agent, '--agent'));
  if (action !== 'put' && action !== 'get') throw new UsageError('kv takes put or get');
  if (key === undefined) throw new UsageError(`kv ${action} needs a KEY`);
  if (action === 'put' && value === undefined) throw new UsageError('kv put needs a KEY and a VALUE');
  if (action === 'get' && value !== undefined) throw new UsageError('kv get takes only a KEY');
  const consistency = (values.consistency ?? 'linearizable') as ReadConsistency;
  if (!CONSISTENCIES.includes(consistency))
    throw new UsageError(`--consistency takes ${CONSISTENCIES.join(', ')}`);
  const kv = kvAdapter(loadClusterFile(dir).stateMachine);
  const client = await connectAgent({ dir, agent });
  try {
    if (action === 'put') {
      const outcome = await client.requestWithReceipt(kv.put(key, value as string));
      const result = kv.decode(outcome.result);
      if (!result.ok) kvFailure(result);
      const receipt = outcome.receipt;
      if (values.json) {
        print(
          JSON.stringify({
            key,
            value: result.value,
            version: result.version,
            sequence: outcome.sequence,
            requestId: outcome.requestId,
            receipt: toHex(encodeReceipt(receipt)),
            receiptVerified: true,
          }),
        );
      } else {
        print(
          `${key} = ${result.value} (version ${result.version}), decided at sequence ${outcome.sequence}`,
        );
        print(`receipt verified: ${receipt.commits.length} replicas signed commits at view ${receipt.view}`);
        print(`receipt: ${toHex(encodeReceipt(receipt))}`);
      }
      return 0;
    }
    const operation = kv.get(key);
    if (consistency === 'linearizable') {
      const outcome = await client.request(operation);
      const result = kv.decode(outcome.result);
      if (!result.ok) kvFailure(result);
      if (values.json)
        print(
          JSON.stringify({
            key,
            value: result.value,
            version: result.version,
            consistency,
            sequence: outcome.sequence,
          }),
        );
      else
        print(
          result.value === null
            ? `${key} is not set`
            : `${key} = ${result.value} (version ${result.version})`,
        );
      return 0;
    }
    const replica = integer(values.replica, '--replica', 0);
    const outcome = await client.query(operation, consistency, { replica });
    const result = kv.decode(outcome.result);
    if (!result.ok) kvFailure(result);
    if (values.json) {
      print(
        JSON.stringify({
          key,
          value: result.value,
          version: result.version,
          consistency,
          replicas: outcome.replicas,
          executedSequence: outcome.executedSequenceMin,
        }),
      );
    } else {
      print(
        result.value === null ? `${key} is not set` : `${key} = ${result.value} (version ${result.version})`,
      );
      print(
        `  ${consistency} read from replica(s) ${outcome.replicas.join(', ')} as of sequence ${outcome.executedSequenceMin}`,
      );
    }
    return 0;
  } finally {
    await client.close();
  }
}

/**
 * The MCP server for one agent. In stdio mode stdout belongs to the protocol: everything this
 * command says goes to stderr.
 */
async function mcp(values: Values): Promise<number> {
  const dir = requireString(values.dir, '--dir');
  const agent = agentIdOf(requireString(values.agent, '--agent'));
  const port = values.http === undefined ? undefined : integer(values.http, '--http');
  if (port !== undefined && (port < 0 || port > 65_535))
    throw new UsageError(`--http takes a port 0..65535, got ${port}`);
  if (values.host !== undefined && port === undefined) throw new UsageError('--host needs --http PORT');
  const idleMinutes = values['session-idle-minutes'];
  if (idleMinutes !== undefined && port === undefined)
    throw new UsageError('--session-idle-minutes needs --http PORT');
  const sessionIdleMs =
    idleMinutes === undefined ? undefined : integer(idleMinutes, '--session-idle-minutes') * 60_000;
  if (sessionIdleMs !== undefined && sessionIdleMs <= 0)
    throw new UsageError(
      `--session-idle-minutes takes a positive number of minutes, got ${String(idleMinutes)}`,
    );
  const log = (line: string) => process.stderr.write(`conclave mcp [${agent}] ${line}\n`);
  const file = loadClusterFile(dir);
  // Checked before connecting: a bad limit is a configuration error, not a network one.
  const limits = coordinationLimitsOf(file);
  const client = await connectAgent({ dir, agent });
  const create = () =>
    createConclaveMcpServer({ coordination: coordination(client), tickMs: file.tickMs, log, limits });
  const serving =
    port === undefined
      ? await serveStdio(create())
      : await serveHttp(create, {
          port,
          log,
          ...(typeof values.host === 'string' ? { host: values.host } : {}),
          ...(sessionIdleMs === undefined ? {} : { sessionIdleMs }),
        });
  log(
    `signing as ${agent}, connected to ${file.replicas.length} replicas; serving MCP on ${'url' in serving ? serving.url : 'stdio'}`,
  );
  const stopped = new Promise<void>((done) => {
    process.once('SIGTERM', () => done());
    process.once('SIGINT', () => done());
  });
  await Promise.race([serving.closed, stopped]);
  await serving.close();
  await client.close();
  log('stopped');
  return 0;
}

/**
 * A live web page of the cluster: the replicas' status endpoints, and (with --agent, an observer
 * agent not on the council) the registry, proposals and evidence by quorum reads. See docs/dashboard.md.
 */
async function dashboard(values: Values): Promise<number> {
  const dir = requireString(values.dir, '--dir');
  const agent = typeof values.agent === 'string' ? agentIdOf(values.agent) : undefined;
  const port = integer(values.port, '--port', 0);
  if (port < 0 || port > 65_535) throw new UsageError(`--port takes a port 0..65535, got ${port}`);
  const log = (line: string) => process.stderr.write(`conclave dashboard ${line}\n`);
  const served = await startDashboard({
    dir,
    port,
    log,
    ...(agent === undefined ? {} : { agent }),
    ...(typeof values.host === 'string' ? { host: values.host } : {}),
  });
  print(`dashboard on ${served.url}`);
  await new Promise<void>((done) => {
    process.once('SIGTERM', () => done());
    process.once('SIGINT', () => done());
  });
  await served.close();
  return 0;
}

/**
 * Runs the `conclave` command with `argv` (without node and the script) and sets the process's
 * exit code: 0 done, 1 failed (one line on stderr), 2 bad usage.
 */
export async function runCli(argv: string[], options: CliOptions = {}): Promise<void> {
  try {
    process.exitCode = await main(argv, options);
  } catch (error) {
    process.exitCode = reportFailure(error);
  }
}

function reportFailure(error: unknown): number {
  if (
    error instanceof UsageError ||
    (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    process.stderr.write(`error: ${error.message}\nrun "pnpm conclave help" for usage\n`);
    return 2;
  }
  if (error instanceof RejectedError) {
    process.stderr.write(`error: the state machine refused (${error.reason}): ${error.message}\n`);
    return 1;
  }
  if (error instanceof MembershipError || error instanceof SealMismatchError) {
    process.stderr.write(`error: ${error.code}: ${error.message}\n`);
    return 1;
  }
  if (error instanceof CliError || error instanceof TransportError || error instanceof ConclaveError) {
    process.stderr.write(`error: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(
    `error: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  if (process.env.CONCLAVE_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
  return 1;
}

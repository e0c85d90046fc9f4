/**
 * A replica process made Byzantine, for demonstrations and tests against real daemons: takes
 * `conclave start`'s arguments plus `--misbehave silent|lying-replies`, and runs the ordinary
 * daemon with its transport wrapped by that decorator (misbehave.ts). Start it with
 * `startReplica(dir, id, ['--misbehave', 'lying-replies'], { script: BYZANTINE_REPLICA_SCRIPT })`.
 */
import { runCli } from '@conclave/cli';
import { MISBEHAVIOURS, type Misbehaviour, misbehaviour } from '../misbehave.ts';

function takeMisbehaviour(argv: string[]): { name: Misbehaviour; rest: string[] } {
  const index = argv.indexOf('--misbehave');
  const name = argv[index + 1];
  if (index < 0 || !(MISBEHAVIOURS as readonly string[]).includes(name ?? '')) {
    process.stderr.write(`error: --misbehave takes ${MISBEHAVIOURS.join(' or ')}\n`);
    process.exit(2);
  }
  return { name: name as Misbehaviour, rest: [...argv.slice(0, index), ...argv.slice(index + 2)] };
}

const { name, rest } = takeMisbehaviour(process.argv.slice(2));
await runCli(rest, { decorateTransport: misbehaviour(name) });

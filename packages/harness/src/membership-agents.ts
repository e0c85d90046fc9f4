/**
 * The membership suite's cast (issue 16): scripted agents that change the registry while the
 * cluster runs, and liars that attack it. Genesis: agent-0..2 honest, mallory-0..1 lying; the
 * council is agent-0, agent-1 and mallory-1, threshold 2. `newcomer` is not in genesis.
 *
 * Honest (every answer must be `ok`, and every step must be answered):
 * - agent-0 writes, proposes registering `newcomer` (its own join statement), approves, proposes
 *   removing mallory-1, approves, writes, and writes once more when the liars have sent every
 *   attack (liars leave the run with the honest agents);
 * - agent-1 writes, approves both actions, opens a third action proposal nobody approves, writes;
 * - agent-2 writes, rotates its own key (`rotate_key`) and writes on under the new key;
 * - newcomer, once registered, writes; in half the runs it is registered as an observer, and
 *   then its writes and its vote on the open proposal must be refused [READ_ONLY] and its read
 *   answered.
 *
 * Attacks (allowed outcomes in brackets; `refused:*` is core's refusal):
 * - mallory-1 (on the council) proposes registering `sybil` with agent-0's public key and a join
 *   statement signed by its own key: someone else's key without its proof [INVALID_JOIN];
 * - mallory-0 (not on the council) proposes registering itself a second key and removing agent-0
 *   [NOT_COUNCIL], and rotates its key to agent-1's, signed by its own key [INVALID_JOIN];
 * - mallory-1 votes on the open action proposal and proposes an action after its removal, with
 *   its removed key [refused:UNKNOWN_AGENT, or never ordered]; its vote against its removal
 *   races it [ok, CLOSED, NOT_COUNCIL, refused:UNKNOWN_AGENT];
 * - once agent-2 rotated, mallory-0 replays agent-2's frames signed by the old key, and signs
 *   new requests as agent-2 with the rotated-out key (stolen) [refused:REVOKED_KEY, or never
 *   ordered];
 * - mallory-0 races its own rotation: `rotate_key` and, in the same tick, writes signed by the
 *   old key [ok, or refused:REVOKED_KEY once the rotation took effect]; then writes under the
 *   new key once the rotation is answered [ok].
 *
 * No request may execute under a key outside its validity interval (`keyValidity`), whatever
 * the interleaving.
 */
import type { KeyPair } from '@conclave/core';
import { Board, type CastContext, Scripts } from './membership-scripts.ts';

export type { CastContext } from './membership-scripts.ts';

import type { ExpectedOutcomeRecord } from './record.ts';
import { ReplyRouter, ScriptedAgent, type ScriptStep } from './scripted-agent.ts';

export const COUNCIL = Object.freeze({ members: ['agent-0', 'agent-1', 'mallory-1'], threshold: 2 });
export const NEWCOMER = 'newcomer';
/** A liar waits this many retry periods for an answer before its next step. */
const LIAR_PATIENCE_RETRIES = 2;

export interface Cast {
  readonly honest: readonly ScriptedAgent[];
  readonly liars: readonly ScriptedAgent[];
  outcomes(): ExpectedOutcomeRecord[];
}

export function membershipCast(context: CastContext): Cast {
  const board = new Board();
  const router = new ReplyRouter();
  const fresh = () => context.crypto.keyPairFromSeed(context.keyStream.bytes(32));
  const newKeys = { newcomer: fresh(), agent2: fresh(), mallory0: fresh() };
  const key = (id: string) => context.keys.get(id) as KeyPair;
  const make = (
    id: string,
    honest: boolean,
    secretKey: Uint8Array,
    steps: (self: () => ScriptedAgent) => ScriptStep[],
  ) => {
    const agent: ScriptedAgent = new ScriptedAgent({
      ...context.agent,
      patienceTicks: LIAR_PATIENCE_RETRIES * context.agent.retryTicks,
      id,
      honest,
      secretKey,
      router,
      startTick: context.prng.int(context.startTicksMax + 1),
      steps: steps(() => agent),
    });
    return agent;
  };
  const scripts = new Scripts(context, board, newKeys, key);
  const liars: ScriptedAgent[] = [];
  const honest = [
    make('agent-0', true, key('agent-0').secretKey, (self) => scripts.agent0(self)),
    make('agent-1', true, key('agent-1').secretKey, (self) => scripts.agent1(self)),
    make('agent-2', true, key('agent-2').secretKey, (self) => scripts.agent2(self)),
    make(NEWCOMER, true, newKeys.newcomer.secretKey, (self) => scripts.newcomer(self)),
  ];
  liars.push(
    make('mallory-0', false, key('mallory-0').secretKey, (self) => scripts.mallory0(self)),
    make('mallory-1', false, key('mallory-1').secretKey, (self) => scripts.mallory1(self)),
  );
  board.liarsDone = () => liars.every((liar) => liar.issuedAll);
  return { honest, liars, outcomes: () => [...honest, ...liars].flatMap((agent) => agent.outcomes()) };
}

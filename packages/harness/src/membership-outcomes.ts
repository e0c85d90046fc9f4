/**
 * The membership suite's outcome checker: every scripted request (an honest step or an attack,
 * see membership-agents.ts) whose answer f+1 replicas vouched for got one of the outcomes its
 * script allows — e.g. a registration by a non-council agent must come back `NOT_COUNCIL`, a
 * request signed with a rotated-out key `refused:REVOKED_KEY`, a newcomer's write `ok`. A request
 * that got no answer is liveness's business (honest agents) or nobody's (a liar's request its
 * replicas dropped); that none executed under a wrong key is `keyValidity`'s.
 */
import type { RunRecord } from './record.ts';

export interface MembershipViolation {
  readonly checker: 'membership';
  readonly message: string;
  readonly tick?: number;
}

export const MEMBERSHIP_VIOLATIONS_MAX = 20;

export function checkMembershipOutcomes(record: RunRecord): MembershipViolation[] {
  const violations: MembershipViolation[] = [];
  for (const expected of record.membership?.outcomes ?? []) {
    const { outcome } = expected;
    if (outcome === undefined || expected.allowed.length === 0 || expected.allowed.includes(outcome))
      continue;
    if (violations.length >= MEMBERSHIP_VIOLATIONS_MAX) break;
    const who =
      expected.signedAs === expected.agent ? expected.agent : `${expected.agent} (as ${expected.signedAs})`;
    violations.push({
      checker: 'membership',
      message: `${expected.honest ? 'honest' : 'lying'} ${who} "${expected.label}" (request ${expected.requestId}) got ${outcome} at sequence ${expected.sequence ?? '?'}, allowed: ${expected.allowed.join(' | ')}`,
      ...(expected.tick === undefined ? {} : { tick: expected.tick }),
    });
  }
  return violations;
}

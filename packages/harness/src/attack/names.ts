/** Names the runner and the attacker process agree on. */

/** The key the honest agent writes before kv-overwrite starts; the attacker goes after it. */
export const HONEST_OWNED_KEY = 'honest/owned';
/** Agents of the attack cluster, as `conclave init` names them. */
export const HONEST_AGENT = 'agent-0';
export const ATTACKER_AGENT = 'agent-1';
export const FRESH_AGENT = 'agent-2';

/**
 * Join statements: how a replica operator or an agent says "this is my id and my public key",
 * signed with the new key itself as proof of possession. A statement can be checked by anyone,
 * offline, from its own bytes: the genesis ceremony checks one per replica and initial agent, and
 * the coordination state machine checks one in every agent registration and key rotation, so no
 * one can register a key they do not hold (a rogue-key registration).
 *
 * `statementBytes = encodeCanonical(['conclave/join/v1', role, id, publicKey, host, port])`;
 * agents have `host = ''` and `port = 0`. The signature is Ed25519 over those bytes with the
 * statement's own key.
 */
import { bytesEqual, decodeCanonical, encodeCanonical, fromHex, toHex } from './codec.ts';
import type { CryptoBackend } from './crypto.ts';

/** The domain tag that starts every join statement, so its signature means nothing else. */
export const JOIN_TAG = 'conclave/join/v1';
/** Bounds on a join statement's fields: an id is a short name, an address a DNS name or IP. */
export const JOIN_ID_BYTES_MAX = 128;
export const JOIN_HOST_BYTES_MAX = 253;

export type JoinRole = 'replica' | 'agent';

/** What a join statement says. */
export interface JoinClaim {
  readonly role: JoinRole;
  /** A replica's id is its decimal index ("0", "1", …); an agent's is its name. */
  readonly id: string;
  readonly publicKey: Uint8Array;
  /** Where a replica listens; '' for an agent. */
  readonly host: string;
  /** A replica's transport port; 0 for an agent. */
  readonly port: number;
}

/** A claim and the proof of possession: its bytes signed with its own key. */
export interface JoinStatement extends JoinClaim {
  readonly signature: Uint8Array;
}

/** The JSON form written by `conclave keygen`: keys and signature in hex. */
export interface JoinStatementJson {
  readonly kind: typeof JOIN_TAG;
  readonly role: JoinRole;
  readonly id: string;
  readonly publicKey: string;
  readonly host?: string;
  readonly port?: number;
  readonly signature: string;
}

export function encodeJoinClaim(claim: JoinClaim): Uint8Array {
  return encodeCanonical([JOIN_TAG, claim.role, claim.id, claim.publicKey, claim.host, claim.port]);
}

/** Signs a claim with the secret key of its own public key. */
export function signJoinStatement(
  claim: JoinClaim,
  secretKey: Uint8Array,
  crypto: CryptoBackend,
): JoinStatement {
  return { ...claim, signature: crypto.sign(encodeJoinClaim(claim), secretKey) };
}

/** Why a join statement is refused, or undefined when it holds. Never throws. */
export function checkJoinStatement(statement: JoinStatement, crypto: CryptoBackend): string | undefined {
  const shape = checkJoinShape(statement);
  if (shape !== undefined) return shape;
  if (!crypto.verify(encodeJoinClaim(statement), statement.signature, statement.publicKey))
    return `the join statement of ${statement.role} ${statement.id} is not signed by its own key (no proof of possession)`;
  return undefined;
}

function checkJoinShape(statement: JoinStatement): string | undefined {
  if (statement.role !== 'replica' && statement.role !== 'agent') return `role must be replica or agent`;
  const idBytes = new TextEncoder().encode(statement.id).byteLength;
  if (typeof statement.id !== 'string' || idBytes === 0 || idBytes > JOIN_ID_BYTES_MAX)
    return `id must be 1..${JOIN_ID_BYTES_MAX} bytes`;
  if (statement.role === 'replica' && !/^(0|[1-9][0-9]{0,5})$/.test(statement.id))
    return `a replica's id must be its index, a whole number, got "${statement.id}"`;
  if (!(statement.publicKey instanceof Uint8Array) || statement.publicKey.byteLength !== 32)
    return 'publicKey must be 32 bytes';
  if (!(statement.signature instanceof Uint8Array) || statement.signature.byteLength !== 64)
    return 'signature must be 64 bytes';
  if (statement.role === 'agent' && (statement.host !== '' || statement.port !== 0))
    return "an agent's statement has no address";
  if (statement.role === 'replica') {
    if (
      typeof statement.host !== 'string' ||
      statement.host.length === 0 ||
      statement.host.length > JOIN_HOST_BYTES_MAX
    )
      return `a replica's host must be 1..${JOIN_HOST_BYTES_MAX} characters`;
    if (!Number.isInteger(statement.port) || statement.port < 1 || statement.port > 65535)
      return `a replica's port must be 1..65535`;
  }
  return undefined;
}

/** The statement as JSON (hex keys), as `conclave keygen` writes it. */
export function joinStatementToJson(statement: JoinStatement): JoinStatementJson {
  return {
    kind: JOIN_TAG,
    role: statement.role,
    id: statement.id,
    publicKey: toHex(statement.publicKey),
    ...(statement.role === 'replica' ? { host: statement.host, port: statement.port } : {}),
    signature: toHex(statement.signature),
  };
}

/** Parses the JSON form; throws an Error naming the field on a malformed one (not a signature check). */
export function joinStatementFromJson(json: unknown): JoinStatement {
  if (json === null || typeof json !== 'object') throw new Error('a join statement must be a JSON object');
  const value = json as Record<string, unknown>;
  if (value.kind !== JOIN_TAG) throw new Error(`a join statement must have "kind": "${JOIN_TAG}"`);
  const hex = (field: string): Uint8Array => {
    const text = value[field];
    if (typeof text !== 'string' || !/^([0-9a-f]{2})+$/i.test(text))
      throw new Error(`"${field}" must be hex`);
    return fromHex(text);
  };
  return {
    role: value.role as JoinRole,
    id: String(value.id ?? ''),
    publicKey: hex('publicKey'),
    host: value.role === 'replica' ? String(value.host ?? '') : '',
    port: value.role === 'replica' ? Number(value.port ?? 0) : 0,
    signature: hex('signature'),
  };
}

/** The statement as canonical bytes (for carrying inside an operation), and back. */
export function encodeJoinStatement(statement: JoinStatement): Uint8Array {
  return encodeCanonical([encodeJoinClaim(statement), statement.signature]);
}

/** Decodes `encodeJoinStatement` bytes; undefined when they are not one. Never throws. */
export function decodeJoinStatement(bytes: Uint8Array): JoinStatement | undefined {
  const outer = decodeCanonical(bytes);
  if (!outer.ok || !Array.isArray(outer.value) || outer.value.length !== 2) return undefined;
  const [claimBytes, signature] = outer.value as unknown[];
  if (!(claimBytes instanceof Uint8Array) || !(signature instanceof Uint8Array)) return undefined;
  const claim = decodeCanonical(claimBytes);
  if (!claim.ok || !Array.isArray(claim.value) || claim.value.length !== 6) return undefined;
  const [tag, role, id, publicKey, host, port] = claim.value as unknown[];
  if (tag !== JOIN_TAG || typeof id !== 'string' || typeof host !== 'string' || typeof port !== 'number')
    return undefined;
  if (role !== 'replica' && role !== 'agent') return undefined;
  if (!(publicKey instanceof Uint8Array)) return undefined;
  const statement: JoinStatement = { role, id, publicKey, host, port, signature };
  // Re-encoding must give the same bytes: one statement, one encoding.
  return bytesEqual(encodeJoinClaim(statement), claimBytes) ? statement : undefined;
}

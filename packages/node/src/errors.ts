/**
 * Errors a person can act on. The CLI prints `error: <message>` and exits non-zero, with no
 * stack trace; programs read the stable `code`.
 */
export type CliErrorCode =
  | 'BAD_ARGUMENT'
  | 'ALREADY_EXISTS'
  | 'CONFIG_MISSING'
  | 'CONFIG_INVALID'
  | 'KEY_MISSING'
  | 'KEY_INVALID'
  | 'KEY_PERMISSIONS'
  | 'KEY_MISMATCH'
  | 'PORT_IN_USE'
  | 'UNKNOWN_REPLICA'
  | 'UNKNOWN_AGENT'
  | 'TIMEOUT'
  | 'NO_QUORUM'
  | 'REJECTED'
  // Offline checks of what a replica or another agent handed over (conclave receipt verify, evidence list).
  | 'RECEIPT_INVALID'
  | 'EVIDENCE_INVALID'
  /** conclave events watch: events dropped from the replicas' bounded log before they were read. */
  | 'EVENTS_LOST'
  // The genesis ceremony (genesis.json): see docs/operators-ceremony.md.
  | 'GENESIS_INVALID'
  | 'GENESIS_BAD_PROOF'
  | 'GENESIS_ALTERED'
  | 'GENESIS_BAD_SIGNATURE'
  | 'GENESIS_INCOMPLETE'
  | 'GENESIS_HASH_MISMATCH'
  | 'GENESIS_NOT_A_SIGNER';

export class CliError extends Error {
  readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.code = code;
  }
}

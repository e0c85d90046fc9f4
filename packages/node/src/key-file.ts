/**
 * One secret key file: a hex Ed25519 secret key (64 bytes: seed then public key) and a newline,
 * mode 0600, owner only. `conclave init` and `conclave keygen` write them; the daemon, the agent
 * tools and `conclave genesis sign` read them.
 */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { type CryptoBackend, fromHex, toHex } from '@conclave/core';
import { CliError } from './errors.ts';

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/**
 * Writes `secretKey` to `path`, owner-only. Refuses an existing file: a key that is overwritten
 * is lost, and with it whatever it was registered for.
 */
export function writeSecretKeyFile(path: string, secretKey: Uint8Array): void {
  try {
    // 'wx': created here or not at all, so a key appearing in between is not overwritten either.
    writeFileSync(path, `${toHex(secretKey)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new CliError('ALREADY_EXISTS', `${path} exists; a key is never overwritten (remove it first)`);
    throw error;
  }
  // The mode given at creation is masked by the umask; this one is not.
  chmodSync(path, 0o600);
}

/** Reads a secret key file: owner-only, hex, 64 bytes, its public half derived from its seed. */
export function readSecretKeyFile(path: string, crypto: CryptoBackend): KeyPair {
  if (!existsSync(path)) throw new CliError('KEY_MISSING', `no key file at ${path}`);
  const mode = statSync(path).mode;
  if ((mode & 0o077) !== 0 && process.platform !== 'win32') {
    throw new CliError(
      'KEY_PERMISSIONS',
      `${path} is readable by others (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
    );
  }
  let secretKey: Uint8Array;
  try {
    secretKey = fromHex(readFileSync(path, 'utf8').trim());
  } catch {
    throw new CliError('KEY_INVALID', `${path} does not hold a hex secret key`);
  }
  if (secretKey.byteLength !== 64)
    throw new CliError(
      'KEY_INVALID',
      `${path} must hold a 64-byte Ed25519 secret key, found ${secretKey.byteLength} bytes`,
    );
  const derived = crypto.keyPairFromSeed(secretKey.subarray(0, 32));
  if (toHex(derived.secretKey) !== toHex(secretKey))
    throw new CliError('KEY_INVALID', `${path}: its public half is not the key of its seed`);
  return derived;
}

/** What every `conclave` command shares: reading flags, and printing a line. */

/** Bad usage: the CLI prints it with a pointer to the usage, and exits 2. */
export class UsageError extends Error {}

export type Values = Record<string, string | boolean | string[] | undefined>;

export function requireString(value: unknown, flag: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new UsageError(`missing ${flag}`);
  return value;
}

export function integer(value: unknown, flag: string, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const parsed = Number(value);
  if (typeof value !== 'string' || !Number.isSafeInteger(parsed))
    throw new UsageError(`${flag} takes a whole number, got ${String(value)}`);
  return parsed;
}

/** `--flag JSON`: an object, parsed. */
export function jsonObjectFlag(value: Values[string], flag: string): Record<string, unknown> | undefined {
  if (typeof value !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new UsageError(`${flag} takes a JSON object: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(`${flag} takes a JSON object`);
  return parsed as Record<string, unknown>;
}

/** A number names agent-N; anything else is the agent's id. */
export const agentIdOf = (value: string): string => (/^\d+$/.test(value) ? `agent-${value}` : value);

export function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

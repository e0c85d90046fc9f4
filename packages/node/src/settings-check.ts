/**
 * The shape every numeric settings block of cluster.json shares (`agentLimits`,
 * `connectionLimits`): an object of known names, each a positive whole number. One check, so
 * each block's mistakes read the same.
 */

/** Throws a RangeError naming `section` or its field for anything but known names with positive whole numbers. */
export function checkSettings(section: string, partial: unknown, known: readonly string[]): void {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial))
    throw new RangeError(`"${section}" must be an object`);
  for (const [key, value] of Object.entries(partial)) {
    if (!known.includes(key))
      throw new RangeError(`"${section}.${key}" is not a setting (known: ${known.join(', ')})`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`"${section}.${key}" must be a whole number of at least 1, got ${String(value)}`);
  }
}

/**
 * Sealed judging, in process. Run: pnpm --filter @conclave-examples/sealed-judging start
 * The story and its checks are in judging.ts.
 */
import { pathToFileURL } from 'node:url';
import { COPYCAT, type JudgingSummary, judging, SILENT } from './judging.ts';

/** Whether the story showed what it claims. */
export function holds(summary: JudgingSummary): boolean {
  return (
    summary.status === 'approved' &&
    summary.winner === 'answer-2' &&
    !summary.seenDuringCommit.scoresVisible &&
    summary.copycatRefusals.join(',') === 'NOT_FOUND,FORGED_BALLOT,REVEAL_MISMATCH' &&
    summary.excluded.some((e) => e.agent === COPYCAT && e.reason === 'reveal_mismatch') &&
    summary.unrevealed.join(',') === SILENT &&
    summary.evidence.length === 2 &&
    summary.evidence.every((e) => e.verified)
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = performance.now();
  const ok = holds(await judging());
  console.log(`${ok ? 'ok' : 'FAILED'} in ${Math.round(performance.now() - started)} ms`);
  process.exit(ok ? 0 : 1);
}

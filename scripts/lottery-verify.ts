/**
 * Recomputes a lottery's draw from its public data and says whether it matches:
 *
 *   npm run lottery:verify -- <lotteryId> [gatewayUrl]      (or GATEWAY_URL=http://host:port)
 *
 * Reads GET /lotteries/<lotteryId> and checks that SHA-256(seed) is the commitment published at
 * creation, that the entrant list is sorted and hashes to the published entrant hash, and that
 * the winners are the draw's order over the entrants (common/contracts/lottery-draw.ts,
 * docs/lottery.md). Prints OK, or each mismatch and exits 1; exits 2 when it cannot check.
 */
import { fileURLToPath } from 'node:url';
import { commitmentOf, drawOrder, entrantsHashOf, isSeed, sortEntrants } from '../common/contracts/lottery-draw.ts';
import { lotteryPublicSchema, type LotteryPublic } from '../common/contracts/protocol.ts';

export interface Verdict {
  ok: boolean;
  lines: string[];
}

/** Checks a lottery as published; `lines` says what was checked and what did not match. */
export function verifyLottery(l: LotteryPublic): Verdict {
  const lines: string[] = [];
  const bad: string[] = [];
  const d = l.drawn;
  if (l.state !== 'drawn' || !d) return { ok: false, lines: [`lottery ${l.id} is not drawn yet (commitment ${l.commitment})`] };
  const entrants = l.entrantIds ?? [];
  if (!isSeed(d.seed)) bad.push('the seed is not 64 hex characters');
  else if (commitmentOf(d.seed) !== l.commitment) bad.push(`commitment mismatch: SHA-256(seed) = ${commitmentOf(d.seed)}, published ${l.commitment}`);
  else lines.push(`commitment  ${l.commitment} = SHA-256(seed)`);
  const sorted = sortEntrants(entrants);
  if (sorted.some((u, i) => u !== entrants[i])) bad.push('the published entrant list is not sorted');
  if (new Set(sorted).size !== sorted.length) bad.push('the entrant list has a user twice');
  if (sorted.length !== d.entrants) bad.push(`entrant count mismatch: ${sorted.length} listed, ${d.entrants} published`);
  const hash = entrantsHashOf(sorted);
  if (hash !== d.entrantsHash) bad.push(`entrant hash mismatch: computed ${hash}, published ${d.entrantsHash}`);
  else lines.push(`entrants    ${sorted.length}, hash ${hash}`);
  if (isSeed(d.seed)) {
    const order = drawOrder(d.seed, l.id, sorted, l.winners);
    const expected = order.slice(0, d.winners.length);
    const mismatch = d.winners.findIndex((u, i) => u !== expected[i]);
    if (d.winners.length > order.length) bad.push(`${d.winners.length} winners published, only ${order.length} can be drawn`);
    else if (mismatch >= 0) bad.push(`winner of rank ${mismatch + 1} mismatch: computed ${expected[mismatch]}, published ${d.winners[mismatch]}`);
    else lines.push(`winners     ${d.winners.length} of ${l.winners} asked (shortfall ${d.shortfall}), each as computed`);
    if (d.winners.length + d.shortfall !== l.winners) bad.push(`winners (${d.winners.length}) and shortfall (${d.shortfall}) do not add up to the ${l.winners} asked`);
  }
  for (const b of bad) lines.push(`MISMATCH    ${b}`);
  return { ok: bad.length === 0, lines };
}

async function main(): Promise<number> {
  const [lotteryId, urlArg] = process.argv.slice(2);
  if (!lotteryId) {
    process.stderr.write('usage: npm run lottery:verify -- <lotteryId> [gatewayUrl]\n');
    return 2;
  }
  const base = (urlArg ?? process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  const res = await fetch(`${base}/lotteries/${encodeURIComponent(lotteryId)}`);
  const body: unknown = await res.json().catch(() => undefined);
  if (res.status !== 200) {
    process.stderr.write(`cannot read lottery ${lotteryId}: HTTP ${res.status} ${JSON.stringify(body)}\n`);
    return 2;
  }
  const parsed = lotteryPublicSchema.safeParse(body);
  if (!parsed.success) {
    process.stderr.write(`the gateway's answer is not a lottery: ${parsed.error.message}\n`);
    return 2;
  }
  const v = verifyLottery(parsed.data);
  for (const line of v.lines) process.stdout.write(`${line}\n`);
  if (parsed.data.state !== 'drawn') return 2;
  process.stdout.write(v.ok ? `OK lottery ${lotteryId}\n` : `FAILED lottery ${lotteryId}\n`);
  return v.ok ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(2);
    },
  );
}

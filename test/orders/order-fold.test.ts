import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InventoryEvent } from '../../common/contracts/inventory-events.ts';
import { addBuckets, applyEvent, contributions, foldOrder, isZero, type Bucket, type OrderEvent, type OrderRow } from '../../orders/order-fold.ts';
import { cancelled, expired, held, paid, refund, reminder, repriced } from './events.ts';

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);

/** Every event one order can have, at increasing item versions. */
function orderEvents(): OrderEvent[] {
  const h = held({ order: 'o1', item: '7', room: '3', user: 'u1', qty: 2, price: 449, at: T0, ver: 10 });
  return [
    h,
    reminder(h, T0 + 60_000, 11),
    repriced(h, 399, T0 + 90_000, 12),
    paid({ ...h, amount: 798 } as InventoryEvent, T0 + 120_000, 13),
    refund(h, 100, T0 + 180_000, 14),
    cancelled(h, T0 + 200_000, 15),
    expired(h, T0 + 900_000, 16),
    refund(h, 698, T0 + 240_000, 17, 'cancelled_after_payment'),
  ] as OrderEvent[];
}

/** The writer's way: apply to the row when there is one, otherwise keep the event and fold all kept. */
function deliver(events: readonly OrderEvent[]): { row: OrderRow | undefined; buckets: Map<string, Bucket> } {
  let row: OrderRow | undefined;
  const kept: OrderEvent[] = [];
  const seen = new Set<string>();
  const buckets = new Map<string, Bucket>();
  for (const e of events) {
    if (seen.has(e.id)) continue; // ON CONFLICT (event_id) DO NOTHING
    seen.add(e.id);
    kept.push(e);
    const before = row;
    row = row ? (applyEvent(row, e) ?? row) : foldOrder(kept);
    if (before) addBuckets(buckets, contributions(before), -1);
    if (row) addBuckets(buckets, contributions(row), 1);
  }
  return { row, buckets };
}

function nonZero(m: Map<string, Bucket>): Bucket[] {
  return [...m.values()].filter((b) => !isZero(b)).sort((a, b) => a.minute - b.minute);
}

describe('order fold', () => {
  it('the happy path: held, then paid', () => {
    const [h, , , p] = orderEvents();
    const r = foldOrder([h!, p!])!;
    expect(r.state).toBe('paid');
    expect(r.amount).toBe(898);
    expect(r.paidAmount).toBe(798);
    expect(r.heldAt).toBe(T0);
  });

  it('a payment that arrives before its hold makes a provisional row the hold then completes', () => {
    const [h, , , p] = orderEvents();
    const first = applyEvent(undefined, p!)!;
    expect(first).toMatchObject({ state: 'paid', heldVer: null, heldAt: T0 + 120_000, deadlineAt: null });
    const done = applyEvent(first, h!)!;
    expect(done).toEqual(foldOrder([h!, p!]));
    expect(done).toMatchObject({ heldAt: T0, heldVer: 10, deadlineAt: T0 + 900_000, unitPrice: 449 });
  });

  it('events that cannot make a row wait for their hold', () => {
    const [h, , , , , c] = orderEvents();
    expect(applyEvent(undefined, c!)).toBeUndefined();
    expect(foldOrder([c!, h!])!.state).toBe('cancelled');
  });

  it('states: expiry and cancellation end a hold (the first wins); a later cancellation or full refund makes a paid order refunded', () => {
    const [h, , , p, r1, c, x, r2] = orderEvents();
    expect(foldOrder([h!, x!])!.state).toBe('expired');
    expect(foldOrder([h!, c!, x!])!.state).toBe('cancelled');
    expect(foldOrder([h!, p!, r1!])!.state).toBe('paid');
    expect(foldOrder([h!, p!, r1!])!.refundedAmount).toBe(100);
    expect(foldOrder([h!, p!, r1!, r2!])!.state).toBe('refunded');
    expect(foldOrder([h!, p!, c!])!.state).toBe('refunded');
    // A payment after an expiry (re-reserved) wins over it.
    expect(foldOrder([h!, { ...x!, ver: 12 } as OrderEvent, p!])!.state).toBe('paid');
  });

  it('any subset of an order\'s events, delivered in any order and any number of times, ends in the same row and the same per-minute figures', () => {
    const all = orderEvents();
    fc.assert(
      fc.property(
        fc.subarray(all, { minLength: 1 }).chain((subset) =>
          fc.tuple(fc.constant(subset), fc.shuffledSubarray([...subset, ...subset], { minLength: subset.length * 2, maxLength: subset.length * 2 })),
        ),
        ([subset, delivery]) => {
          const expected = foldOrder(subset);
          const { row, buckets } = deliver(delivery);
          expect(row).toEqual(expected);
          const want = new Map<string, Bucket>();
          if (expected) addBuckets(want, contributions(expected), 1);
          expect(nonZero(buckets)).toEqual(nonZero(want));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

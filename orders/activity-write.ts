import { sql, type Transaction } from 'kysely';
import { activityEvent, type ActivityEvent } from '../common/contracts/activity-events.ts';
import type { BatchResult, Parsed } from './batch-consumer.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';

const dbId = /^\d{1,18}$/;

/** Parses one message of the room-activity topic; anything the ledger cannot take is poison. */
export function parseActivityEvent(raw: string): Parsed<ActivityEvent> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { ok: false, error: `invalid JSON: ${(err as Error).message}` };
  }
  const r = activityEvent.safeParse(json);
  if (!r.success) return { ok: false, error: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const e = r.data;
  if (!dbId.test(e.room)) return { ok: false, error: `room must be a numeric id (got ${JSON.stringify(e.room)})` };
  const item = 'item' in e ? e.item : null;
  if (item !== null && !dbId.test(item)) return { ok: false, error: `item must be a numeric id (got ${JSON.stringify(item)})` };
  return { ok: true, event: e, raw };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Writes a batch of room-activity events in the caller's transaction: each event once (ON
 * CONFLICT on its id), then, for the new ones only, the distinct sets the stats read: viewers
 * (entries, watch time), product visitors, followers. Every statement is pre-aggregated per key
 * and sorted, so concurrent batches lock rows in the same order.
 */
export async function writeActivityBatch(trx: Transaction<Database>, batch: readonly { event: ActivityEvent; raw: string }[]): Promise<BatchResult & { freshEvents: ActivityEvent[] }> {
  const byId = new Map<string, ActivityEvent>();
  for (const p of batch) if (!byId.has(p.event.id)) byId.set(p.event.id, p.event);
  const rooms = new Set<string>();
  if (byId.size === 0) return { rooms, fresh: 0, freshEvents: [] };
  const all = [...byId.values()];
  // One JSON array parameter, parsed once by Postgres (no per-value escaping).
  const inserted = await sql<{ event_id: string }>`
    INSERT INTO room_activity (event_id, room_id, type, user_id, item_id, at, value)
    SELECT e->>'id', (e->>'room')::bigint, e->>'type', coalesce(e->>'user', e->>'by'), (e->>'item')::bigint,
           'epoch'::timestamptz + (e->>'at')::bigint * interval '1 millisecond', coalesce(e->>'watchedMs', e->>'online')::bigint
    FROM json_array_elements(${JSON.stringify(all)}::json) AS e
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id`.execute(trx);
  const freshIds = new Set(inserted.rows.map((r) => r.event_id));
  const fresh = all.filter((e) => freshIds.has(e.id));

  const viewers = new Map<string, { room: string; user: string; firstAt: number | null; entries: number; watchMs: number }>();
  const visitors = new Map<string, { room: string; item: string; user: string; firstAt: number; clicks: number }>();
  const followers = new Map<string, { room: string; user: string; at: number }>();
  for (const e of fresh) {
    rooms.add(e.room);
    switch (e.type) {
      case 'viewer.joined':
      case 'viewer.left': {
        const key = `${e.room}|${e.user}`;
        let v = viewers.get(key);
        if (!v) viewers.set(key, (v = { room: e.room, user: e.user, firstAt: null, entries: 0, watchMs: 0 }));
        if (e.type === 'viewer.joined') {
          v.entries++;
          v.firstAt = v.firstAt === null ? e.at : Math.min(v.firstAt, e.at);
        } else {
          v.watchMs += e.watchedMs;
        }
        break;
      }
      case 'product.clicked': {
        const key = `${e.room}|${e.item}|${e.user}`;
        const v = visitors.get(key);
        if (!v) visitors.set(key, { room: e.room, item: e.item, user: e.user, firstAt: e.at, clicks: 1 });
        else {
          v.clicks++;
          v.firstAt = Math.min(v.firstAt, e.at);
        }
        break;
      }
      case 'room.followed': {
        const key = `${e.room}|${e.user}`;
        const v = followers.get(key);
        if (!v || e.at < v.at) followers.set(key, { room: e.room, user: e.user, at: e.at });
        break;
      }
      case 'room.online':
      case 'item.on_air':
        break; // read straight from room_activity
    }
  }

  const sorted = <T>(m: Map<string, T>) => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, v]) => v);
  if (viewers.size) {
    const v = sorted(viewers);
    await sql`
      INSERT INTO room_viewers (room_id, user_id, first_at, entries, watch_ms)
      SELECT * FROM unnest(${v.map((x) => x.room)}::bigint[], ${v.map((x) => x.user)}::text[], ${v.map((x) => (x.firstAt === null ? null : iso(x.firstAt)))}::timestamptz[],
        ${v.map((x) => x.entries)}::integer[], ${v.map((x) => x.watchMs)}::bigint[])
      ON CONFLICT (room_id, user_id) DO UPDATE SET
        first_at = least(room_viewers.first_at, EXCLUDED.first_at),
        entries = room_viewers.entries + EXCLUDED.entries,
        watch_ms = room_viewers.watch_ms + EXCLUDED.watch_ms`.execute(trx);
  }
  if (visitors.size) {
    const v = sorted(visitors);
    await sql`
      INSERT INTO product_visitors (room_id, item_id, user_id, first_at, clicks)
      SELECT * FROM unnest(${v.map((x) => x.room)}::bigint[], ${v.map((x) => x.item)}::bigint[], ${v.map((x) => x.user)}::text[],
        ${v.map((x) => iso(x.firstAt))}::timestamptz[], ${v.map((x) => x.clicks)}::integer[])
      ON CONFLICT (room_id, item_id, user_id) DO UPDATE SET
        first_at = least(product_visitors.first_at, EXCLUDED.first_at),
        clicks = product_visitors.clicks + EXCLUDED.clicks`.execute(trx);
  }
  if (followers.size) {
    const v = sorted(followers);
    await sql`
      INSERT INTO room_followers (room_id, user_id, followed_at)
      SELECT * FROM unnest(${v.map((x) => x.room)}::bigint[], ${v.map((x) => x.user)}::text[], ${v.map((x) => iso(x.at))}::timestamptz[])
      ON CONFLICT (room_id, user_id) DO UPDATE SET followed_at = least(room_followers.followed_at, EXCLUDED.followed_at)`.execute(trx);
  }
  return { rooms, fresh: fresh.length, freshEvents: fresh };
}

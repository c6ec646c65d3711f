import { randomUUID } from 'node:crypto';
import type { InventoryEvent } from '../../common/contracts/inventory-events.ts';
import type { ActivityEvent } from '../../common/contracts/activity-events.ts';

/**
 * Builders of inventory and room-activity events as the scripts and gateway nodes write them
 * (the contracts of common/contracts/inventory-events.ts and common/contracts/activity-events.ts), for tests that produce to Kafka
 * directly or write batches straight into the ledger.
 */

export interface OrderSpec {
  order?: string;
  item: string;
  room: string;
  user: string;
  qty?: number;
  price?: number;
  at: number;
  ver: number;
}

export function held(o: OrderSpec & { deadlineMs?: number }): InventoryEvent {
  const order = o.order ?? randomUUID();
  const qty = o.qty ?? 1;
  const price = o.price ?? 100;
  return {
    id: `${order}:held`,
    type: 'order.held',
    kind: 'flash',
    order,
    item: o.item,
    room: o.room,
    user: o.user,
    qty,
    price,
    amount: qty * price,
    at: o.at,
    deadline: o.at + (o.deadlineMs ?? 900_000),
    ver: o.ver,
    idem: `k-${order}`,
  };
}

export function paid(h: InventoryEvent, at: number, ver: number): InventoryEvent {
  if (h.type !== 'order.held') throw new Error('paid() needs a held event');
  return { id: `${h.order}:paid`, type: 'order.paid', order: h.order, item: h.item, room: h.room, user: h.user, qty: h.qty, amount: h.amount, at, ver, hv: 1 };
}

export function cancelled(h: InventoryEvent, at: number, ver: number, reason: 'user' | 'host' | 'group_failed' = 'user'): InventoryEvent {
  if (h.type !== 'order.held') throw new Error('cancelled() needs a held event');
  return { id: `${h.order}:cancelled`, type: 'order.cancelled', order: h.order, item: h.item, room: h.room, user: h.user, qty: h.qty, reason, at, ver };
}

export function expired(h: InventoryEvent, at: number, ver: number): InventoryEvent {
  if (h.type !== 'order.held') throw new Error('expired() needs a held event');
  return { id: `${h.order}:expired`, type: 'order.expired', order: h.order, item: h.item, room: h.room, user: h.user, qty: h.qty, at, ver };
}

export function repriced(h: InventoryEvent, price: number, at: number, ver: number): InventoryEvent {
  if (h.type !== 'order.held') throw new Error('repriced() needs a held event');
  return { id: `${h.order}:repriced:${ver}`, type: 'order.repriced', order: h.order, item: h.item, room: h.room, user: h.user, price, amount: price * h.qty, at, ver };
}

export function refund(h: InventoryEvent, amount: number, at: number, ver: number, reason: 'tier_settlement' | 'group_failed' | 'cancelled_after_payment' = 'tier_settlement'): InventoryEvent {
  if (h.type !== 'order.held') throw new Error('refund() needs a held event');
  return { id: `${h.order}:refund:${ver}`, type: 'refund.issued', order: h.order, item: h.item, room: h.room, user: h.user, amount, reason, at, ver };
}

export function reminder(h: InventoryEvent, at: number, ver: number): InventoryEvent {
  if (h.type !== 'order.held') throw new Error('reminder() needs a held event');
  return { id: `${h.order}:reminder:${ver}`, type: 'order.reminder', order: h.order, item: h.item, room: h.room, user: h.user, deadline: h.deadline, at, ver };
}

export function stockAdjusted(item: string, room: string, at: number, ver: number, delta: number): InventoryEvent {
  return { id: `${item}:adj:${ver}`, type: 'stock.adjusted', item, room, at, ver, delta, total: 100 + delta, available: 50 + delta, by: 'host-1' };
}

let seq = 0;
const aid = (kind: string) => `${kind}:${Date.now().toString(36)}:${++seq}:${randomUUID().slice(0, 8)}`;

export const activity = {
  joined: (room: string, user: string, at: number): ActivityEvent => ({ id: aid('j'), type: 'viewer.joined', room, user, node: 'n1', at }),
  left: (room: string, user: string, at: number, watchedMs: number): ActivityEvent => ({ id: aid('l'), type: 'viewer.left', room, user, node: 'n1', at, watchedMs }),
  clicked: (room: string, user: string, item: string, at: number): ActivityEvent => ({ id: aid('c'), type: 'product.clicked', room, user, item, at }),
  followed: (room: string, user: string, at: number): ActivityEvent => ({ id: aid('f'), type: 'room.followed', room, user, at }),
  online: (room: string, online: number, at: number): ActivityEvent => ({ id: `online:${room}:${Math.floor(at / 1000)}`, type: 'room.online', room, online, at }),
  onAir: (room: string, item: string | null, at: number): ActivityEvent => ({ id: aid('a'), type: 'item.on_air', room, item, by: 'host-1', at }),
};

import { z } from 'zod';

/**
 * Room activity: what viewers and hosts do in a room, published by gateway nodes to the Kafka
 * topic `room-activity` (keyed by room id) and written by the ledger writer for the stats
 * (uv, pv, watch time, product visitors, follows, online and peak online, on-air intervals).
 *
 * Every event has a deterministic `id` (the writer's ON CONFLICT key) and gateway-clock `at` ms.
 */

const id = z.string().min(1).max(64);
const user = z.string().min(1).max(128);
const ms = z.number().int().min(0);
const base = { id: z.string().min(1).max(200), room: id, at: ms };

/** A viewer entered the room (every entry counts for pv; distinct users for uv). */
export const viewerJoined = z.object({ ...base, type: z.literal('viewer.joined'), user, node: z.string().max(64) });

/** A viewer left; `watchedMs` is the length of this visit. */
export const viewerLeft = z.object({ ...base, type: z.literal('viewer.left'), user, node: z.string().max(64), watchedMs: z.number().int().min(0) });

/** A viewer opened a product's detail. */
export const productClicked = z.object({ ...base, type: z.literal('product.clicked'), user, item: id });

/** A viewer followed the room. */
export const roomFollowed = z.object({ ...base, type: z.literal('room.followed'), user });

/**
 * Viewers connected to the whole room at a moment (sum of every node's count). Any node may
 * sample; the id is "online:<room>:<epoch second>", so several nodes sampling the same second
 * collapse into one row.
 */
export const roomOnline = z.object({ ...base, type: z.literal('room.online'), online: z.number().int().min(0) });

/** The host put an item on air (or none: item null). Consecutive events give on-air intervals. */
export const itemOnAir = z.object({ ...base, type: z.literal('item.on_air'), item: id.nullable(), by: user });

export const activityEvent = z.discriminatedUnion('type', [viewerJoined, viewerLeft, productClicked, roomFollowed, roomOnline, itemOnAir]);

export type ActivityEvent = z.infer<typeof activityEvent>;
export type ActivityEventType = ActivityEvent['type'];

import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type CommandInput } from '../../web/client.ts';
import { commandNames, type CommandName } from '../../common/contracts/protocol.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, openWindow, rawSocket } from './support.ts';

let sys: System;
let roomId: string;
let itemId: string;

beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 1000, wsMessageRate: 1000, userMessageRate: 1000 });
  const h = await hostWithRoom(sys, 'owner', 'auth matrix');
  roomId = h.roomId;
  itemId = (await h.http.addItem(roomId, { title: 'Honey', price: 4200, stock: 100, perUserLimit: 2, ...openWindow() })).id;
  await h.http.putOnAir(roomId, itemId);
});
afterAll(async () => {
  await sys?.stop();
});

/** A valid instance of every host command (so only the token can be the problem). */
function sample(name: CommandName): CommandInput {
  const w = openWindow();
  const all: { [N in CommandName]: CommandInput<N> } = {
    addItem: { command: 'addItem', title: 'Intruder item', price: 1, stock: 1, perUserLimit: 1, ...w },
    onAir: { command: 'onAir', itemId: null },
    list: { command: 'list', itemId },
    delist: { command: 'delist', itemId },
    reorder: { command: 'reorder', listing: [itemId] },
    setPrice: { command: 'setPrice', itemId, price: 1 },
    adjustStock: { command: 'adjustStock', itemId, delta: -50 },
    announce: { command: 'announce', text: 'free stuff' },
    pin: { command: 'pin', announcementId: null },
    openSale: { command: 'openSale', itemId },
    closeSale: { command: 'closeSale', itemId },
    openGroup: { command: 'openGroup', title: 'Group', basePrice: 1000, stock: 10, perUserLimit: 1, tiers: [{ threshold: 2, price: 900 }], endsAt: w.endsAt },
    closeGroup: { command: 'closeGroup', itemId },
    next: { command: 'next' },
    swap: { command: 'swap', mainPosition: 1, backupPosition: 2 },
    skip: { command: 'skip', position: 1 },
    createLottery: { command: 'createLottery', title: 'Intruder lottery', prize: { kind: 'coupon', title: 'Coupon' }, winners: 1, eligibility: { kind: 'anyone' }, closesAt: w.endsAt },
    drawLottery: { command: 'drawLottery', lotteryId: '1' },
    setTeamBuy: { command: 'setTeamBuy', itemId, size: 3, teamPrice: 100, windowSeconds: 600 },
    setBargain: { command: 'setBargain', itemId, start: 4200, floor: 100, helpers: 5, windowSeconds: 600 },
    setMemberDay: { command: 'setMemberDay', itemId, threshold: 0, off: { regular: 1, silver: 2, gold: 3 } },
    addCoupon: { command: 'addCoupon', itemId, id: 'intruder', kind: 'fixed', amount: 100, percent: 0, minSpend: 0, perUser: 1, budget: 10, startsAt: w.startsAt, endsAt: w.endsAt },
    setCommission: { command: 'setCommission', itemId, rateBp: 500 },
    remind: { command: 'remind', itemId, audience: { tiers: ['gold'] } },
  };
  return all[name];
}

/** Everything a command could change: the room document and log, command answers, the item's inventory. */
async function state() {
  const rk = sys.keys.room(roomId);
  const ik = sys.keys.item(itemId);
  return {
    room: await sys.redis.hgetall(rk.room),
    log: await sys.redis.xlen(rk.log),
    answers: await sys.redis.hgetall(rk.commands),
    item: await sys.redis.hgetall(ik.item),
    items: await sys.db.selectFrom('campaign_items').select('id').where('room_id', '=', roomId).execute(),
  };
}

describe('the auth matrix', () => {
  it('every host command with a shopper token or another room\'s host token is FORBIDDEN over HTTP and WebSocket, and changes nothing', async () => {
    const before = await state();
    const version = Number(before.room.version);
    const shopper = await sys.token('shopper', 'mallory');
    const otherHost = (await hostWithRoom(sys, 'other-host', 'not yours')).token;
    let tried = 0;
    for (const token of [shopper, otherHost]) {
      const http = sys.http(token);
      const sock = await sys.connect(roomId, token);
      for (const name of commandNames) {
        const cmd = sample(name);
        const viaHttp = await http.request('POST', `/rooms/${roomId}/commands`, { ...cmd, idempotencyKey: `k-${name}`, baseVersion: version });
        expect(viaHttp.status, `${name} over HTTP`).toBe(403);
        expect(viaHttp.body.error.code, `${name} over HTTP`).toBe('FORBIDDEN');
        const viaWs = await sock.command(cmd, { idempotencyKey: `w-${name}`, baseVersion: version }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(viaWs, `${name} over WebSocket`).toBeInstanceOf(ApiError);
        expect((viaWs as ApiError).code, `${name} over WebSocket`).toBe('FORBIDDEN');
        tried += 2;
      }
      // The convenience endpoints and the audit log too.
      const item = await http.request('POST', `/rooms/${roomId}/items`, { title: 'x', price: 1, stock: 1, perUserLimit: 1, ...openWindow(), idempotencyKey: 'i', baseVersion: version });
      expect(item.body.error.code).toBe('FORBIDDEN');
      const onAir = await http.request('POST', `/rooms/${roomId}/on-air`, { itemId: null, idempotencyKey: 'o', baseVersion: version });
      expect(onAir.body.error.code).toBe('FORBIDDEN');
      tried += 2;
      // Ops and host reads: the audit log and the live figures.
      for (const path of [`/rooms/${roomId}/audit`, `/rooms/${roomId}/stats`]) {
        const read = await http.request('GET', path);
        expect(read.status, path).toBe(403);
        expect(read.body.error.code, path).toBe('FORBIDDEN');
      }
      sock.close();
    }
    expect(tried).toBe(commandNames.length * 4 + 4);
    expect(await state()).toEqual(before);
    // Each refused attempt is counted per actor, command and code; none is a row of its own.
    const owner = sys.http(await sys.token('host', 'owner'));
    const log = await owner.auditLog(roomId, 1000);
    expect(log.entries.filter((e) => e.outcome === 'rejected')).toEqual([]);
    const forbidden = log.refusals.filter((r) => r.errorCode === 'FORBIDDEN');
    expect(forbidden.reduce((n, r) => n + r.count, 0)).toBe(tried);
    expect(new Set(forbidden.map((r) => r.actor))).toEqual(new Set(['mallory', 'other-host']));
    expect(new Set(forbidden.map((r) => r.command))).toEqual(new Set(commandNames));
    expect(forbidden.find((r) => r.actor === 'mallory' && r.command === 'addItem')).toEqual({ actor: 'mallory', role: 'shopper', command: 'addItem', errorCode: 'FORBIDDEN', count: 3 });
  });

  it('ops may run host commands in any room', async () => {
    const ops = sys.http(await sys.token('ops', 'ops-1'));
    const r = await ops.command(roomId, { command: 'announce', text: 'from ops' });
    expect(r.duplicate).toBe(false);
    const snap = await sys.http().snapshot(roomId);
    expect(snap.room.announcements!.at(-1)!.text).toBe('from ops');
  });
});

describe('tokens', () => {
  it('missing, forged and expired tokens are refused at upgrade and on HTTP with UNAUTHENTICATED', async () => {
    const forged = await new SignJWT({ role: 'host' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('owner')
      .setIssuer('livesale')
      .setAudience('livesale')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-another-secret-another'));
    const expired = await sys.gateway.auth.issue('owner', 'host', -10);
    for (const token of [forged, expired, 'garbage']) {
      await expect(rawSocket(sys.baseUrl, roomId, token)).rejects.toThrow(/401/);
      const r = await sys.http(token).request('POST', `/rooms/${roomId}/commands`, { command: 'announce', text: 'x', idempotencyKey: 'k', baseVersion: 1 });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHENTICATED');
    }
    await expect(rawSocket(sys.baseUrl, roomId, '')).rejects.toThrow(/401/);
  });

  it('a connection whose token expires is closed with 4001 and a reason; a refreshed one stays', async () => {
    const short = await sys.gateway.auth.issue('short-lived', 'shopper', 2);
    const stays = await sys.connect(roomId, short);
    const goes = await sys.connect(roomId, short);
    await stays.refreshToken(await sys.gateway.auth.issue('short-lived', 'shopper', 3600));
    // Another user's token is not a refresh.
    await expect(stays.refreshToken(await sys.gateway.auth.issue('someone-else', 'shopper', 3600))).rejects.toThrow(/FORBIDDEN/);
    const closed = await waitFor('the unrefreshed socket to be closed', () => goes.closed, 15_000);
    expect(closed.code).toBe(4001);
    expect(closed.reason).toMatch(/expired/);
    expect(stays.closed).toBeUndefined();
    expect(await stays.ping()).toBeGreaterThan(0);
    stays.close();
  });
});

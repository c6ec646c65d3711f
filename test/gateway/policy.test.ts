import { describe, expect, it } from 'vitest';
import { LivesaleError } from '../../common/platform/errors.ts';
import type { Principal, Role } from '../../gateway/auth.ts';
import { actions, allows, authorize, isAction, isPublic, policies, type Action } from '../../gateway/policy.ts';
import { callOf, requireAuthorized } from '../../gateway/router.ts';
import { collectEndpoints } from '../../scripts/protocol-docs.ts';

const who = (role: Role, sub = `${role}-1`): Principal => ({ sub, role, exp: Math.floor(Date.now() / 1000) + 3600 });

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof LivesaleError ? err.code : 'not a LivesaleError';
  }
}

describe('every route and message type is authorized by a policy', () => {
  const { routes, messages } = collectEndpoints();

  it('every registered HTTP route and WebSocket message type names an action of the policy table', () => {
    expect(routes.length).toBeGreaterThan(10);
    expect(messages.length).toBeGreaterThan(5);
    expect(routes.filter((r) => !isAction(r.action)).map((r) => r.name)).toEqual([]);
    expect(messages.filter((m) => !isAction(m.action)).map((m) => m.type)).toEqual([]);
  });

  it('the public routes are exactly the ones meant to be (nothing that changes state but demo tokens)', () => {
    const open = routes.filter((r) => isPublic(r.action)).map((r) => `${r.method} ${r.pattern}`);
    expect(open.sort()).toEqual(
      [
        'get /',
        'get /healthz',
        'get /metrics',
        'get /readyz',
        'get /rooms/:roomId',
        'get /stats/dictionary',
        'get /web/',
        'get /web/*',
        'post /auth/demo',
        // Lotteries are public so that anyone can verify a draw.
        'get /lotteries/:lotteryId',
        'get /shows/:showId/lotteries',
        // A team's progress is public so that a share code can be opened by anyone.
        'get /rooms/:roomId/items/:itemId/teams/:teamId',
        'get /rooms/:roomId/items/:itemId/bargains/:bargainId',
      ].sort(),
    );
    // A WebSocket message always comes from an authenticated connection: none is public.
    expect(messages.filter((m) => isPublic(m.action)).map((m) => m.type)).toEqual([]);
  });

  it('every action of the table is used (the WebSocket upgrade uses room.watch)', () => {
    const used = new Set<Action>([...routes.map((r) => r.action), ...messages.map((m) => m.action), 'room.watch']);
    expect(actions.filter((a) => !used.has(a))).toEqual([]);
  });
});

describe('the policies', () => {
  const room = { id: 'r1', hostId: 'host-1' };
  const show = { hostId: 'host-1' };
  const owner = who('host', 'host-1');
  const otherHost = who('host', 'host-2');

  it('role gates: FORBIDDEN for the wrong role, before any resource is known', () => {
    const shopperOnly: Action[] = ['order.buy', 'order.pay', 'order.cancel', 'group.join', 'sale.subscribe', 'order.list.own', 'ws.product.click', 'ws.follow'];
    for (const a of shopperOnly) {
      expect(codeOf(() => authorize(a, who('shopper'))), a).toBeUndefined();
      expect(codeOf(() => authorize(a, who('host'))), a).toBe('FORBIDDEN');
      expect(codeOf(() => authorize(a, who('ops'))), a).toBe('FORBIDDEN');
    }
    expect(codeOf(() => authorize('room.create', who('host')))).toBeUndefined();
    expect(codeOf(() => authorize('room.create', who('shopper')))).toBe('FORBIDDEN');
    expect(codeOf(() => authorize('room.create', who('ops')))).toBe('FORBIDDEN');
    expect(codeOf(() => authorize('show.create', who('ops')))).toBe('FORBIDDEN');
  });

  it("the room's host and ops; another room's host and shoppers are FORBIDDEN", () => {
    for (const a of ['room.command', 'room.audit.read', 'room.stats.read', 'group.settlement.read', 'show.run'] as const) {
      expect(codeOf(() => authorize(a, owner, room)), a).toBeUndefined();
      expect(codeOf(() => authorize(a, who('ops'), room)), a).toBeUndefined();
      expect(codeOf(() => authorize(a, otherHost, room)), a).toBe('FORBIDDEN');
      expect(codeOf(() => authorize(a, who('shopper'), room)), a).toBe('FORBIDDEN');
    }
    expect(codeOf(() => authorize('show.create', owner, room))).toBeUndefined();
    expect(codeOf(() => authorize('show.create', otherHost, room))).toBe('FORBIDDEN');
    for (const a of ['show.read', 'show.report'] as const) {
      expect(codeOf(() => authorize(a, owner, show)), a).toBeUndefined();
      expect(codeOf(() => authorize(a, who('ops'), show)), a).toBeUndefined();
      expect(codeOf(() => authorize(a, otherHost, show)), a).toBe('FORBIDDEN');
      expect(codeOf(() => authorize(a, who('shopper'), show)), a).toBe('FORBIDDEN');
    }
  });

  it('a token refresh keeps the user and the role', () => {
    const p = who('shopper', 'ann');
    expect(codeOf(() => authorize('ws.auth', p, who('shopper', 'ann')))).toBeUndefined();
    expect(codeOf(() => authorize('ws.auth', p, who('shopper', 'bob')))).toBe('FORBIDDEN');
    expect(codeOf(() => authorize('ws.auth', p, who('host', 'ann')))).toBe('FORBIDDEN');
  });

  it('allows answers the same question without throwing (live figures go to who may read the stats)', () => {
    expect(allows('room.stats.read', owner, room)).toBe(true);
    expect(allows('room.stats.read', who('ops'), room)).toBe(true);
    expect(allows('room.stats.read', otherHost, room)).toBe(false);
    expect(allows('room.stats.read', who('shopper'), room)).toBe(false);
  });

  it('every policy says who, for the documentation', () => {
    for (const a of actions) expect(policies[a].who.length, a).toBeGreaterThan(0);
  });
});

describe('a call must be authorized before it answers', () => {
  it('a handler that never calls authorize is refused with INTERNAL; one that does passes', () => {
    const skipped = callOf('order.buy', who('shopper'));
    expect(codeOf(() => requireAuthorized(skipped, 'route items.buy'))).toBe('INTERNAL');
    const checked = callOf('order.buy', who('shopper'));
    checked.authorize();
    expect(codeOf(() => requireAuthorized(checked, 'route items.buy'))).toBeUndefined();
  });

  it('a refused authorization leaves the call unauthorized', () => {
    const call = callOf('order.buy', who('host'));
    expect(codeOf(() => call.authorize())).toBe('FORBIDDEN');
    expect(call.authorized).toBe(false);
  });

  it('a public action needs no authorize call and has no principal', () => {
    const call = callOf('system.read', undefined);
    expect(codeOf(() => requireAuthorized(call, 'route healthz'))).toBeUndefined();
    expect(() => call.principal).toThrow(/no principal/);
  });
});

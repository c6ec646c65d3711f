import { randomUUID } from 'node:crypto';
import { LivesaleError } from '../../common/platform/errors.ts';
import { idempotencyKey, type Command, type CommandOf, type CommandResult } from '../../common/contracts/protocol.ts';
import type { Commands } from '../commands.ts';
import type { Req } from '../http.ts';
import type { RoomHub } from '../room-hub.ts';
import { callOf, type Call } from '../router.ts';

type OfferCommandName = 'setTeamBuy' | 'setBargain' | 'setMemberDay' | 'addCoupon' | 'setCommission';
/** One of the offer commands without its envelope (the route supplies it). */
export type OfferCommand = { [N in OfferCommandName]: Omit<CommandOf<N>, 'idempotencyKey' | 'baseVersion'> }[OfferCommandName];

/** How many times a route's command is sent again when another command moved the room first (no If-Match given). */
const conflictRetries = 5;

/**
 * Runs one of the offer routes' host commands (setTeamBuy, setBargain, setMemberDay, addCoupon,
 * setCommission) through the command pipeline, so the route is audited, takes the room's lock
 * and appends the item delta like the command itself. The route keeps its request body: the
 * idempotency key comes from the Idempotency-Key header (absent: a fresh one, so each request
 * applies again, as a replacement does), the base version from If-Match (absent: the room's
 * version now, sent again with the same key when another command moved the room first).
 *
 * The route's own action is checked first for the caller's role (a shopper learns nothing about
 * the room); the pipeline then checks `room.command` and the command's action on the room.
 */
export async function runOfferCommand(
  deps: { commands: Commands; hub: RoomHub },
  call: Call,
  r: Req,
  roomId: string,
  cmd: OfferCommand,
): Promise<CommandResult> {
  call.authorize();
  const headerKey = r.headers['idempotency-key'];
  if (headerKey !== undefined && !idempotencyKey.safeParse(headerKey).success) throw new LivesaleError('VALIDATION_FAILED', 'Idempotency-Key: 1 to 128 printable ASCII characters');
  const key = headerKey ?? `http-${randomUUID()}`;
  const ifMatch = r.headers['if-match']?.replace(/^W\//, '').replace(/"/g, '');
  if (ifMatch !== undefined && !/^\d{1,9}$/.test(ifMatch)) throw new LivesaleError('VALIDATION_FAILED', 'If-Match: the room version the change is based on');
  const commandCall = callOf('room.command', call.principal);
  for (let attempt = 0; ; attempt++) {
    const baseVersion = ifMatch !== undefined ? Number(ifMatch) : (await deps.hub.require(roomId)).view.version;
    try {
      return await deps.commands.run(commandCall, roomId, { ...cmd, idempotencyKey: key, baseVersion } as Command, 'http');
    } catch (err) {
      const again = ifMatch === undefined && attempt < conflictRetries && err instanceof LivesaleError && err.code === 'CONFLICT';
      if (!again) throw err;
      // The room's copy on this node catches up with the version that moved it before the next try.
      await deps.hub.reached(roomId, Number((err.details as { version?: unknown } | undefined)?.version ?? 0));
    }
  }
}

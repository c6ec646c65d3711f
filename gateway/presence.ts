/**
 * Which shoppers have a socket open in which room on this node, and since when: the gateway's
 * own, exact view of presence (the ledger's, from room-activity events, follows it within the
 * writer's lag and covers the other nodes). Lottery entries read it (orders/lottery.ts).
 */
export class Presence {
  /** room -> user -> connection number -> opened at (ms). */
  readonly #rooms = new Map<string, Map<string, Map<number, number>>>();

  joined(roomId: string, userId: string, conn: number, at: number): void {
    let users = this.#rooms.get(roomId);
    if (!users) this.#rooms.set(roomId, (users = new Map()));
    let conns = users.get(userId);
    if (!conns) users.set(userId, (conns = new Map()));
    conns.set(conn, at);
  }

  left(roomId: string, userId: string, conn: number): void {
    const users = this.#rooms.get(roomId);
    const conns = users?.get(userId);
    if (!users || !conns) return;
    conns.delete(conn);
    if (conns.size === 0) users.delete(userId);
    if (users.size === 0) this.#rooms.delete(roomId);
  }

  /** When the user's earliest open socket in the room opened, or undefined when none is open here. */
  since(roomId: string, userId: string): number | undefined {
    const conns = this.#rooms.get(roomId)?.get(userId);
    if (!conns || conns.size === 0) return undefined;
    return Math.min(...conns.values());
  }
}

import WebSocket from 'ws';
import type { RoomSocket, WebSocketCtor } from '../../web/client.ts';
import { serverFrameSchemas, type ServerFrame } from '../../common/contracts/protocol.ts';
import type { System } from '../helpers/system.ts';

/** Every frame a socket receives from now on, each checked against its schema (problems collected). */
export function record(s: RoomSocket): { frames: ServerFrame[]; invalid: string[] } {
  const out = { frames: [] as ServerFrame[], invalid: [] as string[] };
  s.onFrame((f) => {
    if (f.type === 'error' && f.code === 'CLOSED') return;
    out.frames.push(f);
    const problem = conformance(f);
    if (problem) out.invalid.push(problem);
  });
  return out;
}

/** Why a frame does not match the protocol's schema of its type, or undefined. */
export function conformance(f: unknown): string | undefined {
  const type = (f as { type?: unknown })?.type;
  const schema = serverFrameSchemas[type as keyof typeof serverFrameSchemas];
  if (!schema) return `unknown frame type ${String(type)}`;
  const r = schema.safeParse(f);
  return r.success ? undefined : `${String(type)}: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`;
}

/** A host with a fresh room and its HTTP client. */
export async function hostWithRoom(sys: System, hostId: string, title = 'room') {
  const token = await sys.token('host', hostId);
  const http = sys.http(token);
  const room = await http.createRoom(title);
  return { token, http, roomId: room.id };
}

/** An open sale window around now. */
export function openWindow(now = Date.now()) {
  return { startsAt: now - 1000, endsAt: now + 3600_000 };
}

/** The `ws` package as the typed client's WebSocket implementation. */
export const NodeWebSocket = WebSocket as unknown as WebSocketCtor;

/** A ws-package socket to the room endpoint (for tests that need the transport itself: pausing reads, raw frames). */
export function rawSocket(baseUrl: string, roomId: string, token: string, query = ''): Promise<WebSocket & { frames: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/rooms/${roomId}/ws?token=${encodeURIComponent(token)}${query}`) as WebSocket & { frames: string[] };
    ws.frames = [];
    ws.on('message', (d) => ws.frames.push(d.toString()));
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

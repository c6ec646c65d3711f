/**
 * The fan-out baseline: a socket.io server broadcasting to a room what the fan-out benchmark
 * posts to it, the same delta frames the gateway sends. Prints its port on stdout.
 *
 *   POST /publish  <the frame, as text>   -> io.to('room').emit('delta', frame)
 *   WS   /socket.io/ (clients join the room on connect)
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { whenParentExits } from '../common/platform/lifecycle.ts';

const http = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/publish') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      io.to('room').emit('delta', Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204).end();
    });
    return;
  }
  if (req.url === '/healthz') {
    res.writeHead(200).end('ok');
    return;
  }
  if (!req.url?.startsWith('/socket.io')) res.writeHead(404).end();
});
// WebSocket only (no long-polling), no per-message compression: the same transport as the gateway.
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false, maxHttpBufferSize: 16 * 1024 });
io.on('connection', (socket) => {
  void socket.join('room');
});
http.listen(0, '127.0.0.1', () => {
  const addr = http.address();
  process.stdout.write(`${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});
process.on('SIGTERM', () => {
  io.close();
  http.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

whenParentExits();

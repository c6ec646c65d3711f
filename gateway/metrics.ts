import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The gateway's Prometheus metrics (GET /metrics). */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'route' | 'status'>;
  readonly reservations: Counter<'outcome'>;
  readonly wsMessages: Counter<'type'>;
  readonly commandLatency: Histogram<'command'>;
  /** Open WebSocket connections by role. */
  readonly connections: Gauge<'role'>;
  /** Frames sent, by lane (state/event batches, direct replies, ephemeral, snapshots). */
  readonly framesOut: Counter<'kind'>;
  readonly bytesOut: Counter;
  /** State deltas a backpressured socket skipped because a newer value of the same key followed. */
  readonly coalesced: Counter;
  /** Updates not delivered: ephemeral ones to backpressured sockets, and logged ones replaced by a resync. */
  readonly dropped: Counter<'lane'>;
  /** Fresh snapshots sent mid-stream to a socket that fell behind, by reason. */
  readonly resyncs: Counter<'reason'>;
  /** Sockets currently behind (backpressured). */
  readonly slowSockets: Gauge;
  /** Connections closed by the server, by reason. */
  readonly closes: Counter<'reason'>;
  /** Connections refused at upgrade, by code. */
  readonly refused: Counter<'code'>;
  /** Messages and commands refused by a rate limit, by scope. */
  readonly rateLimited: Counter<'scope'>;
  /** Host commands by command and outcome. */
  readonly commands: Counter<'command' | 'outcome'>;
  /** Refused host commands by command and error code (each also counted per room and actor in Redis). */
  readonly commandRefusals: Counter<'command' | 'code'>;
  /** Audit records the drainer moved from the rooms' audit outboxes, by result (written, dead_lettered). */
  readonly auditRecords: Counter<'result'>;
  /** Room-activity events by outcome (sent, dropped, failed). */
  readonly activity: Counter<'outcome'>;
  /** Exceptions caught in handlers (the process keeps serving). */
  readonly handlerErrors: Counter<'where'>;
  /** Rooms loaded on this node (one backplane subscription each). */
  readonly rooms: Gauge;
  /** Time to write one batch of room updates to every local socket of the room. */
  readonly fanoutSeconds: Histogram;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({ name: 'livesale_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers }),
    reservations: new Counter({ name: 'livesale_reservations_total', help: 'Reservation attempts by outcome', labelNames: ['outcome'], registers }),
    wsMessages: new Counter({ name: 'livesale_ws_messages_in_total', help: 'WebSocket messages received by type', labelNames: ['type'], registers }),
    commandLatency: new Histogram({
      name: 'livesale_command_seconds',
      help: 'Handling time of commands',
      labelNames: ['command'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    connections: new Gauge({ name: 'livesale_ws_connections', help: 'Open WebSocket connections by role', labelNames: ['role'], registers }),
    framesOut: new Counter({ name: 'livesale_ws_frames_out_total', help: 'WebSocket frames sent by kind', labelNames: ['kind'], registers }),
    bytesOut: new Counter({ name: 'livesale_ws_bytes_out_total', help: 'WebSocket payload bytes sent', registers }),
    coalesced: new Counter({ name: 'livesale_ws_coalesced_updates_total', help: 'State updates skipped for backpressured sockets (a newer value followed)', registers }),
    dropped: new Counter({ name: 'livesale_ws_dropped_updates_total', help: 'Updates not delivered: ephemeral to backpressured sockets, logged ones replaced by a resync', labelNames: ['lane'], registers }),
    resyncs: new Counter({ name: 'livesale_ws_resyncs_total', help: 'Fresh snapshots sent to sockets that fell behind', labelNames: ['reason'], registers }),
    slowSockets: new Gauge({ name: 'livesale_ws_slow_sockets', help: 'Sockets currently behind (backpressured)', registers }),
    closes: new Counter({ name: 'livesale_ws_closed_by_server_total', help: 'Connections the server closed, by reason', labelNames: ['reason'], registers }),
    refused: new Counter({ name: 'livesale_ws_refused_total', help: 'Connections refused at upgrade, by error code', labelNames: ['code'], registers }),
    rateLimited: new Counter({ name: 'livesale_rate_limited_total', help: 'Requests refused by a rate limit, by scope', labelNames: ['scope'], registers }),
    commands: new Counter({ name: 'livesale_host_commands_total', help: 'Host commands by command and outcome', labelNames: ['command', 'outcome'], registers }),
    commandRefusals: new Counter({ name: 'livesale_host_command_refusals_total', help: 'Refused host commands by command and error code', labelNames: ['command', 'code'], registers }),
    auditRecords: new Counter({ name: 'livesale_audit_records_total', help: 'Host command audit records drained from the audit outboxes, by result', labelNames: ['result'], registers }),
    activity: new Counter({ name: 'livesale_activity_events_total', help: 'Room-activity events by outcome', labelNames: ['outcome'], registers }),
    handlerErrors: new Counter({ name: 'livesale_handler_errors_total', help: 'Exceptions caught in handlers', labelNames: ['where'], registers }),
    rooms: new Gauge({ name: 'livesale_rooms_loaded', help: 'Rooms loaded on this node (one backplane subscription each)', registers }),
    fanoutSeconds: new Histogram({
      name: 'livesale_fanout_seconds',
      help: "Time to write one batch of room updates to every local socket of the room",
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
      registers,
    }),
  };
}

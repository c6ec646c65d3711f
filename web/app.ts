/// <reference lib="dom" />
/**
 * The demo page: one room as a shopper, the host console or an ops dashboard sees it, on the
 * typed client (web/client.ts). Served by the gateway at /web/.
 */
import { ApiError, HttpClient, RoomSocket, type CommandInput } from './client.ts';
import { effectivePrice, type ItemInfo, type MyOrder, type OrderAdjustment, type RoomView, type RunOfShowFrame, type ServerFrame } from '../common/contracts/protocol.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = (tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
};
const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;
const baseUrl = location.origin;

let socket: RoomSocket | undefined;
let http = new HttpClient(baseUrl);
let role = 'shopper';
let clockSkew = 0;
let stopped = false;

function log(line: string): void {
  const box = $('log');
  box.prepend(el('div', {}, `${new Date().toLocaleTimeString()} ${line}`));
  while (box.childElementCount > 200) box.lastElementChild!.remove();
}

function fail(err: unknown): void {
  log(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err instanceof Error ? err.message : err));
}

async function token(): Promise<string> {
  const pasted = $<HTMLInputElement>('token').value.trim();
  if (pasted) return pasted;
  return http.demoToken(role as 'shopper' | 'host' | 'ops', $<HTMLInputElement>('user').value.trim() || 'someone');
}

async function command(cmd: CommandInput): Promise<void> {
  try {
    const r = await socket!.command(cmd);
    log(`${cmd.command}: version ${r.version}${r.duplicate ? ' (duplicate)' : ''}`);
  } catch (err) {
    fail(err);
  }
}

function phase(item: ItemInfo, now: number): string {
  if (now < item.startsAt) return `opens in ${Math.ceil((item.startsAt - now) / 1000)} s`;
  if (now < item.endsAt) return `live, ${Math.ceil((item.endsAt - now) / 1000)} s left`;
  return 'ended';
}

function itemRow(v: RoomView, id: string): HTMLElement {
  const it = v.doc.items[id]!;
  const now = Date.now() + clockSkew;
  const stock = v.stock[id];
  const group = v.groups?.[id];
  const head = el('div', {}, el('strong', {}, it.title), v.doc.onAir === id ? el('span', { class: 'badge' }, 'ON AIR') : '');
  const price = group ? group.price : effectivePrice(it, now);
  const info = el(
    'div',
    { class: 'muted' },
    `${stock ? `${stock.available} of ${it.total} left` : ''} · ${phase(it, now)}`,
    it.scheduledPrice ? ` · ${yuan(it.scheduledPrice.price)} from ${new Date(it.scheduledPrice.at).toLocaleTimeString()}` : '',
    group ? ` · ${group.count} joined${group.next ? `, next tier at ${group.next}` : ', top tier'}` : '',
    it.closed ? ` · closed: ${it.closed.outcome} at ${yuan(it.closed.finalPrice)}` : '',
  );
  const actions = el('div');
  if (role === 'shopper') {
    const buy = el('button', {}, it.kind === 'group' ? 'join' : 'buy 1');
    buy.onclick = async () => {
      const key = `${id}-${Date.now()}`;
      try {
        const r = it.kind === 'group' ? await socket!.join(id, 1, key) : await socket!.buy(id, 1, key);
        log(`${it.kind === 'group' ? 'join' : 'buy'} ${it.title}: ${r.outcome}${'unitPrice' in r ? ` at ${yuan(Number(r.unitPrice))}` : ''}`);
        await showOrders();
      } catch (err) {
        fail(err);
      }
    };
    const details = el('button', {}, 'details');
    details.onclick = () => void socket!.click(id).then(() => log(`opened ${it.title}`), fail);
    actions.append(buy, details);
  } else {
    const button = (label: string, cmd: () => CommandInput | undefined) => {
      const b = el('button', {}, label);
      b.onclick = () => {
        const c = cmd();
        if (c) void command(c);
      };
      actions.append(b);
    };
    button(v.doc.onAir === id ? 'off air' : 'on air', () => ({ command: 'onAir', itemId: v.doc.onAir === id ? null : id }));
    if (it.kind === 'flash') {
      button('price…', () => {
        const p = prompt('New price in fen', String(it.price));
        return p ? { command: 'setPrice', itemId: id, price: Number(p) } : undefined;
      });
      button('open sale', () => ({ command: 'openSale', itemId: id }));
      button('close sale', () => ({ command: 'closeSale', itemId: id }));
    } else if (!it.closed) button('close group', () => ({ command: 'closeGroup', itemId: id }));
    button('+10', () => ({ command: 'adjustStock', itemId: id, delta: 10 }));
    button('−10', () => ({ command: 'adjustStock', itemId: id, delta: -10 }));
    button('↑', () => {
      const l = [...v.doc.listing];
      const i = l.indexOf(id);
      if (i <= 0) return undefined;
      [l[i - 1], l[i]] = [l[i]!, l[i - 1]!];
      return { command: 'reorder', listing: l };
    });
    button('delist', () => ({ command: 'delist', itemId: id }));
  }
  return el('div', { class: `item${v.doc.onAir === id ? ' onair' : ''}` }, el('div', {}, head, info), el('div', {}, el('div', { class: 'price' }, yuan(price)), actions));
}

function render(): void {
  const v = socket?.view;
  if (!v) return;
  $('title').textContent = `${v.doc.title} (room ${v.doc.id})`;
  $('position').textContent = `version ${v.version} · offset ${v.offset} · epoch ${v.epoch}`;
  $('announcements').replaceChildren(...(v.doc.announcements ?? []).slice(-3).map((a) => el('div', {}, `📣 ${a.text}`)));
  const delisted = Object.keys(v.doc.items).filter((id) => !v.doc.listing.includes(id));
  const rows = v.doc.listing.filter((id) => v.doc.items[id]).map((id) => itemRow(v, id));
  if (role !== 'shopper' && delisted.length) {
    rows.push(el('div', { class: 'muted' }, 'delisted: '));
    for (const id of delisted) {
      const b = el('button', {}, `list ${v.doc.items[id]!.title}`);
      b.onclick = () => void command({ command: 'list', itemId: id });
      rows.push(b);
    }
  }
  $('items').replaceChildren(...rows);
  if (socket?.viewers) $('viewers').textContent = `${socket.viewers.online} online · peak ${socket.viewers.peak}`;
}

function adjustmentText(a: OrderAdjustment): string {
  const at = new Date(a.at).toLocaleTimeString();
  switch (a.kind) {
    case 'refund':
      return `${at} refund ${yuan(a.amount)} (${a.reason}${a.tierPrice === undefined ? '' : `, tier price ${yuan(a.tierPrice)}`})`;
    case 'repriced':
      return `${at} repriced to ${yuan(a.price)}`;
    case 'cancelled':
      return `${at} cancelled (${a.reason})`;
    case 'expired':
      return `${at} expired unpaid`;
  }
}

function orderRow(o: MyOrder): HTMLElement {
  const head = `${o.item.title} × ${o.qty} · ${o.state} · ${yuan(o.amount)}${o.paidAmount ? ` · paid ${yuan(o.paidAmount)}, net ${yuan(o.net)}` : ''}`;
  return el('div', {}, el('div', {}, head), ...o.adjustments.map((a) => el('div', { class: 'muted' }, adjustmentText(a))));
}

/** The shopper's orders in this room (the newest 20). */
async function showOrders(): Promise<void> {
  if (role !== 'shopper' || !socket?.view) return;
  const r = await socket.orders({ roomId: socket.view.doc.id });
  $('my-orders').replaceChildren(...(r.orders.length ? r.orders.map(orderRow) : ['no orders yet']));
}

/** The caller's commissions as a referrer, and the share link that earns them. */
async function showCommissions(): Promise<void> {
  if (role !== 'shopper' || !socket?.view) return;
  const me = $<HTMLInputElement>('user').value.trim();
  const link = `${location.origin}/web/?room=${encodeURIComponent(socket.view.doc.id)}&ref=${encodeURIComponent(me)}`;
  $('share-link').replaceChildren(el('a', { href: link }, link));
  const r = await http.myCommissions();
  const t = r.totals;
  $('my-commissions').replaceChildren(
    el('div', {}, `${t.orders} orders · credited ${yuan(t.credited)} · reversed ${yuan(t.reversed)} · net ${yuan(t.net)}`),
    ...r.commissions.map((c) => el('div', { class: 'muted' }, `${c.item.title} · ${c.state} · paid ${yuan(c.base)} × ${(c.rateBp / 100).toFixed(2)}% = ${yuan(c.credited)}${c.reversed ? `, reversed ${yuan(c.reversed)}` : ''}`)),
  );
}

/** Opened through a share link (?ref=…, optionally &item=…): the click that attributes this shopper's orders. */
async function recordReferral(): Promise<void> {
  const ref = params.get('ref');
  if (!ref || role !== 'shopper' || !socket?.view) return;
  const c = await http.referralClick(socket.view.doc.id, ref, params.get('item') ?? undefined);
  log(`opened ${c.referrer}'s share link: orders until ${new Date(c.expiresAt).toLocaleString()} are attributed to them`);
}

async function connect(resume = false): Promise<void> {
  role = $<HTMLSelectElement>('role').value;
  const roomId = $<HTMLInputElement>('room').value.trim();
  if (!roomId) return log('enter a room id (hosts may create one)');
  const t = await token();
  http = new HttpClient(baseUrl, t);
  const prev = socket;
  socket = resume && prev?.view ? await prev.reconnect({ baseUrl, token: t }) : await RoomSocket.connect({ baseUrl, roomId, token: t });
  stopped = false;
  const s = socket;
  $('status').textContent = `connected as ${role} (${s.recovered === true ? 'resumed' : s.recovered === false ? 'fresh snapshot' : 'snapshot'})`;
  for (const id of ['host', 'ops']) $(id).classList.toggle('hidden', !(id === role || (id === 'ops' && role === 'host')));
  $('orders').classList.toggle('hidden', role !== 'shopper');
  $('commissions').classList.toggle('hidden', role !== 'shopper');
  void showOrders().catch(fail);
  void showCommissions().catch(fail);
  if (!resume) void recordReferral().catch(fail);
  s.onFrame((f: ServerFrame) => {
    if (f.type === 'snapshot') clockSkew = f.serverTime - Date.now();
    if (f.type === 'stats') $('stats').textContent = JSON.stringify(f, null, 1);
    if (f.type === 'run_of_show') $('run-view').textContent = runText(f);
    if (f.type === 'error' && f.code === 'CLOSED') {
      $('status').textContent = `disconnected (${f.message}); reconnecting…`;
      const delay = s.goingAway?.reconnectInMs ?? 1000 + Math.random() * 2000;
      if (!stopped && s === socket) setTimeout(() => void connect(true).catch(fail), delay);
      return;
    }
    if (f.type === 'snapshot' && f.resync) log(`resynced: ${f.resync}`);
    render();
  });
  render();
}

$('refresh-orders').onclick = () => void showOrders().catch(fail);
$('refresh-commissions').onclick = () => void showCommissions().catch(fail);
$('commission').onsubmit = (e) => {
  e.preventDefault();
  const f = new FormData(e.target as HTMLFormElement);
  const roomId = socket?.view?.doc.id;
  if (!roomId) return;
  void http
    .setCommissionRate(roomId, String(f.get('item')), Number(f.get('rate')))
    .then((r) => log(`item ${r.itemId}: referral commission ${(r.rateBp / 100).toFixed(2)}%`))
    .catch(fail);
};
$('role').onchange = () => $('create').classList.toggle('hidden', $<HTMLSelectElement>('role').value !== 'host');
$('connect').onclick = () => {
  stopped = true;
  socket?.close();
  void connect().catch(fail);
};
$('create').onclick = async () => {
  try {
    role = 'host';
    http = new HttpClient(baseUrl, await token());
    const room = await http.createRoom(`${$<HTMLInputElement>('user').value}'s live room`);
    $<HTMLInputElement>('room').value = room.id;
    log(`created room ${room.id}`);
    await connect();
  } catch (err) {
    fail(err);
  }
};
$('add').onsubmit = (e) => {
  e.preventDefault();
  const f = new FormData(e.target as HTMLFormElement);
  const now = Date.now() + clockSkew;
  void command({ command: 'addItem', title: String(f.get('title') || 'New item'), price: Number(f.get('price')), stock: Number(f.get('stock')), perUserLimit: Number(f.get('limit')), startsAt: now, endsAt: now + 3600_000 });
};
$('announce').onsubmit = (e) => {
  e.preventDefault();
  const text = String(new FormData(e.target as HTMLFormElement).get('text') ?? '').trim();
  if (text) void command({ command: 'announce', text });
};
$('group').onsubmit = (e) => {
  e.preventDefault();
  const f = new FormData(e.target as HTMLFormElement);
  const tiers = String(f.get('tiers'))
    .split(',')
    .map((p) => p.split(':').map(Number))
    .map(([threshold, price]) => ({ threshold: threshold!, price: price! }));
  void command({ command: 'openGroup', title: String(f.get('title') || 'Group buy'), basePrice: Number(f.get('base')), stock: Number(f.get('stock')), perUserLimit: 2, tiers, endsAt: Date.now() + clockSkew + 3600_000 });
};
/** The host's run of show in a few lines: the slot on air, time left, the next slot, drift. */
function runText(f: RunOfShowFrame): string {
  const min = (ms: number | null) => (ms === null ? '—' : `${ms < 0 ? '−' : '+'}${Math.floor(Math.abs(ms) / 60_000)}:${String(Math.floor((Math.abs(ms) % 60_000) / 1000)).padStart(2, '0')}`);
  const cur = f.current;
  return [
    cur ? `on air: #${cur.position} ${cur.title} · time left ${cur.timeLeftMs === null ? '—' : min(cur.timeLeftMs).slice(1)}${cur.timeLeftMs !== null && cur.timeLeftMs < 0 ? ' over' : ''}` : 'nothing on air',
    f.next ? `next: #${f.next.position} ${f.next.title}` : 'no slot left',
    `show drift ${min(f.driftMs)}`,
    ...f.slots.map((s) => `#${s.position} ${s.status.padEnd(7)} ${s.title}${s.replacedBy === null ? '' : ` (backup #${s.replacedBy})`} start ${min(s.startDriftMs)} end ${min(s.endDriftMs)}`),
  ].join('\n');
}
const runField = (name: string) => Number(new FormData($<HTMLFormElement>('run')).get(name));
$('run-next').onclick = () => void command({ command: 'next' });
$('run-skip').onclick = () => void command({ command: 'skip', position: runField('skip') });
$('run-swap').onclick = () => void command({ command: 'swap', mainPosition: runField('main'), backupPosition: runField('backup') });
setInterval(render, 1000);
const params = new URLSearchParams(location.search);
for (const k of ['role', 'user', 'room', 'token']) if (params.get(k)) $<HTMLInputElement>(k).value = params.get(k)!;
$('create').classList.toggle('hidden', $<HTMLSelectElement>('role').value !== 'host');
if (params.get('room')) void connect().catch(fail);

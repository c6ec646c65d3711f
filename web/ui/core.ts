/// <reference lib="dom" />
/**
 * What the three pages share: the language tables, money in yuan, the server clock, demo tokens,
 * the room connection with its status line (unknown room, lost connection, resync), error text,
 * idempotency keys per intent and an in-page confirmation. Free of the schema library: pages
 * import protocol types only.
 */
import { html, render, type TemplateResult } from 'lit-html';
import type { ServerFrame } from '../../common/contracts/protocol.ts';
import { ApiError, HttpClient, RoomSocket } from '../client.ts';
import { en } from './strings-en.ts';
import { type StringKey, zh } from './strings-zh.ts';

export type Lang = 'zh' | 'en';
const tables: Record<Lang, Record<StringKey, string>> = { zh, en };
const params = new URLSearchParams(location.search);

export let lang: Lang = (params.get('lang') ?? localStorage.getItem('livesale.lang')) === 'en' ? 'en' : 'zh';

/** The string `key` in the page's language, with `{name}` replaced from `vars`. */
export function t(key: StringKey, vars: Record<string, string | number> = {}): string {
  return tables[lang][key].replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? `{${k}}`));
}

export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem('livesale.lang', next);
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
}
setLang(lang);

/** Fen as yuan: ¥12.90. */
export const yuan = (fen: number): string => `¥${(fen / 100).toFixed(2)}`;

/** A yuan amount typed by a person ("12.9", "¥12.90") as integer fen; undefined when it is not one. */
export function parseYuan(input: string): number | undefined {
  const s = input.trim().replace(/^[¥￥]/, '');
  if (!/^\d{1,7}(\.\d{0,2})?$/.test(s)) return undefined;
  const [whole, frac = ''] = s.split('.');
  return Number(whole) * 100 + Number(frac.padEnd(2, '0'));
}

/** The server clock, as far as the page knows it (snapshot and pong times). */
let skew = 0;
export const serverNow = (): number => Date.now() + skew;
export function syncClock(serverTime: number): void {
  skew = serverTime - Date.now();
}

/** m:ss (or h:mm:ss) of a duration in ms, never negative. */
export function clock(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A signed drift in ms as +m:ss (late) or −m:ss (early). */
export function drift(ms: number | null): string {
  if (ms === null) return '—';
  return `${ms < 0 ? '−' : '+'}${clock(Math.abs(ms))}`;
}

export const time = (at: number): string => new Date(at).toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });

/** A fresh key for one intent of a person (a click and its retries share it). */
export function newKey(prefix: string): string {
  // randomUUID exists in secure contexts only; getRandomValues everywhere.
  const id = typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  return `${prefix}-${id}`;
}

/** A refusal as a person reads it: the table's text for the code, else the server's message. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const key = `err.${err.code}` as StringKey;
    return key in zh ? t(key) : err.message.replace(/^\d+ [A-Z_]+: /, '');
  }
  return err instanceof Error ? err.message : String(err);
}

export const baseUrl = location.origin;
export const query = (name: string): string | undefined => params.get(name) ?? undefined;

/** The page's user: ?user=, else the one remembered, else a new one per browser. */
export function pageUser(role: string): string {
  const given = query('user');
  const key = `livesale.user.${role}`;
  if (given) {
    localStorage.setItem(key, given);
    return given;
  }
  const kept = localStorage.getItem(key);
  if (kept) return kept;
  const made = `${role}-${Math.random().toString(36).slice(2, 8)}`;
  localStorage.setItem(key, made);
  return made;
}

/** The role a token carries (read from its payload; the server checks it on every call). */
export function tokenRole(token: string): string | undefined {
  try {
    const part = token.split('.')[1] ?? '';
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { role?: unknown };
    return typeof json.role === 'string' ? json.role : undefined;
  } catch {
    return undefined;
  }
}

/** ?token= when given, else a demo token for the page's role (development). */
export async function pageToken(role: 'shopper' | 'host' | 'ops', user: string): Promise<string> {
  const given = query('token');
  if (given) return given;
  return new HttpClient(baseUrl).demoToken(role, user);
}

export type ConnState = { kind: 'connecting' } | { kind: 'live'; note?: string } | { kind: 'lost' } | { kind: 'no_room' } | { kind: 'failed'; message: string };

/** The connection line a person reads at the top of every page; never colour alone. */
export function connLine(s: ConnState): TemplateResult {
  switch (s.kind) {
    case 'connecting':
      return html`<p class="status" role="status">⏳ ${t('conn.connecting')}</p>`;
    case 'live':
      return html`<p class="status ok" role="status">● ${t('conn.live')}${s.note ? html` · <span class="note">${s.note}</span>` : ''}</p>`;
    case 'lost':
      return html`<p class="status bad" role="alert">⚠ ${t('conn.lost')}</p>`;
    case 'no_room':
      return html`<p class="status bad" role="alert">⚠ ${t('conn.noRoom')}</p>`;
    case 'failed':
      return html`<p class="status bad" role="alert">⚠ ${t('conn.failed', { message: s.message })}</p>`;
  }
}

/**
 * A room connection that keeps itself live: checks the room exists first (an unknown room is
 * said so, not a close code), reconnects from its position after a loss, and reports a resync.
 */
export class LiveRoom {
  socket: RoomSocket | undefined;
  state: ConnState = { kind: 'connecting' };
  http: HttpClient;
  #stopped = false;

  constructor(
    readonly roomId: string,
    readonly token: string,
    private readonly onChange: (f?: ServerFrame) => void,
  ) {
    this.http = new HttpClient(baseUrl, token);
  }

  async start(): Promise<void> {
    try {
      const snap = await this.http.snapshot(this.roomId);
      syncClock(snap.serverTime);
    } catch (err) {
      this.state = err instanceof ApiError && (err.code === 'ROOM_NOT_FOUND' || err.status === 404 || err.code === 'VALIDATION_FAILED') ? { kind: 'no_room' } : { kind: 'failed', message: errorText(err) };
      this.onChange();
      return;
    }
    await this.#open(false);
  }

  async #open(resume: boolean): Promise<void> {
    const prev = this.socket;
    try {
      this.socket = resume && prev?.view ? await prev.reconnect({ baseUrl, token: this.token }) : await RoomSocket.connect({ baseUrl, roomId: this.roomId, token: this.token });
    } catch {
      this.state = { kind: 'lost' };
      this.onChange();
      if (!this.#stopped) setTimeout(() => void this.#open(resume), 1500 + Math.random() * 1500);
      return;
    }
    const s = this.socket;
    this.state = { kind: 'live', ...(resume ? { note: s.recovered === false ? t('conn.resynced') : t('conn.resumed') } : {}) };
    s.onFrame((f) => {
      if (s !== this.socket) return;
      if (f.type === 'snapshot') {
        syncClock(f.serverTime);
        if (f.resync) this.state = { kind: 'live', note: t('conn.resynced') };
      }
      if (f.type === 'error' && f.code === 'CLOSED') {
        this.state = { kind: 'lost' };
        const delay = s.goingAway?.reconnectInMs ?? 1000 + Math.random() * 2000;
        if (!this.#stopped) setTimeout(() => void this.#open(true), delay);
      }
      this.onChange(f);
    });
    void s.ping().then(syncClock, () => undefined);
    this.onChange();
  }

  stop(): void {
    this.#stopped = true;
    this.socket?.close();
  }
}

/** The header of every page: title, the language switch and, in development, the other roles' pages. */
export function header(title: string, rerender: () => void): TemplateResult {
  const room = query('room') ?? '';
  const link = (page: string, key: StringKey) => html`<a href=${`/web/${page}?room=${encodeURIComponent(room)}&lang=${lang}`}>${t(key)}</a>`;
  return html`<header>
    <strong>${title}</strong>
    <nav aria-label=${t('nav.pages')}>${link('shop.html', 'nav.shop')} ${link('host.html', 'nav.host')} ${link('ops.html', 'nav.ops')}</nav>
    <button type="button" class="lang" aria-label=${t('nav.langLabel')} @click=${() => {
      setLang(lang === 'zh' ? 'en' : 'zh');
      rerender();
    }}>${lang === 'zh' ? 'English' : '中文'}</button>
  </header>`;
}

/** An in-page confirmation (keyboard reachable, focus on the safe choice). */
export function confirmBox(message: string): Promise<boolean> {
  return new Promise((resolve) => {
    const host = document.createElement('div');
    host.className = 'modal';
    host.setAttribute('role', 'dialog');
    host.setAttribute('aria-modal', 'true');
    host.setAttribute('aria-label', t('confirm.title'));
    document.body.append(host);
    const done = (ok: boolean) => {
      host.remove();
      resolve(ok);
    };
    render(
      html`<div class="modal-box"><p>${message}</p>
        <button type="button" class="danger" @click=${() => done(true)}>${t('confirm.yes')}</button>
        <button type="button" id="confirm-no" @click=${() => done(false)}>${t('confirm.no')}</button></div>`,
      host,
    );
    host.querySelector<HTMLButtonElement>('#confirm-no')?.focus();
    host.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') done(false);
    });
  });
}

/** A short message shown to a person for a few seconds (announced to screen readers). */
let toastTimer: ReturnType<typeof setTimeout> | undefined;
export function toast(message: string, kind: 'ok' | 'bad' = 'ok'): void {
  let box = document.getElementById('toast');
  if (!box) {
    box = document.createElement('div');
    box.id = 'toast';
    box.setAttribute('role', 'status');
    box.setAttribute('aria-live', 'polite');
    document.body.append(box);
  }
  box.className = `toast ${kind}`;
  box.textContent = `${kind === 'bad' ? '⚠ ' : '✓ '}${message}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box?.replaceChildren(), 6000);
}

export { html, render };

/// <reference lib="dom" />
/**
 * The landing page at /web/: a room id and the three pages (shopper, host console, ops
 * dashboard). An old-style link (?role=…&room=…) goes straight to the role's page.
 */
import { header, html, query, render, t } from './ui/core.ts';

const pages: Record<string, string> = { shopper: 'shop.html', host: 'host.html', ops: 'ops.html' };
const role = query('role');
const room = query('room');
if (role && room && pages[role]) {
  location.replace(`/web/${pages[role]}${location.search}`);
} else {
  const root = document.getElementById('app')!;
  let id = room ?? '';
  const draw = (): void => {
    render(
      html`${header(t('home.title'), draw)}
      <main class="home">
        <label>${t('home.room')} <input .value=${id} inputmode="numeric" @input=${(e: Event) => {
          id = (e.target as HTMLInputElement).value.trim();
          draw();
        }}></label>
        <ul>
          ${(['shop.html', 'host.html', 'ops.html'] as const).map(
            (p, i) => html`<li><a href=${`/web/${p}?room=${encodeURIComponent(id)}`}>${t((['nav.shop', 'nav.host', 'nav.ops'] as const)[i]!)}</a></li>`,
          )}
        </ul>
      </main>`,
      root,
    );
  };
  draw();
}

/**
 * The three pages in Debian's Chromium (playwright-core, never a downloaded browser), on the whole
 * system (gateway, relay, writer, live figures) in a namespace of its own: one scripted mini-show
 * with every role at once. The host runs three slots with `next`, a flash sale, a price change
 * and a lottery; two shoppers (one on a phone-size screen) buy, pay, cancel, miss a deadline and
 * enter the lottery; ops sees GMV and the chart move and downloads the CSV. Assertions are what a
 * person sees (text, enabled state); a screenshot of each step goes to test-results/screenshots/.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import type { Browser, BrowserContext, Locator, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient } from '../../web/client.ts';
import { launchChromium } from '../helpers/browser.ts';
import { startSystem, type System } from '../helpers/system.ts';

const shots = 'test-results/screenshots';
const wait = 45_000;

let sys: System;
let browser: Browser;
const contexts: BrowserContext[] = [];
let host: Page;
let alice: Page;
let bob: Page;
let ops: Page;
let hostHttp: HttpClient;
let roomId: string;
const item: Record<'cherries' | 'tea' | 'honey' | 'spare', string> = { cherries: '', tea: '', honey: '', spare: '' };
let step = 0;

async function shot(name: string): Promise<void> {
  step++;
  const n = String(step).padStart(2, '0');
  for (const [who, p] of [
    ['host', host],
    ['alice-phone', alice],
    ['bob', bob],
    ['ops', ops],
  ] as const)
    if (p) await p.screenshot({ path: `${shots}/${n}-${name}-${who}.png`, fullPage: true });
}

/** Waits until `loc` is visible (a person sees it). */
const sees = (loc: Locator) => loc.first().waitFor({ state: 'visible', timeout: wait });

async function open(path: string, viewport: { width: number; height: number }, mobile = false, before?: (p: Page) => Promise<void>): Promise<Page> {
  const ctx = await browser.newContext({ viewport, isMobile: mobile, hasTouch: mobile, locale: 'zh-CN', acceptDownloads: true });
  contexts.push(ctx);
  const page = await ctx.newPage();
  await before?.(page);
  await page.goto(`${sys.baseUrl}${path}`);
  return page;
}

/** The query of a page of the room for `user` with a token of `role`. */
const q = (role: 'shopper' | 'host' | 'ops', user: string) => sys.token(role, user).then((t) => `?room=${roomId}&user=${user}&token=${encodeURIComponent(t)}`);
const roomWs = /\/rooms\/[^/]+\/ws/;

const card = (p: Page, id: string) => p.locator(`article[data-item="${id}"]`);
const row = (p: Page, id: string) => p.locator(`li[data-item="${id}"]`);

describe('the pages in Chromium: a mini-show with host, two shoppers and ops', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    await rm(shots, { recursive: true, force: true });
    await mkdir(shots, { recursive: true });
    sys = await startSystem({}, { liveStats: true });
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await sys?.stop();
  });

  it('sets up a room, its items and a live show with a run sheet of three slots and a backup', async () => {
    const hostToken = await sys.token('host', 'mini-host');
    hostHttp = sys.http(hostToken);
    const room = await hostHttp.createRoom('晚间直播');
    roomId = room.id;
    const now = Date.now();
    // Cherries are pre-heated: `next` opens their sale. Tea holds last 10 s (one shopper misses it).
    item.cherries = (await hostHttp.addItem(roomId, { title: '车厘子 2kg', price: 9900, stock: 20, perUserLimit: 2, startsAt: now + 600_000, endsAt: now + 3600_000 })).id;
    item.tea = (await hostHttp.addItem(roomId, { title: '龙井茶 250g', price: 5800, stock: 20, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 3600_000, holdSeconds: 10 })).id;
    item.honey = (await hostHttp.addItem(roomId, { title: '槐花蜜 500g', price: 3900, stock: 30, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 3600_000 })).id;
    item.spare = (await hostHttp.addItem(roomId, { title: '备选：核桃', price: 2900, stock: 10, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 3600_000 })).id;
    const slot = 10 * 60_000;
    const runSheet = [
      { role: 'main', title: '车厘子 2kg', itemId: item.cherries, plannedStart: now, plannedEnd: now + slot },
      { role: 'main', title: '龙井茶 250g', itemId: item.tea, plannedStart: now + slot, plannedEnd: now + 2 * slot },
      { role: 'main', title: '槐花蜜 500g', itemId: item.honey, plannedStart: now + 2 * slot, plannedEnd: now + 3 * slot },
      { role: 'backup', title: '备选：核桃', itemId: item.spare },
    ];
    const created = await hostHttp.request('POST', '/shows', { roomId, title: '晚间直播', plannedStart: now, plannedEnd: now + 3 * slot, runSheet });
    expect(created.status).toBe(201);
    host = await open(`/web/host.html${await q('host', 'mini-host')}`, { width: 1280, height: 900 });
    // The host takes the planned show live from the console.
    await sees(host.locator('.run h2', { hasText: '未开播' }));
    expect(await host.getByRole('button', { name: '下一个商品' }).isDisabled()).toBe(true);
    await host.getByRole('button', { name: '开播' }).click();
    await sees(host.locator('.run h2', { hasText: '直播中' }));
    expect((await sys.db.selectFrom('shows').select('state').where('id', '=', created.body.show.id).executeTakeFirstOrThrow()).state).toBe('live');
    alice = await open(`/web/shop.html${await q('shopper', 'alice')}`, { width: 390, height: 844 }, true);
    bob = await open(`/web/shop.html${await q('shopper', 'bob')}`, { width: 800, height: 900 });
    ops = await open(`/web/ops.html${await q('ops', 'mini-ops')}`, { width: 1280, height: 900 });

    await sees(host.getByText('节目单'));
    await sees(host.getByText('#1 车厘子 2kg'));
    await sees(alice.getByText('已连接'));
    await sees(card(alice, item.cherries).getByText(/后开抢/));
    // Pre-heat: no buying yet, a reminder instead.
    await card(alice, item.cherries).getByRole('button', { name: '开抢提醒我' }).click();
    await sees(card(alice, item.cherries).getByRole('button', { name: '已设置提醒' }));
    expect(await card(alice, item.cherries).getByRole('button', { name: '已设置提醒' }).isDisabled()).toBe(true);
    // Opening the details is the product click the funnel counts.
    await card(alice, item.cherries).getByRole('button', { name: '商品详情' }).click();
    await sees(card(alice, item.cherries).getByText(/每人限购 2 件/));
    await sees(ops.getByText('运营看板'));
    await shot('setup');
  });

  it('next puts slot 1 on air and opens its pre-heated sale; on the phone the item on air is at the top', async () => {
    await host.getByRole('button', { name: '下一个商品' }).click();
    await sees(host.locator('.run-current', { hasText: '#1 车厘子 2kg' }));
    await sees(host.locator('.onair-card', { hasText: '车厘子 2kg' }));
    const buy = card(alice, item.cherries).getByRole('button', { name: '立即抢购' });
    await sees(buy);
    expect(await buy.isEnabled()).toBe(true);
    await sees(card(alice, item.cherries).getByText('正在讲解'));
    const box = await card(alice, item.cherries).boundingBox();
    expect(box && box.y + box.height).toBeLessThan(844);
    await shot('slot1-on-air');
  });

  it('a double-click on buy is one hold; the hold counts down and is paid', async () => {
    await card(alice, item.cherries).getByRole('button', { name: '立即抢购' }).dblclick();
    const hold = alice.locator('.holds .hold:not(.missed)');
    await sees(hold.getByText(/剩余支付时间 \d+:\d\d/));
    await alice.waitForTimeout(1500);
    expect(await hold.count()).toBe(1);
    const mine = await sys.http(await sys.token('shopper', 'alice')).myOrders({ roomId });
    expect(mine.orders.filter((o) => o.item.id === item.cherries)).toHaveLength(1);
    await sees(card(alice, item.cherries).getByText('剩余 19 / 20'));
    await shot('alice-holds');
    await hold.getByRole('button', { name: '支付 ¥99.00' }).click();
    await sees(alice.getByText('支付成功 ¥99.00'));
    await sees(alice.locator('.orders li', { hasText: '车厘子 2kg' }).getByText('已支付'));
    await shot('alice-paid');
  });

  it('a price cut of more than 30% asks the host to confirm; shoppers see the new price', async () => {
    const r = row(host, item.cherries);
    await r.getByLabel('新价格（元）').fill('49');
    await r.getByRole('button', { name: '改价' }).click();
    await sees(host.getByRole('dialog').getByText('价格将从 ¥99.00 降到 ¥49.00'));
    await shot('price-confirm');
    await host.getByRole('dialog').getByRole('button', { name: '确认' }).click();
    await sees(card(alice, item.cherries).locator('.price', { hasText: '¥49.00' }));
    await sees(card(bob, item.cherries).locator('.price', { hasText: '¥49.00' }));
    // Bob buys at the new price and pays.
    await card(bob, item.cherries).getByRole('button', { name: '立即抢购' }).click();
    await bob.locator('.holds .hold').getByRole('button', { name: '支付 ¥49.00' }).click();
    await sees(bob.getByText('支付成功 ¥49.00'));
    await sees(host.locator('.audit').getByText('setPrice'));
    await shot('price-cut');
  });

  it('ops sees the paid GMV, orders and viewers, and the per-minute chart has a point', async () => {
    await sees(ops.locator('#gmv-paid', { hasText: '¥148.00' }));
    await sees(ops.locator('#orders', { hasText: '支付 2' }));
    await sees(ops.locator('#viewers', { hasText: /在线 \d+ · 峰值 \d+/ }));
    await sees(ops.locator('#lag', { hasText: /秒/ }));
    await sees(ops.locator('.products tr', { hasText: '车厘子 2kg' }).getByText('¥148.00'));
    await sees(ops.locator('.funnel li', { hasText: '商品访客' }).getByText(/^[1-9]\d* \(\d+%\)$/));
    await sees(ops.locator('#chart canvas'));
    await expect.poll(async () => Number(await ops.locator('#chart').getAttribute('data-points')), { timeout: wait }).toBeGreaterThan(0);
    await shot('ops-gmv');
  });

  it('next: slot 2; bob cancels a hold and alice misses the 10 s deadline', async () => {
    await host.getByRole('button', { name: '下一个商品' }).click();
    await sees(host.locator('.run-current', { hasText: '#2 龙井茶 250g' }));
    await sees(card(alice, item.tea).getByText('正在讲解'));
    await card(bob, item.tea).getByRole('button', { name: '立即抢购' }).click();
    const bobHold = bob.locator('.holds .hold:not(.missed)', { hasText: '龙井茶 250g' });
    await bobHold.getByRole('button', { name: '取消订单' }).click();
    await sees(bob.getByText('订单已取消'));
    await card(alice, item.tea).getByRole('button', { name: '立即抢购' }).click();
    await sees(alice.locator('.holds .hold:not(.missed)', { hasText: '龙井茶 250g' }));
    await shot('tea-holds');
    await sees(alice.locator('.holds .missed', { hasText: '「龙井茶 250g」支付超时，订单已失效' }));
    expect(await alice.locator('.holds .hold:not(.missed)', { hasText: '龙井茶 250g' }).count()).toBe(0);
    await sees(bob.locator('.orders li', { hasText: '龙井茶 250g' }).getByText('已取消'));
    await shot('tea-missed');
  });

  it('a lottery: created by the host, entered by both shoppers, drawn with its winner and seed', async () => {
    const form = host.locator('form[aria-label="创建福袋"]');
    await form.getByLabel('名称', { exact: true }).fill('整点福袋');
    await form.getByLabel('优惠券名称').fill('满100减20');
    await form.getByRole('button', { name: '创建福袋' }).click();
    for (const p of [alice, bob]) {
      const enter = p.locator('.lottery', { hasText: '整点福袋' }).getByRole('button', { name: '参与抽奖' });
      await sees(enter);
      await enter.click();
      await sees(p.locator('.lottery', { hasText: '整点福袋' }).getByRole('button', { name: '已参与' }));
    }
    await sees(host.locator('.lotteries li', { hasText: '整点福袋' }).getByText('2 人参与'));
    await shot('lottery-entered');
    await host.locator('.lotteries li', { hasText: '整点福袋' }).getByRole('button', { name: '开奖' }).click();
    await host.getByRole('dialog').getByRole('button', { name: '确认' }).click();
    await sees(host.locator('.lotteries li', { hasText: '整点福袋' }).getByText(/中奖者：(alice|bob)（2 人参与）/));
    await sees(host.locator('.lotteries li', { hasText: '整点福袋' }).getByText(/种子 [0-9a-f]{64}/));
    const results: string[] = [];
    for (const p of [alice, bob]) {
      const box = p.locator('.lottery.drawn', { hasText: '整点福袋' });
      await sees(box.locator('.won, .lost'));
      results.push((await box.locator('.won, .lost').textContent()) ?? '');
    }
    expect(results.filter((r) => r.includes('恭喜你中奖了')).length).toBe(1);
    expect(results.filter((r) => r.includes('很遗憾，未中奖')).length).toBe(1);
    await shot('lottery-drawn');
  });

  it('next: slot 3; stock set to 0 disables buying; the run sheet shows slots 1 and 2 done', async () => {
    await host.getByRole('button', { name: '下一个商品' }).click();
    await sees(host.locator('.run-current', { hasText: '#3 槐花蜜 500g' }));
    expect(await host.locator('.slot.done').count()).toBe(2);
    await sees(card(bob, item.honey).getByRole('button', { name: '立即抢购' }));
    const r = row(host, item.honey);
    await r.getByLabel('库存设为').fill('0');
    await r.getByRole('button', { name: '设库存' }).click();
    const soldOut = card(bob, item.honey).getByRole('button', { name: '已售罄' });
    await sees(soldOut);
    expect(await soldOut.isDisabled()).toBe(true);
    // 30+ items are searched, not scrolled: the filter narrows the list.
    await host.getByLabel('搜索').fill('蜜');
    await sees(host.getByText('显示 1 / 共 4'));
    await shot('slot3-sold-out');
  });

  it('the host closes a sale and reopens it with a window; a tiered group shows its ladder and progress to both sides', async () => {
    const r = row(host, item.cherries);
    await host.getByLabel('搜索').fill('');
    await r.getByRole('button', { name: '停售' }).click();
    const ended = card(alice, item.cherries).getByRole('button', { name: '已结束' });
    await sees(ended);
    expect(await ended.isDisabled()).toBe(true);
    await r.getByLabel('开售时长（分钟）').fill('15');
    await r.getByRole('button', { name: '重新开售' }).click();
    await sees(card(alice, item.cherries).getByRole('button', { name: '立即抢购' }));
    await sees(card(alice, item.cherries).getByText(/抢购中，剩余 1[45]:\d\d/));

    const form = host.locator('form[aria-label="开阶梯拼团"]');
    await form.getByLabel('名称', { exact: true }).fill('土鸡蛋 30枚');
    await form.getByLabel('原价（元）').fill('59.90');
    await form.getByLabel('阶梯').fill('2:49.90, 3:39.90');
    await form.getByRole('button', { name: '开团' }).click();
    const group = (p: Page) => p.locator('article', { hasText: '土鸡蛋 30枚' });
    for (const p of [alice, bob]) {
      await group(p).getByRole('button', { name: '参团' }).click();
      await sees(p.locator('.holds .hold', { hasText: '土鸡蛋 30枚' }));
    }
    await sees(group(bob).getByText('已参团 2，当前价 ¥49.90 ，再差 1 人享 ¥39.90'));
    await sees(host.locator('li.row', { hasText: '土鸡蛋 30枚' }).locator('.ladder li.reached', { hasText: '满 2 享 ¥49.90' }));
    await shot('group-and-reopen');
  });

  it('ops downloads the products CSV with every item; the English switch translates the dashboard', async () => {
    const [download] = await Promise.all([ops.waitForEvent('download', { timeout: wait }), ops.getByRole('button', { name: '下载 CSV：商品' }).click()]);
    const text = await readFile((await download.path())!, 'utf8');
    expect(text.split('\n')[0]).toMatch(/^item_id,title,/);
    for (const title of ['车厘子 2kg', '龙井茶 250g', '槐花蜜 500g']) expect(text).toContain(title);
    await ops.getByRole('button', { name: '切换语言' }).click();
    await sees(ops.getByText('Ops dashboard'));
    await sees(ops.getByText('Paid GMV'));
    await shot('ops-english');
  });

  it('ops on the host console confirms each command: an announcement reaches the shoppers', async () => {
    const opsHost = await open(`/web/host.html?room=${roomId}&user=mini-ops&as=ops&token=${await sys.token('ops', 'mini-ops')}`, { width: 1280, height: 900 });
    const form = opsHost.locator('section[aria-label="公告"] form');
    await form.getByLabel('公告内容').fill('今晚 9 点加播');
    await form.getByRole('button', { name: '发布' }).click();
    await sees(opsHost.getByRole('dialog').getByText('以运营身份执行「发布公告」？'));
    await opsHost.screenshot({ path: `${shots}/${String(++step).padStart(2, '0')}-ops-confirms-on-host-console.png`, fullPage: true });
    await opsHost.getByRole('dialog').getByRole('button', { name: '确认' }).click();
    await sees(alice.locator('.announce', { hasText: '今晚 9 点加播' }));
    await sees(host.locator('.audit tr', { hasText: 'mini-ops' }).getByText('announce'));
    await shot('announcement');
  });

  it('a lost connection is said and resumed; a stale version refreshes the host console and says so', async () => {
    // A shopper whose connection the test cuts, and keeps refusing until it lets it through again.
    let cut = false;
    const live: WebSocketRoute[] = [];
    const dave = await open(`/web/shop.html${await q('shopper', 'dave')}`, { width: 390, height: 844 }, true, (p) =>
      p.routeWebSocket(roomWs, (ws) => {
        if (cut) return ws.close({ code: 4000, reason: 'cut' });
        ws.connectToServer();
        live.push(ws);
      }),
    );
    await sees(dave.getByText('已连接'));
    await sees(card(dave, item.honey));
    cut = true;
    for (const ws of live) await ws.close({ code: 4000, reason: 'cut' });
    await sees(dave.getByText('连接已断开，正在重新连接…'));
    await dave.screenshot({ path: `${shots}/${String(++step).padStart(2, '0')}-connection-lost-dave-phone.png`, fullPage: true });
    cut = false;
    await sees(dave.getByText(/已恢复连接|已重新同步到最新状态/));
    await sees(card(dave, item.honey));

    // A host console whose command is held until another change lands first: its version is stale.
    let hold = true;
    const stale = await open(`/web/host.html${await q('host', 'mini-host')}`, { width: 1280, height: 900 }, false, (p) =>
      p.routeWebSocket(roomWs, (ws) => {
        const server = ws.connectToServer();
        ws.onMessage(async (m) => {
          if (hold && String(m).includes('"command":"announce"')) {
            hold = false;
            await hostHttp.command(roomId, { command: 'announce', text: '别处发的公告' });
          }
          server.send(m);
        });
      }),
    );
    const form = stale.locator('section[aria-label="公告"] form');
    await form.getByLabel('公告内容').fill('冲突之后再发');
    await form.getByRole('button', { name: '发布' }).click();
    await sees(stale.getByText('直播间刚被更新，页面已刷新为最新状态，请核对后再操作'));
    await sees(stale.locator('section[aria-label="公告"] li', { hasText: '别处发的公告' }));
    await stale.screenshot({ path: `${shots}/${String(++step).padStart(2, '0')}-stale-version-host.png`, fullPage: true });
    await form.getByRole('button', { name: '发布' }).click();
    await sees(alice.locator('.announce', { hasText: '冲突之后再发' }));
    await sees(stale.getByText('已执行：发布公告'));
    expect(await stale.locator('.status.warn').count()).toBe(0);
  });

  it('an unknown room says so; a shopper token on the host console sees no host controls', async () => {
    const lost = await open(`/web/shop.html?room=987654321&user=carol&token=${await sys.token('shopper', 'carol')}`, { width: 390, height: 844 }, true);
    await sees(lost.getByText('找不到这个直播间，请检查房间号'));
    await lost.screenshot({ path: `${shots}/${String(++step).padStart(2, '0')}-unknown-room.png`, fullPage: true });
    const intruder = await open(`/web/host.html?room=${roomId}&user=carol&token=${await sys.token('shopper', 'carol')}`, { width: 1280, height: 900 });
    await sees(intruder.getByText('这个页面只给主播和运营使用'));
    expect(await intruder.getByRole('button', { name: '下一个商品' }).count()).toBe(0);
    expect(await intruder.getByRole('button', { name: '改价' }).count()).toBe(0);
    await intruder.screenshot({ path: `${shots}/${String(++step).padStart(2, '0')}-shopper-on-host-console.png`, fullPage: true });
  });
});

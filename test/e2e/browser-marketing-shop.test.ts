/**
 * The shopper page's marketing screens in Debian's Chromium (playwright-core, never a downloaded
 * browser), on the whole system (gateway, relay, writer) in a namespace of its own. The host sets
 * a team buy, a bargain, a member-day rule, a coupon and a commission with host commands; on
 * phone-size pages a shopper opens a team and pays and a second one joins through the share link
 * (the team forms, live on both pages); a bargain is started, two others help through its link and
 * the starter buys at the cut price; a gold member buys with a coupon and reads the breakdown, and
 * the next one is refused the spent coupon; a referred shopper pays and the referrer's page shows
 * the commission. Assertions are what a person sees; a screenshot of each step goes to
 * test-results/screenshots-marketing-shop/.
 */
import { mkdir, rm } from 'node:fs/promises';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomPublisher } from '../../gateway/room-publisher.ts';
import { RoomStore } from '../../gateway/room-store.ts';
import { Sweeper } from '../../inventory/sweeper.ts';
import type { HttpClient } from '../../web/client.ts';
import { launchChromium } from '../helpers/browser.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

const shots = 'test-results/screenshots-marketing-shop';
const wait = 45_000;
const phone = { width: 390, height: 844 };

let sys: System;
let browser: Browser;
const contexts: BrowserContext[] = [];
let hostHttp: HttpClient;
let roomId: string;
const item = { eggs: '', honey: '', teapot: '', cherries: '' };
let step = 0;

/** Waits until `loc` is visible (a person sees it). */
const sees = (loc: Locator) => loc.first().waitFor({ state: 'visible', timeout: wait });

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: `${shots}/${String(++step).padStart(2, '0')}-${name}.png`, fullPage: true });
}

/** A shopper's phone: the page at `path` (a room page or a share link) with the shopper's own user and token. */
async function shopper(user: string, link?: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: phone, isMobile: true, hasTouch: true, locale: 'zh-CN' });
  contexts.push(ctx);
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: sys.baseUrl });
  const page = await ctx.newPage();
  const base = link ?? `${sys.baseUrl}/web/shop.html?room=${roomId}`;
  await page.goto(`${base}&user=${user}&token=${encodeURIComponent(await sys.token('shopper', user))}`);
  await sees(page.getByText('已连接'));
  return page;
}

const card = (p: Page, id: string) => p.locator(`article[data-item="${id}"]`);
const hold = (p: Page, title: string) => p.locator('.holds .hold:not(.missed)', { hasText: title });
const order = (p: Page, title: string) => p.locator('.orders li', { hasText: title });

/** The share link a page shows in its share box (what the copy button copies). */
async function shareLinkOf(scope: Locator): Promise<string> {
  const input = scope.locator('input.share-link');
  await sees(input);
  return input.inputValue();
}

describe('the shopper page: team buy, bargain, coupons, member day and referrals in Chromium', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    await rm(shots, { recursive: true, force: true });
    await mkdir(shots, { recursive: true });
    sys = await startSystem({ hostCommandRate: 100 });
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await sys?.stop();
  });

  it('the host sets a team buy, a bargain, a member-day rule, a coupon and a commission with host commands', async () => {
    hostHttp = sys.http(await sys.token('host', 'offers-host'));
    roomId = (await hostHttp.createRoom('营销直播间')).id;
    const now = Date.now();
    const sale = { perUserLimit: 2, startsAt: now - 1000, endsAt: now + 3600_000 };
    item.eggs = (await hostHttp.addItem(roomId, { title: '土鸡蛋 30枚', price: 5900, stock: 50, ...sale })).id;
    item.honey = (await hostHttp.addItem(roomId, { title: '槐花蜜 500g', price: 3900, stock: 20, ...sale })).id;
    item.teapot = (await hostHttp.addItem(roomId, { title: '紫砂壶', price: 9900, stock: 20, ...sale })).id;
    item.cherries = (await hostHttp.addItem(roomId, { title: '车厘子 2kg', price: 9900, stock: 30, ...sale })).id;
    await hostHttp.command(roomId, { command: 'setTeamBuy', itemId: item.eggs, size: 2, teamPrice: 3900, windowSeconds: 600 });
    // Teams of three with three seconds to form: one fails at its end.
    await hostHttp.command(roomId, { command: 'setTeamBuy', itemId: item.honey, size: 3, teamPrice: 2900, windowSeconds: 3 });
    await hostHttp.command(roomId, { command: 'setBargain', itemId: item.teapot, start: 9900, floor: 5900, helpers: 2, windowSeconds: 600 });
    await hostHttp.command(roomId, { command: 'setMemberDay', itemId: item.cherries, threshold: 6800, off: { regular: 200, silver: 500, gold: 1000 } });
    // One coupon in the whole campaign: the second gold member to use it is refused.
    await hostHttp.command(roomId, {
      command: 'addCoupon',
      itemId: item.cherries,
      id: 'gold10',
      kind: 'spend',
      amount: 1000,
      percent: 0,
      minSpend: 5000,
      budget: 1,
      perUser: 1,
      startsAt: now - 1000,
      endsAt: now + 3600_000,
      audience: { tiers: ['gold'] },
    });
    await hostHttp.command(roomId, { command: 'setCommission', itemId: item.cherries, rateBp: 500 });
    await hostHttp.putOnAir(roomId, item.cherries);
    for (const u of ['dave', 'erin']) await hostHttp.setMemberTier(u, 'gold');
  });

  it('a shopper opens a team and pays; a second one joins through the share link; the team forms on both pages', async () => {
    const alice = await shopper('alice');
    const eggs = card(alice, item.eggs);
    await sees(eggs.getByText('2人团 ¥39.00'));
    await sees(eggs.getByText('10 分钟内成团'));
    await eggs.getByRole('button', { name: '发起拼团 ¥39.00' }).click();
    const team = eggs.locator('.offer-panel.team');
    await sees(team.getByText(/拼团中：已占 1\/2 个名额，已付款 0\/2 人，剩余 \d+:\d\d/));
    await hold(alice, '土鸡蛋 30枚').getByRole('button', { name: '支付 ¥39.00' }).click();
    await sees(alice.getByText('支付成功 ¥39.00'));
    await sees(team.getByText(/已付款 1\/2 人/));
    const link = await shareLinkOf(team);
    const u = new URL(link);
    expect(u.searchParams.get('room')).toBe(roomId);
    expect(u.searchParams.get('item')).toBe(item.eggs);
    expect(u.searchParams.get('team')).toMatch(/^[0-9a-f]{32}$/);
    expect(u.searchParams.get('user')).toBeNull();
    await team.getByRole('button', { name: '复制链接' }).click();
    await sees(alice.getByText('链接已复制'));
    await shot(alice, 'team-opened-alice');

    const bob = await shopper('bob', link);
    const shared = bob.locator('section[aria-label="好友分享给你"]');
    const bobTeam = card(bob, item.eggs).locator('.offer-panel.team');
    await sees(shared.locator(`article[data-item="${item.eggs}"]`));
    await sees(bobTeam.getByText(/拼团中：已占 1\/2 个名额，已付款 1\/2 人，剩余 \d+:\d\d/));
    await shot(bob, 'team-share-link-bob');
    await bobTeam.getByRole('button', { name: '参团 ¥39.00' }).click();
    await hold(bob, '土鸡蛋 30枚').getByRole('button', { name: '支付 ¥39.00' }).click();
    await sees(bob.getByText('支付成功 ¥39.00'));
    for (const p of [alice, bob]) await sees(card(p, item.eggs).getByText('✓ 拼团成功：2 人已全部付款，按团购价 ¥39.00 成交'));
    expect(await bobTeam.getByRole('button', { name: /参团/ }).count()).toBe(0);
    await sees(order(bob, '土鸡蛋 30枚').getByText('已支付'));
    await shot(alice, 'team-formed-alice');
    // One live team per shopper for this item: a second opening is refused, in words on the card.
    await eggs.getByRole('button', { name: '发起拼团 ¥39.00' }).click();
    await sees(eggs.getByRole('alert').getByText('你已经在这个团里，或参加的团已达上限'));
    expect(await hold(alice, '土鸡蛋 30枚').count()).toBe(0);

    // A latecomer on the link sees the formed team and nothing to join.
    const carol = await shopper('carol', link);
    await sees(card(carol, item.eggs).getByText(/✓ 拼团成功/));
    expect(await card(carol, item.eggs).getByRole('button', { name: /参团/ }).count()).toBe(0);
    const teamId = u.searchParams.get('team')!;
    const t = await hostHttp.team(roomId, item.eggs, teamId);
    expect(t).toMatchObject({ state: 'formed', seats: 2, paid: 2 });
    for (const c of contexts.splice(0)) await c.close();
  });

  it('a team that does not fill in time fails at its end: its paid member reads that the money comes back in full, and sees the refund', async () => {
    const henry = await shopper('henry');
    const honey = card(henry, item.honey);
    await sees(honey.getByText('3人团 ¥29.00'));
    await honey.getByRole('button', { name: '发起拼团 ¥29.00' }).click();
    await hold(henry, '槐花蜜 500g').getByRole('button', { name: '支付 ¥29.00' }).click();
    await sees(henry.getByText('支付成功 ¥29.00'));
    const team = honey.locator('.offer-panel.team');
    await sees(team.getByText(/已付款 1\/3 人/));
    // The sweeper settles the team once its window has ended, and its room publisher tells the room (as the sweeper process does).
    const sweeper = new Sweeper({ redis: sys.redis, keys: sys.keys, scripts: sys.gateway.context.scripts });
    const publisher = new RoomPublisher({ store: new RoomStore({ redis: sys.redis, keys: sys.keys }) });
    await waitFor('the team settled at its end', async () => {
      const swept = await sweeper.sweepItem(item.honey);
      if (!swept.teams?.some((x) => x.outcome === 'failed')) return undefined;
      await publisher.publish({ ...swept, roomId });
      return swept;
    }, wait, 250);
    await sees(team.getByText('✗ 拼团失败：时限内未凑齐，已付款的团员全额退款 你付的 ¥29.00 全额退回'));
    await sees(order(henry, '槐花蜜 500g').getByText('已退款'));
    await sees(order(henry, '槐花蜜 500g').getByText(/退款 ¥29\.00/));
    expect(await team.getByRole('button', { name: /参团/ }).count()).toBe(0);
    await shot(henry, 'team-failed-henry');
    for (const c of contexts.splice(0)) await c.close();
  });

  it('a bargain: started, two others help through its link, the starter sees the price fall and buys at the cut price', async () => {
    const alice = await shopper('alice');
    const teapot = card(alice, item.teapot);
    await sees(teapot.getByText('¥99.00 起，最低砍到 ¥59.00，2 位好友助力'));
    await teapot.getByRole('button', { name: '发起砍价' }).click();
    const mine = teapot.locator('.offer-panel.bargain');
    await sees(mine.getByText('我的砍价'));
    await sees(mine.getByText('当前价 ¥99.00'));
    const link = await shareLinkOf(mine);
    expect(new URL(link).searchParams.get('bargain')).toMatch(/\S/);
    expect(new URL(link).searchParams.get('item')).toBe(item.teapot);
    await shot(alice, 'bargain-started-alice');

    let price = 9900;
    for (const [n, helper] of ['bob', 'carol'].entries()) {
      const p = await shopper(helper, link);
      const theirs = card(p, item.teapot).locator('.offer-panel.bargain');
      await sees(theirs.getByText('alice 的砍价'));
      await sees(theirs.getByText(`当前价 ¥${(price / 100).toFixed(2)}`));
      await theirs.getByRole('button', { name: '帮砍一刀' }).click();
      await sees(theirs.getByText(/^✓ 你帮砍了 ¥\d+\.\d\d$/));
      const helped = theirs.getByRole('button', { name: '已帮砍' });
      await sees(helped);
      expect(await helped.isDisabled()).toBe(true);
      await sees(theirs.getByText(`已有 ${n + 1}/2 位好友助力`));
      const now = await theirs.locator('.bargain-price').textContent();
      price = Math.round(Number(/¥(\d+\.\d\d)/.exec(now ?? '')![1]) * 100);
      if (n === 0) {
        expect(price).toBeLessThan(9900);
        expect(price).toBeGreaterThan(5900);
        // The starter's page reads the bargain again and shows the price fall.
        await sees(mine.getByText(`当前价 ¥${(price / 100).toFixed(2)}`));
        await shot(p, 'bargain-helped-bob');
      }
    }
    expect(price).toBe(5900);
    await sees(mine.getByText('当前价 ¥59.00'));
    await sees(mine.getByText('✓ 已砍到最低价'));
    await mine.getByRole('button', { name: '按当前价购买 ¥59.00' }).click();
    await hold(alice, '紫砂壶').getByRole('button', { name: '支付 ¥59.00' }).click();
    await sees(alice.getByText('支付成功 ¥59.00'));
    await sees(order(alice, '紫砂壶').getByText('已支付'));
    await shot(alice, 'bargain-bought-alice');
    for (const c of contexts.splice(0)) await c.close();
  });

  it('a gold member reads the member-day rule and the coupon, buys with it and sees the breakdown; the next one is refused the spent coupon', async () => {
    const dave = await shopper('dave');
    const cherries = card(dave, item.cherries);
    await sees(cherries.getByText('会员日：金卡满¥68减¥10 · 银卡满¥68减¥5 · 普通会员满¥68减¥2'));
    const coupon = cherries.locator('.coupon[data-coupon="gold10"]');
    await sees(coupon.getByText('满¥50减¥10'));
    await sees(coupon.getByText('金卡专享'));
    await sees(cherries.getByText('未选优惠券'));
    await coupon.getByRole('button', { name: '选用优惠券 满¥50减¥10' }).click();
    const chosen = coupon.getByRole('button', { name: '已选用优惠券 满¥50减¥10，再点一次不用' });
    await sees(chosen);
    expect(await chosen.textContent()).toBe('✓ 已选用');
    expect(await chosen.getAttribute('aria-pressed')).toBe('true');
    await sees(cherries.getByText('下单将使用：满¥50减¥10'));
    await cherries.getByRole('button', { name: '立即抢购' }).click();
    const h = hold(dave, '车厘子 2kg');
    await sees(h.getByText('原价 ¥99.00 · 会员日（金卡）−¥10.00 · 优惠券（满¥50减¥10）−¥10.00'));
    await shot(dave, 'coupon-breakdown-dave');
    await h.getByRole('button', { name: '支付 ¥79.00' }).click();
    await sees(dave.getByText('支付成功 ¥79.00'));
    await sees(order(dave, '车厘子 2kg').getByText('原价 ¥99.00 · 会员日（金卡）−¥10.00 · 优惠券（满¥50减¥10）−¥10.00'));
    await sees(order(dave, '车厘子 2kg').getByText('已支付'));

    const erin = await shopper('erin');
    const hers = card(erin, item.cherries);
    await hers.locator('.coupon[data-coupon="gold10"]').getByRole('button', { name: '选用优惠券 满¥50减¥10' }).click();
    await hers.getByRole('button', { name: '立即抢购' }).click();
    await sees(hers.getByRole('alert').getByText('优惠券已领完或你已用完可用张数'));
    expect(await hold(erin, '车厘子 2kg').count()).toBe(0);
    await shot(erin, 'coupon-refused-erin');
    // Without the coupon the member-day price is what she pays.
    await hers.locator('.coupon[data-coupon="gold10"]').getByRole('button', { name: /^已选用优惠券/ }).click();
    await sees(hers.getByText('未选优惠券'));
    await hers.getByRole('button', { name: '立即抢购' }).click();
    await sees(hold(erin, '车厘子 2kg').getByText('原价 ¥99.00 · 会员日（金卡）−¥10.00'));
    await sees(hold(erin, '车厘子 2kg').getByRole('button', { name: '支付 ¥89.00' }));
    // The host reminds the gold members about the item: both gold shoppers' cards say so.
    const r = await hostHttp.command(roomId, { command: 'remind', itemId: item.cherries, audience: { tiers: ['gold'] }, text: '车厘子最后 10 分钟' });
    expect(r.data).toMatchObject({ reached: 2 });
    await sees(card(dave, item.cherries).getByText('🔔 主播提醒：车厘子最后 10 分钟'));
    await sees(hers.getByText('🔔 主播提醒：车厘子最后 10 分钟'));
    for (const c of contexts.splice(0)) await c.close();
  });

  it('a referred shopper pays and the referrer sees the commission; the click is recorded once', async () => {
    const frank = await shopper('frank');
    await sees(frank.getByText('还没有佣金：分享商品，好友付款后入账'));
    const cherries = card(frank, item.cherries);
    await cherries.getByRole('button', { name: '分享赚佣金（5%）' }).click();
    const link = await shareLinkOf(cherries.locator('.offer.referral'));
    expect(new URL(link).searchParams.get('ref')).toBe('frank');
    expect(new URL(link).searchParams.get('item')).toBe(item.cherries);

    const grace = await shopper('grace', link);
    await sees(grace.getByText('你通过 frank 的分享进入直播间'));
    await grace.reload();
    await sees(grace.getByText('你通过 frank 的分享进入直播间'));
    const clicks = () => sys.db.selectFrom('referral_clicks').selectAll().where('referrer_id', '=', 'frank').execute();
    await expect.poll(async () => (await clicks()).length, { timeout: wait }).toBe(1);
    expect((await clicks())[0]).toMatchObject({ user_id: 'grace', item_id: item.cherries });
    await shot(grace, 'referred-grace');

    await card(grace, item.cherries).getByRole('button', { name: '立即抢购' }).click();
    const h = hold(grace, '车厘子 2kg');
    await sees(h.getByText('原价 ¥99.00 · 会员日（普通会员）−¥2.00'));
    await h.getByRole('button', { name: '支付 ¥97.00' }).click();
    await sees(grace.getByText('支付成功 ¥97.00'));

    // floor(9700 × 500 / 10000) = 485 fen, credited once the writer has the payment.
    const panel = frank.locator('section.commissions');
    await sees(panel.getByText('已入账 ¥4.85'));
    await sees(panel.getByText('已冲回 ¥0.00'));
    await sees(panel.getByText('净收入 ¥4.85'));
    await sees(panel.locator('li', { hasText: '车厘子 2kg' }).getByText('实付 ¥97.00，入账 ¥4.85，冲回 ¥0.00，净 ¥4.85'));
    await shot(frank, 'commission-frank');

    await frank.getByRole('button', { name: '切换语言' }).click();
    await sees(frank.getByText('My commissions'));
    await sees(frank.getByText('Net ¥4.85'));
    await sees(card(frank, item.teapot).getByText('from ¥99.00 down to ¥59.00 with 2 friends helping'));
    await shot(frank, 'english-frank');
  });
});

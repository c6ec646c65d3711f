/**
 * The marketing tools on the host console and the ops dashboard in Debian's Chromium
 * (playwright-core, never a downloaded browser), on the whole system (gateway, relay, writer,
 * live figures) in a namespace of its own. The host sets a team buy, a bargain, a member-day
 * rule, a coupon campaign for gold members and a commission rate through the forms, and every
 * viewer's room document carries them; bad values are refused in the page with a message and
 * send nothing; a refusal by the server is said in the form. Shoppers then form a team, bargain
 * and buy with the coupon through the HTTP client, the host sees the team fill up and form, ops
 * sets a shopper's tier and reads the marketing figures and segment sizes. Assertions are what a
 * person sees; a screenshot of each step goes to test-results/screenshots/marketing-*.
 */
import { mkdir } from 'node:fs/promises';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemOffers } from '../../common/contracts/protocol.ts';
import type { HttpClient, RoomSocket } from '../../web/client.ts';
import { launchChromium } from '../helpers/browser.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

const shots = 'test-results/screenshots';
const wait = 45_000;

let sys: System;
let browser: Browser;
const contexts: BrowserContext[] = [];
let host: Page;
let ops: Page;
let hostHttp: HttpClient;
let viewer: RoomSocket;
let roomId: string;
let itemId: string;
/** The host command messages the host console sent over its socket, in order. */
const sent: Record<string, unknown>[] = [];
let step = 0;

async function shot(name: string): Promise<void> {
  step++;
  const n = String(step).padStart(2, '0');
  for (const [who, p] of [
    ['host', host],
    ['ops', ops],
  ] as const)
    if (p) await p.screenshot({ path: `${shots}/marketing-${n}-${name}-${who}.png`, fullPage: true });
}

/** Waits until `loc` is visible (a person sees it). */
const sees = (loc: Locator) => loc.first().waitFor({ state: 'visible', timeout: wait });

async function open(path: string, before?: (p: Page) => Promise<void>): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN' });
  contexts.push(ctx);
  const page = await ctx.newPage();
  await before?.(page);
  await page.goto(`${sys.baseUrl}${path}`);
  return page;
}

const q = (role: 'shopper' | 'host' | 'ops', user: string) => sys.token(role, user).then((t) => `?room=${roomId}&user=${user}&token=${encodeURIComponent(t)}`);
const roomWs = /\/rooms\/[^/]+\/ws/;
const row = () => host.locator(`li[data-item="${itemId}"]`);
const form = (label: string) => row().locator(`form[aria-label="${label}"]`);
const offers = (): ItemOffers | undefined => viewer.view?.doc.items[itemId]?.offers;
/** The ops dashboard's figure named `metric` (its label and value with the unit). */
const figure = (metric: string) => ops.locator(`.marketing [data-metric="${metric}"]`);
const shopper = async (sub: string) => sys.http(await sys.token('shopper', sub));

describe('the marketing tools on the host console and the ops dashboard, in Chromium', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    await mkdir(shots, { recursive: true });
    sys = await startSystem({}, { liveStats: true });
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await sys?.stop();
  });

  it('sets up a room with a flash-sale item in a live show; the host console shows it without offers', async () => {
    hostHttp = sys.http(await sys.token('host', 'mkt-host'));
    roomId = (await hostHttp.createRoom('会员日专场')).id;
    const now = Date.now();
    itemId = (await hostHttp.addItem(roomId, { title: '有机大米 5kg', price: 9900, stock: 50, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 3600_000 })).id;
    const created = await hostHttp.request('POST', '/shows', { roomId, title: '会员日专场', plannedStart: now, plannedEnd: now + 3600_000, runSheet: [{ role: 'main', title: '有机大米 5kg', itemId, plannedStart: now, plannedEnd: now + 3600_000 }] });
    expect(created.status).toBe(201);
    expect((await hostHttp.request('POST', `/shows/${created.body.show.id}/start`, {})).status).toBe(200);
    viewer = await sys.connect(roomId, await sys.token('shopper', 'mkt-viewer'));
    host = await open(`/web/host.html${await q('host', 'mkt-host')}`, (p) =>
      p.routeWebSocket(roomWs, (ws) => {
        const server = ws.connectToServer();
        ws.onMessage((m) => {
          const msg = JSON.parse(String(m)) as Record<string, unknown>;
          if (msg.type === 'command') sent.push(msg);
          server.send(m);
        });
      }),
    );
    await sees(row().getByText('有机大米 5kg'));
    await sees(row().getByText('暂未设置营销活动'));
    await row().locator('summary', { hasText: '营销工具' }).click();
    await sees(form('设置拼团'));
    await shot('no-offers');
  });

  it('bad values are refused in the form with a message and send nothing; a team buy is then set and every viewer sees it', async () => {
    const before = sent.length;
    const team = form('设置拼团');
    await team.getByLabel('成团人数').fill('1');
    await team.getByLabel('拼团价（元）').fill('39');
    await team.getByRole('button', { name: '设置拼团' }).click();
    await sees(team.getByRole('alert').getByText('成团人数须为 2 到 100 的整数'));

    const bargain = form('设置砍价');
    await bargain.getByLabel('起砍价（元）').fill('1.00');
    await bargain.getByLabel('底价（元）').fill('0.98');
    await bargain.getByLabel('助力人数').fill('5');
    await bargain.getByRole('button', { name: '设置砍价' }).click();
    await sees(bargain.getByRole('alert').getByText('底价须比起砍价至少低 ¥0.05：5 人助力，每人至少砍 1 分'));

    const commission = form('设置佣金');
    await commission.getByLabel('佣金比例（%）').fill('120');
    await commission.getByRole('button', { name: '设置佣金' }).click();
    await sees(commission.getByRole('alert').getByText('佣金比例须为 0 到 100，最多两位小数'));

    const coupon = form('添加优惠券');
    await coupon.getByLabel('券编号').fill('满 50 减 10');
    await coupon.getByRole('button', { name: '添加优惠券' }).click();
    await sees(coupon.getByRole('alert').getByText('券编号为 1 到 64 个字母、数字、- 或 _'));
    await shot('refused-in-page');

    // Now a valid team buy: the one message the socket carries since the refusals is this one.
    await team.getByLabel('成团人数').fill('2');
    await team.getByLabel('成团时限（分钟）').fill('30');
    await team.getByRole('button', { name: '设置拼团' }).click();
    await sees(row().locator('.offers-now', { hasText: '拼团：2 人成团，拼团价 ¥39.00，30 分钟内成团，每人最多 1 个团' }));
    await sees(team.getByText('已保存，观众已看到'));
    expect(await team.getByRole('alert').count()).toBe(0);
    expect(sent.slice(before).map((m) => m.command)).toEqual(['setTeamBuy']);
    expect(sent[before]).toMatchObject({ itemId, size: 2, teamPrice: 3900, windowSeconds: 1800, teamsPerUser: 1 });
    expect(typeof sent[before]!.baseVersion).toBe('number');
    expect(typeof sent[before]!.idempotencyKey).toBe('string');
    await viewer.until(() => offers()?.team?.price === 3900);
    expect(offers()?.team).toEqual({ size: 2, price: 3900, windowMs: 1_800_000, teamsPerUser: 1 });
  });

  it('the host sets a bargain, a member-day rule, a coupon for gold members and a commission; the room document carries each', async () => {
    const bargain = form('设置砍价');
    await bargain.getByLabel('起砍价（元）').fill('99');
    await bargain.getByLabel('底价（元）').fill('9.90');
    await bargain.getByLabel('助力人数').fill('3');
    await bargain.getByLabel('砍价时限（分钟）').fill('60');
    await bargain.getByLabel('仅新用户可助力').check();
    await bargain.getByRole('button', { name: '设置砍价' }).click();
    await sees(row().locator('.offers-now', { hasText: '砍价：¥99.00 砍到 ¥9.90，3 人助力，1 小时内有效，仅新用户可助力' }));
    await viewer.until(() => offers()?.bargain !== undefined);
    expect(offers()?.bargain).toEqual({ start: 9900, floor: 990, helpers: 3, windowMs: 3_600_000, newUsersOnly: true });

    const member = form('设置会员日');
    await member.getByLabel('满多少可减（元）').fill('50');
    await member.getByLabel('普通会员减（元）').fill('1');
    await member.getByLabel('银卡会员减（元）').fill('3');
    await member.getByLabel('金卡会员减（元）').fill('5');
    await member.getByRole('button', { name: '设置会员日' }).click();
    await sees(row().locator('.offers-now', { hasText: '会员日：满 ¥50.00，普通会员减 ¥1.00 / 银卡减 ¥3.00 / 金卡减 ¥5.00' }));
    await viewer.until(() => offers()?.memberDay !== undefined);
    expect(offers()?.memberDay).toEqual({ threshold: 5000, off: { regular: 100, silver: 300, gold: 500 } });

    const coupon = form('添加优惠券');
    await coupon.getByLabel('券编号').fill('GOLD10');
    await coupon.getByLabel('类型').selectOption('spend');
    await coupon.getByLabel('减免金额（元）').fill('10');
    await coupon.getByLabel('最低消费（元）').fill('50');
    await coupon.getByLabel('发放总量（张）').fill('20');
    await coupon.getByLabel('有效时长（分钟）').fill('60');
    await coupon.getByLabel('金卡会员', { exact: true }).check();
    await coupon.getByRole('button', { name: '添加优惠券' }).click();
    await sees(row().locator('.offers-now li[data-coupon="GOLD10"]', { hasText: '优惠券 GOLD10：满 ¥50.00 减 ¥10.00，每人 1 张' }));
    await sees(row().locator('.offers-now li[data-coupon="GOLD10"]', { hasText: '金卡会员' }));
    await sees(coupon.getByRole('status').getByText('已保存，观众已看到：剩余 20 张，已领 0 张，已用 0 张'));
    await viewer.until(() => (offers()?.coupons ?? []).length === 1);
    const c = offers()!.coupons![0]!;
    expect(c).toMatchObject({ id: 'GOLD10', kind: 'spend', amount: 1000, minSpend: 5000, perUser: 1, audience: { tiers: ['gold'] } });
    expect(c.endsAt - c.startsAt).toBe(3_600_000);

    const commission = form('设置佣金');
    await commission.getByLabel('佣金比例（%）').fill('5');
    await commission.getByRole('button', { name: '设置佣金' }).click();
    await sees(row().locator('.offers-now', { hasText: '推广佣金：成交额的 5%' }));
    await viewer.until(() => offers()?.commissionBp === 500);
    await shot('offers-set');

    // The audit log of the room has each command once.
    const log = await waitFor('the offer commands in the audit log', async () => {
      const rows = await hostHttp.audit(roomId, 50);
      return rows.filter((a) => ['setTeamBuy', 'setBargain', 'setMemberDay', 'addCoupon', 'setCommission'].includes(a.command)).length >= 5 ? rows : undefined;
    });
    for (const name of ['setTeamBuy', 'setBargain', 'setMemberDay', 'addCoupon', 'setCommission']) expect(log.filter((a) => a.command === name && a.outcome === 'applied')).toHaveLength(1);
  });

  it("the server's refusal is said in the form: another campaign under an existing code changes nothing", async () => {
    const coupon = form('添加优惠券');
    await coupon.getByLabel('券编号').fill('GOLD10');
    await coupon.getByLabel('减免金额（元）').fill('20');
    await coupon.getByLabel('最低消费（元）').fill('100');
    await coupon.getByRole('button', { name: '添加优惠券' }).click();
    await sees(coupon.getByRole('alert').getByText('未保存：这个券编号已用于另一种优惠券，请换一个编号'));
    await shot('server-refusal');
    expect(offers()?.coupons).toHaveLength(1);
    expect(offers()!.coupons![0]).toMatchObject({ amount: 1000, minSpend: 5000 });
  });

  it('a reminder goes to the audience ticked in its form', async () => {
    const before = sent.length;
    const remind = form('发送提醒');
    await remind.getByLabel('提醒内容（可不填）').fill('会员专享价马上开始');
    await remind.getByLabel('金卡会员', { exact: true }).check();
    await remind.getByLabel('活跃', { exact: true }).check();
    await remind.getByRole('button', { name: '发送提醒' }).click();
    // No gold member in the active stage has a socket open in the room: the reply says who it reached.
    await sees(remind.getByText(/^✓ 提醒已发送：目标 \d+ 人，已送达 0 人$/));
    expect(sent.slice(before)).toHaveLength(1);
    expect(sent[before]).toMatchObject({ command: 'remind', itemId, audience: { tiers: ['gold'], stages: ['active'] }, text: '会员专享价马上开始' });
  });

  it('two shoppers form a team: the host sees it fill up and form', async () => {
    const base = `/rooms/${roomId}/items/${itemId}`;
    const [ta, tb] = await Promise.all([shopper('mkt-ta'), shopper('mkt-tb')]);
    const opened = await ta.request('POST', `${base}/teams`, { idempotencyKey: 'open-1' });
    expect(opened).toMatchObject({ status: 201, body: { outcome: 'held', unitPrice: 3900, size: 2 } });
    const teamId = opened.body.teamId as string;
    const team = row().locator(`.team-progress li[data-team="${teamId}"]`);
    await sees(team.getByText(`团 ${teamId}：已占 1/2 位，已支付 0 位`));
    await sees(team.getByText('拼团中'));
    const joined = await tb.request('POST', `${base}/teams/${teamId}/join`, { idempotencyKey: 'join-1' });
    expect(joined.status).toBe(201);
    await ta.pay(roomId, itemId, opened.body.orderId);
    await tb.pay(roomId, itemId, joined.body.orderId);
    await sees(team.getByText(`团 ${teamId}：已占 2/2 位，已支付 2 位`));
    await sees(team.getByText('已成团'));
    await sees(row().getByText('拼团中 0 个 · 已成团 1 个 · 未成团 0 个'));
    await shot('team-formed');
  });

  it('ops sets a shopper a gold member from the dashboard; a bad user id is refused in the form', async () => {
    ops = await open(`/web/ops.html${await q('ops', 'mkt-ops')}`);
    const tier = ops.locator('form[aria-label="设置会员等级"]');
    await sees(tier);
    await tier.getByLabel('用户 ID').fill('gi na');
    await tier.getByRole('button', { name: '设置等级' }).click();
    await sees(tier.getByRole('alert').getByText('用户 ID 为 1 到 128 个可见字符，不含空格'));
    expect(await sys.db.selectFrom('member_tiers').select('user_id').where('user_id', 'in', ['gi na', 'gi']).execute()).toHaveLength(0);
    await tier.getByLabel('用户 ID').fill('mkt-gina');
    await tier.getByLabel('等级').selectOption('gold');
    await tier.getByRole('button', { name: '设置等级' }).click();
    await sees(tier.getByRole('status').getByText('已将 mkt-gina 设为金卡会员'));
    const saved = await sys.db.selectFrom('member_tiers').select('tier').where('user_id', '=', 'mkt-gina').executeTakeFirst();
    expect(saved?.tier).toBe('gold');
  });

  it('a gold member referred by a sharer buys with the coupon, a bargain is started, helped and bought; ops sees the marketing figures and segment sizes', async () => {
    const base = `/rooms/${roomId}/items/${itemId}`;
    const gina = await shopper('mkt-gina');
    await gina.referralClick(roomId, 'mkt-rita', itemId);
    const held = await gina.buy(roomId, itemId, 1, 'gina-1', 'GOLD10');
    // ¥99.00, gold member day −¥5.00, then the coupon −¥10.00.
    expect(held).toMatchObject({ outcome: 'held', amount: 8400 });
    await gina.pay(roomId, itemId, (held as { orderId: string }).orderId);

    const [bo, hu] = await Promise.all([shopper('mkt-bo'), shopper('mkt-hu')]);
    const started = await bo.request('POST', `${base}/bargains`, {});
    expect(started.status).toBe(201);
    const bargainId = started.body.bargainId as string;
    expect((await hu.request('POST', `${base}/bargains/${bargainId}/help`, {})).body).toMatchObject({ outcome: 'helped', helped: 1 });
    expect((await bo.request('POST', `${base}/bargains/${bargainId}/buy`, {})).status).toBe(201);

    const expectFigure = async (metric: string, text: string) => sees(figure(metric).locator('dd', { hasText: text }));
    await expectFigure('teams_opened', '1 个');
    await expectFigure('teams_formed', '1 个');
    await expectFigure('teams_failed', '0 个');
    await expectFigure('team_refunded', '¥0.00');
    await expectFigure('coupons_issued', '1 张');
    await expectFigure('coupons_used', '1 张');
    await expectFigure('coupon_discount', '¥10.00');
    await expectFigure('member_discount', '¥5.00');
    await expectFigure('bargains_started', '1 次');
    await expectFigure('bargains_helped', '1 次');
    await expectFigure('bargains_bought', '1 单');
    // 5% of the ¥84.00 paid, credited to the sharer.
    await expectFigure('commission_credited', '¥4.20');
    await expectFigure('commission_net', '¥4.20');
    await sees(ops.locator('.referrers tr[data-referrer="mkt-rita"]', { hasText: '¥4.20' }));
    // The room's buyers with a paid order: the two team members and the gold member, all new.
    await expectFigure('segment_new', '3 人');
    await expectFigure('segment_shoppers', '3 人');
    await sees(figure('segment_new').getByText('新客'));
    await shot('ops-marketing');
  });

  it('in English the offers and the marketing figures read with their units', async () => {
    for (const p of [host, ops]) await p.getByRole('button', { name: '切换语言' }).click();
    await sees(row().locator('.offers-now', { hasText: 'Team buy: teams of 2 at ¥39.00, formed within 30 min, teams per shopper at once: 1' }));
    await sees(row().locator('.offers-now li[data-coupon="GOLD10"]', { hasText: 'Coupon GOLD10: ¥10.00 off from ¥50.00, 1 per shopper' }));
    await sees(row().getByText('0 forming · 1 formed · 0 failed'));
    await sees(ops.getByRole('heading', { name: 'Marketing' }));
    await sees(figure('teams_formed').getByText('Teams formed'));
    await sees(figure('coupon_discount').getByText('Coupon discount'));
    await sees(figure('coupon_discount').locator('dd', { hasText: '¥10.00' }));
    await sees(figure('segment_new').locator('dd', { hasText: '3' }));
    // What the forms said is said again in the new language.
    await sees(form('Set team buy').getByText('Saved: viewers see it now'));
    await sees(ops.locator('form[aria-label="Set a member tier"]').getByText('mkt-gina is now a gold member'));
    await shot('english');
  });
});

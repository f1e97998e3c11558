// The dashboard walkthrough in headless Chromium (Debian's, driven by
// playwright-core): log in, watch a pipeline's status change live, upload
// a plugin, see an error next to its field, see thumbnails, run a
// distributor channel and change its outputs, and a viewer
// who gets no mutating controls and is refused when trying anyway.
//
// Run by host/daemon/tests/dashboard.rs with, in the environment:
//   STAGEBOX_URL, STAGEBOX_PASSWORD (admin), STAGEBOX_VIEWER_PASSWORD
//   (user "viewer"), STAGEBOX_WASM (a video-node component),
//   STAGEBOX_SCREENSHOTS (a folder). Exits non-zero on the first failure.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, failed, launch, loggedIn as logIn, step } from './common.mjs';

const url = process.env.STAGEBOX_URL;
const shots = process.env.STAGEBOX_SCREENSHOTS;
mkdirSync(shots, { recursive: true });

const browser = await launch();
const loggedIn = (user, password) => logIn(browser, url, user, password, 'main[data-view=pipelines] .card.pipeline');

async function apiAs(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const r = await fetch(p, {
      method: m,
      headers: { Authorization: `Bearer ${sessionStorage.getItem('token')}`, 'Content-Type': 'application/json' },
      body: b === null ? undefined : JSON.stringify(b),
    });
    return { status: r.status, body: await r.text() };
  }, [method, path, body ?? null]);
}

try {
  // 1. Logging in: a wrong password is shown on the form.
  step('login');
  {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(url);
    await page.fill('#login input[name=password]', 'wrong password');
    await page.click('#login button[type=submit]');
    const err = await page.textContent('#login .error');
    check(err.includes('401 Unauthorized: wrong user name or password'), `login error shown: ${err}`);
    await context.close();
  }
  const { page, errors } = await loggedIn('admin', process.env.STAGEBOX_PASSWORD);
  const card = (name) => `.card.pipeline[data-name="${name}"]`;
  const badge = (name) => `${card(name)} h3 .badge`;
  check((await page.textContent('#who')).includes('admin (admin)'), 'who is logged in');

  // 2. The demo pipeline's status changes live: stopped and started from
  // outside the page (the API), seen through the event stream.
  step('live status');
  await page.waitForSelector('#live.on');
  check((await page.textContent(badge('demo-timecode'))) === 'running', 'demo-timecode runs');
  check((await apiAs(page, 'POST', '/api/v1/pipelines/demo-timecode/stop')).status === 200, 'stopped by the API');
  await page.waitForFunction((s) => document.querySelector(s)?.textContent === 'stopped', badge('demo-timecode'));
  check((await page.textContent('#last-event')).includes('pipeline.stopped demo-timecode'), 'the event is shown');
  // And started again from the page's own button.
  await page.click(`${card('demo-timecode')} button.start`);
  await page.waitForFunction((s) => document.querySelector(s)?.textContent === 'running', badge('demo-timecode'));
  await page.waitForSelector(`${card("demo-timecode")} tbody [data-state=running]`);
  check(await page.$(`${card('demo-timecode')} svg.graph rect`), 'the pipeline graph is drawn');
  await page.screenshot({ path: join(shots, 'dashboard-pipelines.png'), fullPage: true });

  // 3. Bad input: the API's message next to the field it names.
  step('error next to the field');
  const form = `${card('demo-timecode')} form.add-node`;
  await page.fill(`${form} input[name=id]`, 'extra');
  await page.fill(`${form} input[name=plugin]`, 'nope');
  await page.click(`${form} button[type=submit]`);
  await page.waitForSelector(`${form} input[name=plugin] + .error`);
  const fieldErr = await page.textContent(`${form} input[name=plugin] + .error`);
  check(fieldErr.includes('nodes[2].plugin: no plugin "nope"'), `error next to plugin: ${fieldErr}`);
  // And a good node is added live, then removed.
  await page.fill(`${form} input[name=plugin]`, 'timecode');
  await page.click(`${form} button[type=submit]`);
  await page.waitForFunction((s) => [...document.querySelectorAll(`${s} td`)].some((td) => td.textContent === 'extra'), card('demo-timecode'));
  await page.waitForFunction((s) => document.querySelectorAll(`${s} tbody [data-state=running]`).length === 3, card('demo-timecode'));
  await page.click(`${card('demo-timecode')} tr:has(td:text-is("extra")) button.remove-node`);
  await page.waitForFunction((s) => ![...document.querySelectorAll(`${s} td`)].some((td) => td.textContent === 'extra'), card('demo-timecode'));

  // 4. Uploading a plugin, with progress, then enabling it.
  step('upload');
  await page.goto(`${url}/#/plugins`);
  await page.waitForSelector('main[data-view=plugins] #upload');
  const manifest = join(shots, 'hostile.toml');
  writeFileSync(manifest, 'name = "hostile"\nversion = "0.1.0"\nworld = "video-node"\ndescription = "a test plugin"\n');
  await page.setInputFiles('#upload input[name=component]', process.env.STAGEBOX_WASM);
  await page.setInputFiles('#upload input[name=manifest]', manifest);
  await page.click('#upload button[type=submit]');
  await page.waitForFunction(() => [...document.querySelectorAll('td')].some((td) => td.textContent === 'a test plugin'));
  const row = 'tr:has(td:text-is("hostile"))';
  check((await page.textContent(`${row} td:nth-child(7)`)) === 'unsigned', 'shown as unsigned');
  await page.click(`${row} button.enable`);
  await page.waitForSelector(`${row} button.disable`);
  await page.screenshot({ path: join(shots, 'dashboard-plugins.png'), fullPage: true });

  // 5. Flows with live rates and thumbnails of the video flows.
  step('flows');
  await page.goto(`${url}/#/flows`);
  await page.waitForSelector('main[data-view=flows] img.thumb');
  // Rates need two looks, two seconds apart.
  await page.waitForFunction(() => [...document.querySelectorAll('main[data-view=flows] tbody tr')]
    .some((tr) => tr.children[0].textContent === 'demo-timecode/timecode' && Number(tr.children[3].textContent) > 20), null, { timeout: 15000 });
  const thumbOk = await page.$eval('main[data-view=flows] img.thumb', (img) => img.complete && img.naturalWidth === 320);
  check(thumbOk, 'a 320-pixel thumbnail');
  await page.screenshot({ path: join(shots, 'dashboard-flows.png'), fullPage: true });

  // 6. A distributor channel: made from the page and started; an output
  // with a bad URL is refused next to its field, a good one is added
  // live; the channel's status arrives on the event stream.
  step('channels');
  await page.goto(`${url}/#/channels`);
  await page.waitForSelector('main[data-view=channels] #new-channel');
  const spec = { name: 'walk', inputs: ['rtp://127.0.0.1:0'], outputs: [{ id: 'first', url: 'udp://127.0.0.1:9' }] };
  await page.fill('#new-channel textarea', JSON.stringify(spec));
  await page.click('#new-channel button[type=submit]');
  const ch = '.card.channel[data-name="walk"]';
  await page.waitForSelector(`${ch} button.start`);
  await page.click(`${ch} button.start`);
  await page.waitForFunction((s) => document.querySelector(`${s} h3 .badge`)?.textContent === 'running', ch);
  await page.waitForFunction(() => document.querySelector('#last-event').textContent.includes('channel.status walk'));
  const out = `${ch} form.add-output`;
  await page.fill(`${out} input[name=id]`, 'second');
  await page.fill(`${out} input[name=url]`, 'udp://127.0.0.1:9?tll=1');
  await page.click(`${out} button[type=submit]`);
  await page.waitForSelector(`${out} input[name=url] + .error`);
  const outErr = await page.textContent(`${out} input[name=url] + .error`);
  check(outErr.includes('output.url: unknown parameter "tll"'), `error next to url: ${outErr}`);
  await page.fill(`${out} input[name=url]`, 'udp://127.0.0.1:9');
  await page.click(`${out} button[type=submit]`);
  await page.waitForFunction((s) => [...document.querySelectorAll(`${s} td`)].some((td) => td.textContent === 'second'), ch);
  await page.waitForFunction((s) => document.querySelectorAll(`${s} tbody [data-state=running]`).length === 2, ch);
  await page.screenshot({ path: join(shots, 'dashboard-channels.png'), fullPage: true });

  // 7. The audit log and users are there for an admin.
  step('audit');
  await page.goto(`${url}/#/audit`);
  await page.waitForFunction(() => [...document.querySelectorAll('main[data-view=audit] td')].some((td) => td.textContent.startsWith('POST /api/v1/plugins')));
  check(errors.length === 0, `no page errors: ${errors.join('; ')}`);

  // 8. A viewer sees no mutating controls and is refused if they try.
  step('viewer');
  const viewer = await loggedIn('viewer', process.env.STAGEBOX_VIEWER_PASSWORD);
  const v = viewer.page;
  check((await v.$$('button.start, button.stop, button.remove-node, form.add-node, #new-pipeline')).length === 0, 'no pipeline controls');
  check(await v.isHidden('nav a[href="#/users"]'), 'no users page');
  await v.goto(`${url}/#/plugins`);
  await v.waitForSelector('main[data-view=plugins] table');
  check((await v.$$('#upload, button.enable, button.disable')).length === 0, 'no plugin controls');
  await v.goto(`${url}/#/channels`);
  await v.waitForSelector('main[data-view=channels] .card.channel');
  check((await v.$$('#new-channel, form.add-output, button.remove-output, button.select-input, .card.channel button')).length === 0, 'no channel controls');
  const refused = await apiAs(v, 'POST', '/api/v1/pipelines/demo-timecode/stop');
  check(refused.status === 403 && refused.body.includes('operator'), `a viewer is refused: ${refused.status}`);
  await v.screenshot({ path: join(shots, 'dashboard-viewer.png'), fullPage: true });
  check(viewer.errors.length === 0, `no page errors: ${viewer.errors.join('; ')}`);
  console.log('walkthrough passed');
} catch (e) {
  failed(e);
} finally {
  await browser.close();
}

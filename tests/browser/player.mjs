// The dashboard's HLS player in headless Chromium: a viewer opens a
// running channel's HLS output from its card, and hls.js (built into the
// firmware) plays it for at least 10 s of media: currentTime advances,
// the video has its size, and hls.js reports no error at all. A marker
// posted on the channel is drawn on the timeline, and a click on it seeks
// the playhead to its date.
//
// Run by host/daemon/tests/streams.rs with, in the environment:
//   STAGEBOX_URL, STAGEBOX_USER, STAGEBOX_PASSWORD, STAGEBOX_CHANNEL,
//   STAGEBOX_OUTPUT, STAGEBOX_MARKER_TEXT, STAGEBOX_MARKER_MS,
//   STAGEBOX_SCREENSHOTS (a folder).
// Exits non-zero on the first failure.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { check, failed, launch, loggedIn, step } from './common.mjs';

const env = (name) => process.env[name] ?? (() => { throw new Error(`${name} is not set`); })();
const url = env('STAGEBOX_URL');
const [channel, output] = [env('STAGEBOX_CHANNEL'), env('STAGEBOX_OUTPUT')];
const shots = env('STAGEBOX_SCREENSHOTS');
mkdirSync(shots, { recursive: true });

const browser = await launch();
try {
  step('log in');
  const { page, errors } = await loggedIn(browser, url, env('STAGEBOX_USER'), env('STAGEBOX_PASSWORD'), '#nav:not([hidden])');
  await page.goto(`${url}/#/channels`);
  const watch = `.card.channel[data-name="${channel}"] a.watch`;
  await page.waitForSelector(watch);

  step('open the player from the channel card');
  await page.click(watch);
  await page.waitForSelector('main[data-view=watch] video#player');
  check(page.url().endsWith(`#/watch?${channel}/${output}`), `the watch view: ${page.url()}`);

  step('play');
  const video = () => page.evaluate(() => {
    const v = document.getElementById('player');
    return { t: v.currentTime, paused: v.paused, w: v.videoWidth, h: v.videoHeight, errors: Number(v.dataset.errors),
      fatal: Number(v.dataset.fatal), problems: document.getElementById('player-errors').textContent,
      skips: Number(v.dataset.skips ?? 0), note: document.getElementById('player-note').textContent,
      state: document.getElementById('player-state').textContent };
  });
  await page.waitForFunction(() => document.getElementById('player')?.currentTime > 0, null, { timeout: 30000 });
  const first = await video();
  const started = Date.now();
  console.log(`playing from ${first.t.toFixed(2)} s: ${first.state}`);
  // At least 10 s of media, bounded at 25 s of wall-clock time.
  await page.waitForFunction((t0) => document.getElementById('player').currentTime >= t0 + 10, first.t, { timeout: 25000 });
  const last = await video();
  console.log(`played ${(last.t - first.t).toFixed(2)} s in ${((Date.now() - started) / 1000).toFixed(2)} s: ${last.state}`);
  check(!last.paused, 'still playing');
  check(last.w === 640 && last.h === 360, `the picture is 640×360: ${last.w}×${last.h}`);
  check(last.errors === 0 && last.fatal === 0, `no hls.js error: ${last.problems}`);
  check(/segment \d+/.test(last.state), `the segment is shown: ${last.state}`);

  step('a marker on the timeline seeks to its date');
  const [markerText, markerMs] = [env('STAGEBOX_MARKER_TEXT'), Number(env('STAGEBOX_MARKER_MS'))];
  await page.waitForSelector('#player-timeline .marker');
  check((await page.textContent('#player-markers')).includes(markerText), 'the marker is listed');
  check(await page.$('form.mark') === null, 'a viewer gets no marker form');
  await page.click('#player-timeline .marker');
  await page.waitForFunction((ms) => Math.abs(Number(document.getElementById('player').dataset.playingMs) - ms) < 1000,
    markerMs, { timeout: 10000 });
  const landed = Number(await page.evaluate(() => document.getElementById('player').dataset.playingMs));
  console.log(`seeked to ${new Date(landed).toISOString()}, the marker is at ${new Date(markerMs).toISOString()}`);
  const after = await video();
  // hls.js may begin at the next segment's start (the dashboard notes it);
  // the landing check above bounds where.
  console.log(`hls.js began the seek at the next segment: ${after.skips} time(s) ${after.note}`);
  check(after.errors === 0, `no hls.js error after seeking: ${after.problems}`);
  check(errors.length === 0, `no page errors: ${errors.join('; ')}`);
  await page.screenshot({ path: join(shots, 'dashboard-player.png'), fullPage: true });

  step('leave the view: the player stops');
  await page.goto(`${url}/#/channels`);
  await page.waitForSelector(watch);
  check(await page.$('video#player') === null, 'no player left');
  console.log('player passed');
} catch (e) {
  failed(e);
} finally {
  await browser.close();
}

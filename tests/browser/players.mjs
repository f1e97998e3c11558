// A stream played by a third-party player in headless Chromium, on a bare
// page of the box's origin (as a player site on the same host would be):
// dash.js (from npm) on the channel's DASH manifest, or hls.js (the copy
// the box serves) on its master playlist. It must play at least 10 s of
// media with currentTime advancing, show the picture at its size, and
// raise no player error. With dash.js, the SCTE-35 events of the manifest
// must reach the page as dash.js events, with their payloads (in hex).
//
// Run by host/daemon/tests/streams.rs with, in the environment:
//   STAGEBOX_URL, STAGEBOX_STREAM (a path: /streams/news/manifest.mpd),
//   STAGEBOX_PLAYER (dash or hls), STAGEBOX_SIZE (640x360, or sizes
//   separated by | where renditions differ),
//   STAGEBOX_EVENTS (dash only: SCTE-35 events expected, at least),
//   STAGEBOX_AUDIO (1: the stream has audio, which must be decoded),
//   STAGEBOX_CAPTIONS (caption cues expected on the video's text
//   tracks, at least; 0: none looked for),
//   STAGEBOX_SWITCH (hls only, 1: move to the next rendition every 2.5 s;
//   at least two switches must happen, and two picture sizes show),
//   STAGEBOX_MAX_LATENCY (hls only: seconds; when set, hls.js plays in its
//   low-latency mode and must stay within that of the live edge).
// Prints what it saw as one `result {json}` line, then "players passed".

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, failed, launch, step } from './common.mjs';

const env = (name) => process.env[name] ?? (() => { throw new Error(`${name} is not set`); })();
const [url, stream, kind] = [env('STAGEBOX_URL'), env('STAGEBOX_STREAM'), env('STAGEBOX_PLAYER')];
const sizes = env('STAGEBOX_SIZE').split('|');
const switching = env('STAGEBOX_SWITCH') === '1';
const maxLatency = process.env.STAGEBOX_MAX_LATENCY ? Number(process.env.STAGEBOX_MAX_LATENCY) : null;
const here = dirname(fileURLToPath(import.meta.url));

const browser = await launch();
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  step(`a bare page of the box's origin with ${kind}`);
  // The origin's robots.txt-like 404 is a page of that origin to write into.
  await page.goto(`${url}/streams/`);
  await page.setContent('<!doctype html><title>player</title><video id=v muted playsinline></video>');
  if (kind === 'dash') {
    await page.addScriptTag({ path: join(here, 'node_modules/dashjs/dist/modern/umd/dash.all.min.js') });
  } else {
    await page.addScriptTag({ url: '/assets/hls.min.js' });
  }

  step('play');
  await page.evaluate(({ kind, src, switching, lowLatency }) => {
    const v = document.getElementById('v');
    window.seen = { errors: [], events: [], switched: [], sizes: [] };
    v.addEventListener('resize', () => window.seen.sizes.push(`${v.videoWidth}x${v.videoHeight}`));
    if (kind === 'dash') {
      const player = dashjs.MediaPlayer().create();
      player.updateSettings({ debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING },
        streaming: { text: { defaultEnabled: true } } });
      player.on(dashjs.MediaPlayer.events.ERROR, (e) => window.seen.errors.push(JSON.stringify(e.error ?? e)));
      for (const scheme of ['urn:scte:scte35:2014:xml+bin', 'urn:scte:scte35:2013:xml']) {
        // xml+bin: dash.js hands over the Binary element's bytes.
        const hex = (d) => d instanceof Uint8Array ? [...d].map((b) => b.toString(16).padStart(2, '0')).join('') : String(d);
        player.on(scheme, (e) => window.seen.events.push({
          scheme, id: String(e.event.id), time: e.event.calculatedPresentationTime, data: hex(e.event.messageData),
        }), null, { mode: dashjs.MediaPlayer.events.EVENT_MODE_ON_RECEIVE });
      }
      player.initialize(v, src, true);
      window.player = player;
    } else {
      // hls.js's own CEA-608 parser would also show the SEI's captions, as a
      // track of its own (with its own character table: the em dash comes
      // out as '━'); only the stream's WebVTT rendition is under test.
      const hls = new Hls({ lowLatencyMode: lowLatency, subtitleDisplay: true, enableCEA708Captions: false });
      // hls.js reports cancelling one of its own requests (a subtitle
      // fragment asked for before it moved to its start position) as a
      // non-fatal INTERNAL_ABORTED: counted, not a failure of the stream.
      // Likewise a jump from 0 to where the buffer starts before anything
      // has played: hls.js joining a live stream before it moved to its
      // start position (seen in low-latency mode: "seeking from 0 to 4.1",
      // buffered 4.0-5.6). A hole once playing still fails.
      window.seen.aborted = 0;
      const joining = (d) => d.details === Hls.ErrorDetails.BUFFER_SEEK_OVER_HOLE && v.played.length === 0;
      hls.on(Hls.Events.ERROR, (_, d) => ((d.details === Hls.ErrorDetails.INTERNAL_ABORTED || joining(d)) && !d.fatal
        ? window.seen.aborted++
        : window.seen.errors.push(`${d.type} ${d.details} fatal=${d.fatal}`
        + ` (${d.reason ?? ''}; frag ${d.frag?.sn}/${d.frag?.type} part ${d.part?.index} start ${d.frag?.start}; ${d.error?.message ?? ''})`
        + ` buffered ${[...Array(v.buffered.length).keys()].map((i) => `${v.buffered.start(i).toFixed(3)}-${v.buffered.end(i).toFixed(3)}`).join(',')}`
        + ` at ${v.currentTime.toFixed(3)}`)));
      // The captions rendition is DEFAULT=NO: turn it on, as a viewer
      // would. hls.js picks its default track (none) right after it
      // announces the tracks, so the choice is made just after that.
      hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, (_, d) => {
        if (d.subtitleTracks.length) setTimeout(() => { if (hls.subtitleTrack < 0) hls.subtitleTrack = 0; }, 0);
      });
      window.seen.subs = [];
      hls.on(Hls.Events.SUBTITLE_FRAG_PROCESSED, (_, d) => window.seen.subs.push(`${d.frag?.sn}:${d.success}:${d.error ?? ''}`));
      if (switching) {
        // Rendition switches, as a player's ABR makes them, at segment
        // boundaries: the next level each 2.5 s.
        hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => window.seen.switched.push(d.level));
        setInterval(() => {
          if (hls.levels.length > 1) hls.nextLevel = (Math.max(hls.currentLevel, 0) + 1) % hls.levels.length;
        }, 2500);
      }
      hls.loadSource(src);
      hls.attachMedia(v);
      v.play().catch((e) => window.seen.errors.push(String(e)));
      window.player = hls;
    }
  }, { kind, src: `${url}${stream}`, switching, lowLatency: maxLatency !== null });
  await page.waitForFunction(() => document.getElementById('v').currentTime > 0, null, { timeout: 30000 });
  const state = () => page.evaluate(() => {
    const v = document.getElementById('v');
    // Every caption cue the player put on the video's text tracks.
    const captions = [...new Set([...v.textTracks].flatMap((t) => [...(t.cues ?? [])].map((c) => c.text)))];
    return { t: v.currentTime, paused: v.paused, w: v.videoWidth, h: v.videoHeight, errors: window.seen.errors,
      events: window.seen.events, audio: v.webkitAudioDecodedByteCount ?? null, captions,
      switched: window.seen.switched, sizes: [...new Set(window.seen.sizes)],
      // hls.js's distance from the live edge, what it aims at, and the
      // parts of the playlist it has (LL-HLS), in seconds and parts.
      latency: window.player.latency ?? null, targetLatency: window.player.targetLatency ?? null,
      parts: window.player.levels?.[0]?.details?.partList?.length ?? null };
  });
  const first = await state();
  const started = Date.now();
  // At least 10 s of media, bounded at 25 s of wall-clock time.
  await page.waitForFunction((t0) => document.getElementById('v').currentTime >= t0 + 10, first.t, { timeout: 25000 });
  const last = await state();
  console.log(`played ${(last.t - first.t).toFixed(2)} s from ${first.t.toFixed(2)} s in ${((Date.now() - started) / 1000).toFixed(2)} s`);
  check(!last.paused, 'still playing');
  check(sizes.includes(`${last.w}x${last.h}`), `the picture is ${sizes.join(' or ')}: ${last.w}×${last.h}`);
  if (maxLatency !== null) {
    check(last.parts > 0, `hls.js reads the parts: ${last.parts}`);
    check(last.latency !== null && last.latency <= maxLatency,
      `within ${maxLatency} s of the live edge: ${last.latency} (aiming at ${last.targetLatency})`);
  }
  if (switching) {
    check(last.switched.length >= 2, `at least two rendition switches: ${JSON.stringify(last.switched)}`);
    check(last.sizes.length >= 2, `two picture sizes shown: ${JSON.stringify(last.sizes)}`);
  }
  check(last.errors.length === 0, `no ${kind} error: ${last.errors.join('; ')}`);
  if (env('STAGEBOX_AUDIO') === '1') check(last.audio > 0, `audio was decoded: ${last.audio} bytes`);
  const captions = Number(env('STAGEBOX_CAPTIONS'));
  if (captions > 0) {
    step(`wait for ${captions} caption cue(s) on the text tracks`);
    await page.waitForFunction((n) => {
      const v = document.getElementById('v');
      return [...v.textTracks].flatMap((t) => [...(t.cues ?? [])]).length >= n;
    }, captions, { timeout: 20000 }).catch(async (e) => {
      // What the page had: its text tracks, and the player's subtitle tracks.
      const tracks = await page.evaluate(() => ({
        tracks: [...document.getElementById('v').textTracks].map((t) => `${t.kind}:${t.label}:${t.mode}:${t.cues?.length}`),
        subtitles: window.player.subtitleTracks?.map((t) => `${t.name}:${t.url}`) ?? null,
        current: window.player.subtitleTrack ?? null, t: document.getElementById('v').currentTime,
        log: window.seen.subs ?? [],
      }));
      throw new Error(`${e.message}; ${JSON.stringify(tracks)}`);
    });
  }
  let events = [];
  if (kind === 'dash') {
    // Each event arrives with the manifest update that first lists it.
    const expected = Number(env('STAGEBOX_EVENTS'));
    step(`wait for ${expected} SCTE-35 event(s)`);
    await page.waitForFunction((n) => window.seen.events.length >= n, expected, { timeout: 30000 });
    events = (await state()).events;
    check((await state()).errors.length === 0, `no dash error: ${(await state()).errors.join('; ')}`);
  }
  check(errors.length === 0, `no page errors: ${errors.join('; ')}`);
  const shown = (await state()).captions;
  console.log(`result ${JSON.stringify({ played: last.t - first.t, events, audio: last.audio, captions: shown,
    switched: last.switched, sizes: last.sizes, latency: last.latency })}`);
  console.log('players passed');
} catch (e) {
  failed(e);
} finally {
  await browser.close();
}

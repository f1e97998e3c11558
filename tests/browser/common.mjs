// What the browser scripts share: Chromium started with the flags this
// environment needs, logging in through the dashboard's form, and checks.

import { chromium } from 'playwright-core';

export const step = (name) => console.log(`step: ${name}`);

export function check(cond, what) {
  if (!cond) throw new Error(`failed: ${what}`);
}

// Reports what stopped a script and makes it exit non-zero: the stack,
// then the message again last, where a truncated log still shows it.
export function failed(e) {
  console.error(`${e.stack || String(e)}\n${e.message ?? e}`);
  process.exitCode = 1;
}

// The flags this environment needs: no sandbox as root, no GPU, and no
// background networking (the machine's network is closed).
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
}

// A fresh context logged in as `user`, once `ready` (a selector) shows.
// Page errors are collected in `errors`.
export async function loggedIn(browser, url, user, password, ready) {
  // The box's certificate is self-signed; the page is what is tested.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.fill('#login input[name=username]', user);
  await page.fill('#login input[name=password]', password);
  await page.click('#login button[type=submit]');
  await page.waitForSelector(ready);
  return { context, page, errors };
}

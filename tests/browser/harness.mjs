// What the browser scripts share: headless Chromium on a fresh page, named steps that each
// leave a screenshot, the page helpers (visit, submit, log in and out) and the run itself,
// capped at RUN_LIMIT_MS, with the browser always closed.
//
//   node <script>.mjs <base-url> <screenshot-dir> [script arguments...]
//
// core/tests/support/browser.rs runs the scripts. The first failure prints the page it
// happened on and exits 1; success prints "<name>: all steps passed".

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const RUN_LIMIT_MS = 55_000;
const STEP_TIMEOUT_MS = 10_000;
export const ADMIN = { id: 'admin', password: 'micro' };

export const [base, shots, ...args] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node <script>.mjs <base-url> <screenshot-dir> [arguments...]');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

let browser;
/** The page every step drives. */
export let page;
let stepNumber = 0;
/** Content-Security-Policy violations, script errors and failed stylesheet or script loads. */
export const browserErrors = [];

/** Closes the browser and exits with `code`, at most once. */
let finishing = false;
async function finish(code) {
  if (finishing) return;
  finishing = true;
  await browser?.close().catch(() => {});
  process.exit(code);
}

/** Runs one named step, then saves a screenshot named after it. */
export async function step(name, body) {
  stepNumber += 1;
  const label = `${String(stepNumber).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-').replace(/-$/, '').toLowerCase()}`;
  try {
    await body();
  } catch (err) {
    err.step = `step ${stepNumber} (${name})`;
    err.shot = join(shots, `${label}-FAILED.png`);
    throw err;
  }
  await page.screenshot({ path: join(shots, `${label}.png`), fullPage: true });
  console.log(`ok ${stepNumber} - ${name}`);
}

/** Goes to `path` and returns the response, which must be a success. */
export async function visit(path) {
  const response = await page.goto(base + path);
  assert.ok(response, `no response for ${path}`);
  assert.ok(response.ok(), `GET ${path} answered ${response.status()}: ${await bodyText()}`);
  return response;
}

/** Submits `form` with its submit button and waits for the page that answers. */
export async function submit(form) {
  const button = form.locator('button[type=submit], input[type=submit], button:not([type])').first();
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response;
}

/** The form posting to `action`, holding a field named `field` (an input, select or textarea). */
export function formFor(action, field) {
  return page.locator(`form[action="${action}"]`).filter({ has: page.locator(`[name="${field}"]`) }).first();
}

/** The visible text of the page, shortened, for failure messages. */
export async function bodyText() {
  const text = await page.locator('body').innerText().catch(() => '(no body)');
  return text.replace(/\s+/g, ' ').slice(0, 600);
}

/** Logs in through the login form as `who`. */
export async function login(who) {
  const form = page.locator('form[action^="/auth/login"]');
  await form.locator('[name="id"]').fill(who.id);
  await form.locator('[name="password"]').fill(who.password);
  await submit(form);
  assert.ok(!new URL(page.url()).pathname.startsWith('/auth/login'),
    `logging in as ${who.id} stayed on ${page.url()}: ${await bodyText()}`);
}

/** Logs out with the header's button. */
export async function logout() {
  await submit(page.locator('form[action="/auth/logout"]'));
  assert.equal(new URL(page.url()).pathname, '/auth/login', `logout landed on ${page.url()}`);
}

/** The last step of every script: the browser logged no error. */
export async function noBrowserErrors() {
  await step('no CSP violations or script errors', async () => {
    assert.deepEqual(browserErrors, [], 'the browser logged errors (inline script or style blocked by the CSP?)');
  });
}

async function launch() {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: STEP_TIMEOUT_MS,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  // Pages answering 401/403 on purpose log "Failed to load resource"; the steps check those
  // statuses themselves, so only other errors and failed sub-resources count here.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      browserErrors.push(`${page.url()}: ${msg.text()}`);
    }
  });
  page.on('pageerror', (err) => browserErrors.push(`${page.url()}: ${err.message}`));
  page.on('response', (response) => {
    if (response.request().resourceType() !== 'document' && response.status() >= 400) {
      browserErrors.push(`${response.url()} answered ${response.status()}`);
    }
  });
}

/** Launches the browser, runs `steps` and exits: 0 when every step passed, 1 otherwise. */
export async function run(name, steps) {
  const watchdog = setTimeout(() => {
    console.error(`${name}: FAILED: the run took longer than ${RUN_LIMIT_MS / 1000} s (stuck at step ${stepNumber})`);
    finish(1);
  }, RUN_LIMIT_MS);
  try {
    await launch();
    await steps();
    clearTimeout(watchdog);
    console.log(`${name}: all steps passed; screenshots in ${shots}`);
    await finish(0);
  } catch (err) {
    clearTimeout(watchdog);
    console.error(`${name}: FAILED at ${err.step ?? 'start-up'}: ${err.message}`);
    if (page) {
      console.error(`  page: ${page.url()}`);
      console.error(`  text: ${await bodyText()}`);
      if (err.shot) {
        await page.screenshot({ path: err.shot, fullPage: true }).catch(() => {});
        console.error(`  screenshot: ${err.shot}`);
      }
    }
    await finish(1);
  }
}

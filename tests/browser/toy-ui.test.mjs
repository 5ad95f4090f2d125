// The toy UI in a real headless Chromium: boots the real `openwork-server` binary on an
// ephemeral port with a temporary HOME, workspace and config, opens `/w/<id>/ui#token=…`
// and drives the page like a user. Checks are on what a user relies on: what the page
// shows, the bytes that land on disk, and the answers the API gives.
//
// Environment: OPENWORK_SERVER_BIN (default target/debug/openwork-server),
// CHROMIUM_BIN (default /usr/bin/chromium), SCREENSHOT_DIR (default target/screenshots).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SERVER_BIN = process.env.OPENWORK_SERVER_BIN || join(ROOT, 'target/debug/openwork-server');
const CHROMIUM_BIN = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || join(ROOT, 'target/screenshots');
const INBOX = '.opencode/openwork/inbox';
const OUTBOX = '.opencode/openwork/outbox';

// ------------------------------------------------------------------------------------------
// The real server binary
// ------------------------------------------------------------------------------------------

/** Starts `openwork-server` on port 0 in fresh folders; resolves once it prints its port. */
async function startServer({ approval }) {
  const dir = await mkdtemp(join(tmpdir(), 'openwork-ui-'));
  const home = join(dir, 'home');
  const workspace = join(dir, 'workspace');
  await mkdir(home, { recursive: true });
  await mkdir(workspace, { recursive: true });
  const config = join(dir, 'server.json');
  await writeFile(config, '{}\n');
  const clientToken = `client-${randomUUID()}`;
  const hostToken = `host-${randomUUID()}`;
  // Only what the server needs: no OPENWORK_* from the caller's environment leaks in.
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    OPENWORK_DATA_DIR: join(dir, 'data'),
    OPENWORK_LOG_REQUESTS: 'false',
  };
  const args = [
    '--host', '127.0.0.1', '--port', '0', '--config', config, '--workspace', workspace,
    '--token', clientToken, '--host-token', hostToken, '--approval', approval,
    '--approval-timeout', '60000',
  ];
  const child = spawn(SERVER_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stderr.on('data', (chunk) => output.push(chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const base = await new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 30 s:\n${output.join('')}`)), 30000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output.join('')}`));
    });
    lines.on('line', (line) => {
      output.push(`${line}\n`);
      const match = /listening on (http:\/\/[^\s:]+:(\d+))/.exec(line);
      if (match && match[2] !== '0') {
        clearTimeout(timer);
        resolvePort(match[1]);
      }
    });
  });
  const server = {
    base, dir, workspace, clientToken, hostToken, child, output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  server.workspaceId = (await call(server, 'GET', '/workspaces', { token: clientToken })).body.items[0].id;
  return server;
}

/** One API call with `fetch`; returns status and parsed JSON body. */
async function call(server, method, path, { token, host, json } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (host) headers['X-OpenWork-Host-Token'] = server.hostToken;
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(server.base + path, {
    method, headers, body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function issueOwnerToken(server) {
  const { status, body } = await call(server, 'POST', '/tokens', {
    host: true, json: { scope: 'owner', label: 'browser test' },
  });
  assert.equal(status, 201, JSON.stringify(body));
  return body.token;
}

async function createSkill(server, token, name, description) {
  return call(server, 'POST', `/workspace/${server.workspaceId}/skills`, {
    token, json: { name, description, content: `# ${name}\nUsed by the browser test.` },
  });
}

// ------------------------------------------------------------------------------------------
// The browser
// ------------------------------------------------------------------------------------------

/** Debian's Chromium, headless, in a fresh profile, with every background fetch off. */
async function launchBrowser() {
  assert.ok(existsSync(CHROMIUM_BIN), `${CHROMIUM_BIN} is missing (scripts/test-ui installs it)`);
  const profile = await mkdtemp(join(tmpdir(), 'openwork-ui-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-proxy-server',
    ],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const problems = [];
  context.on('weberror', (error) => problems.push(`page error: ${error.error().message}`));
  return {
    context,
    problems,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

async function openPage(browser, server, token) {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', (message) => {
    // Chromium logs every 4xx answer as "Failed to load resource"; the tests provoke
    // some on purpose, so only other errors count.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      browser.problems.push(`console: ${message.text()}`);
    }
  });
  await page.goto(`${server.base}/w/${encodeURIComponent(server.workspaceId)}/ui#token=${token}`);
  await page.getByTestId('whoami').filter({ hasText: 'Connected as' }).waitFor();
  return page;
}

async function screenshot(page, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, name);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
  return path;
}

// ------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------

describe('toy UI, approvals automatic', () => {
  let server;
  let browser;
  let page;
  let ownerToken;

  before(async () => {
    server = await startServer({ approval: 'auto' });
    ownerToken = await issueOwnerToken(server);
    // A collaborator (the client token) creates the skill before the page opens.
    const created = await createSkill(server, server.clientToken, 'browser-check', 'Seeded through the API');
    assert.equal(created.status, 200, JSON.stringify(created.body));
    browser = await launchBrowser();
    page = await openPage(browser, server, ownerToken);
  });

  after(async () => {
    if (page && !page.isClosed()) await screenshot(page, 'toy-ui.png');
    await browser?.close();
    await server?.stop();
  });

  test('the token moves from the URL fragment into localStorage', async () => {
    assert.ok(!page.url().includes('token'), page.url());
    assert.ok(page.url().endsWith(`/w/${server.workspaceId}/ui`), page.url());
    const stored = await page.evaluate(() => localStorage.getItem('openwork.toy.token'));
    assert.equal(stored, ownerToken);
    await assert.doesNotReject(page.getByTestId('whoami').filter({ hasText: 'owner' }).waitFor());
  });

  test('status shows the server, the approval mode and the workspace from the path', async () => {
    await page.getByTestId('status-version').filter({ hasText: '0.11.207' }).waitFor();
    assert.equal(await page.getByTestId('status-approval').textContent(), 'auto (60000 ms)');
    assert.equal(await page.getByTestId('status-workspace').textContent(), server.workspaceId);
    assert.equal(await page.getByTestId('workspace-select').inputValue(), server.workspaceId);
  });

  test('the skill created through the API is listed', async () => {
    const item = page.getByTestId('skills-list').locator('li[data-name="browser-check"]');
    await item.waitFor();
    assert.match(await item.textContent(), /Seeded through the API/);
  });

  test('a file chosen in the inbox form lands in the workspace inbox byte for byte', async () => {
    const bytes = Buffer.concat([Buffer.from('héllo inbox\n'), randomBytes(4096), Buffer.from([0, 255, 10])]);
    await page.getByLabel('File', { exact: true }).setInputFiles({
      name: 'upload.bin', mimeType: 'application/octet-stream', buffer: bytes,
    });
    await page.getByLabel('Path in inbox').fill('docs/upload.bin');
    await page.getByTestId('inbox-upload').click();
    await page.getByTestId('inbox-result').filter({ hasText: 'Uploaded docs/upload.bin' }).waitFor();
    const onDisk = await readFile(join(server.workspace, INBOX, 'docs/upload.bin'));
    assert.ok(onDisk.equals(bytes), `inbox file differs: ${onDisk.length} bytes vs ${bytes.length}`);
    await page.getByTestId('inbox-list').locator('li[data-path="docs/upload.bin"]').waitFor();
    // The upload is audited, and the audit panel shows it.
    await page.getByTestId('audit-rows').filter({ hasText: 'Uploaded docs/upload.bin to inbox' }).waitFor();
  });

  test('reload events arrive live and refresh the skill list', async () => {
    await page.getByTestId('events-mode').filter({ hasText: 'live' }).waitFor();
    const created = await createSkill(server, server.clientToken, 'live-skill', 'Arrived while the page was open');
    assert.equal(created.status, 200);
    await page.getByTestId('events-list').filter({ hasText: 'skill live-skill added' }).waitFor();
    await page.getByTestId('skills-list').locator('li[data-name="live-skill"]').waitFor();
  });

  test('an artifact in the outbox downloads with its bytes', async () => {
    const bytes = randomBytes(2048);
    await mkdir(join(server.workspace, OUTBOX, 'reports'), { recursive: true });
    await writeFile(join(server.workspace, OUTBOX, 'reports/result.dat'), bytes);
    await page.locator('[data-panel="artifacts"]').getByRole('button', { name: 'Refresh' }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download reports/result.dat' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'result.dat');
    const saved = await readFile(await download.path());
    assert.ok(saved.equals(bytes), 'downloaded artifact differs');
  });

  test('an API error is shown with its code and message', async () => {
    const panel = page.locator('[data-panel="commands"]');
    await panel.getByText('New command').click();
    await panel.getByLabel('Name').fill('bad name!');
    await panel.getByLabel('Template').fill('say hi');
    await panel.getByRole('button', { name: 'Save command' }).click();
    const error = panel.locator('[data-error="commands"]');
    await error.filter({ hasText: 'invalid_command_name' }).waitFor();
    assert.match(await error.textContent(), /Command name must be alphanumeric with _ or -/);
    assert.match(await error.textContent(), /HTTP 400/);
  });

  test('an owner creates and revokes a token from the page', async () => {
    const panel = page.locator('[data-panel="tokens"]');
    await panel.getByLabel('Scope').selectOption('viewer');
    await panel.getByLabel('Label').fill('from the page');
    await panel.getByRole('button', { name: 'Create' }).click();
    const shown = (await page.getByTestId('token-created').filter({ hasText: 'owt_' }).textContent()) || '';
    const token = /owt_[0-9a-f]{32}/.exec(shown)[0];
    assert.equal((await call(server, 'GET', '/whoami', { token })).body.actor.scope, 'viewer');
    await panel.getByRole('button', { name: 'Revoke token from the page' }).click();
    await panel.getByRole('button', { name: 'Revoke token from the page' }).waitFor({ state: 'detached' });
    assert.equal((await call(server, 'GET', '/whoami', { token })).status, 401);
  });

  test('the page raised no script errors', () => {
    assert.deepEqual(browser.problems, []);
  });
});

describe('toy UI, approvals manual', () => {
  let server;
  let browser;
  let page;

  before(async () => {
    server = await startServer({ approval: 'manual' });
    browser = await launchBrowser();
    page = await openPage(browser, server, await issueOwnerToken(server));
  });

  after(async () => {
    if (page && !page.isClosed()) await screenshot(page, 'toy-ui-approvals.png');
    await browser?.close();
    await server?.stop();
  });

  test('a pending write is allowed from the page and then completes', async () => {
    // The API call is held open until someone answers.
    const pending = createSkill(server, server.clientToken, 'approved-skill', 'Allowed in the browser');
    const allow = page.getByRole('button', { name: 'Allow: Upsert skill approved-skill' });
    await allow.waitFor();
    await allow.click();
    const { status, body } = await pending;
    assert.equal(status, 200, JSON.stringify(body));
    const file = join(server.workspace, '.opencode/skills/approved-skill/SKILL.md');
    assert.match(await readFile(file, 'utf8'), /description: Allowed in the browser/);
    await allow.waitFor({ state: 'detached' });
  });

  test("the page's own upload waits for approval and a denial is shown as write_denied", async () => {
    await page.getByLabel('File', { exact: true }).setInputFiles({
      name: 'denied.txt', mimeType: 'text/plain', buffer: Buffer.from('never written'),
    });
    await page.getByTestId('inbox-upload').click();
    await page.getByTestId('inbox-result').filter({ hasText: 'Uploading denied.txt' }).waitFor();
    await page.getByRole('button', { name: 'Deny: Upload denied.txt to inbox' }).click();
    const error = page.locator('[data-error="inbox"]');
    await error.filter({ hasText: 'write_denied' }).waitFor();
    assert.match(await error.textContent(), /Write request denied/);
    assert.ok(!existsSync(join(server.workspace, INBOX, 'denied.txt')), 'a denied upload was written');
  });

  test('the page raised no script errors', () => {
    assert.deepEqual(browser.problems, []);
  });
});

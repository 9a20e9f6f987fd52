// Starts `mosaico demo` on a free port with its own data folder, and a headless
// Chromium (Debian's /usr/bin/chromium). Shared by the page suites.
//
// MOSAICO_BIN picks the binary (default: target/debug/mosaico from the repository root).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const bin = process.env.MOSAICO_BIN ?? join(root, 'target', 'debug', 'mosaico');

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

async function waitFor(server, url, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (server.exitCode !== null) throw new Error(`mosaico exited with ${server.exitCode}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

/** Starts the demo with `persons` synthetic residents; resolves to { base, browser, dataDir, stop }. */
export async function startDemo(persons) {
  const dataDir = mkdtempSync(join(tmpdir(), 'mosaico-e2e-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(bin, ['demo', '--port', String(port), '--persons', String(persons)], {
    cwd: root,
    env: { ...process.env, MOSAICO_DATA_DIR: dataDir, MOSAICO_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(server, `${base}/healthz`, 180_000);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const stop = async () => {
    await browser?.close();
    server?.kill('SIGINT');
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { base, browser, dataDir, stop };
}

'use strict';
// What the npm package tests share: the workspace version, packing and installing the
// packages into a throw-away global prefix with no registry, running the installed command,
// and watching processes by pid (Linux /proc).

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..');
const NPM_DIR = path.join(REPO, 'npm');
const MAIN_DIR = path.join(NPM_DIR, 'openwork-server');
const PLATFORM_DIR = path.join(NPM_DIR, 'platforms', 'openwork-server-linux-x64');
const BINARY = path.join(PLATFORM_DIR, 'bin', 'openwork-server');

/** The `[workspace.package] version` of the root Cargo.toml. */
function cargoVersion() {
  const toml = fs.readFileSync(path.join(REPO, 'Cargo.toml'), 'utf8');
  const section = toml.split(/^\[workspace\.package\]\s*$/m)[1]?.split(/^\[/m)[0] ?? '';
  const version = /^version\s*=\s*"([^"]+)"/m.exec(section)?.[1];
  assert.ok(version, 'Cargo.toml has a [workspace.package] version');
  return version;
}

/** Runs a command to completion; fails the test with its output when it exits non-zero. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error) throw result.error;
  assert.equal(
    result.status,
    0,
    `${command} ${args.join(' ')} exited ${result.status} (${result.signal})\n${result.stdout}\n${result.stderr}`,
  );
  return result;
}

/** `npm pack` of a package folder into `dest`; returns npm's JSON description of the tarball. */
function pack(packageDir, dest) {
  const { stdout } = run('npm', ['pack', '--json', '--pack-destination', dest], {
    cwd: packageDir,
    env: npmEnv(dest),
  });
  const [info] = JSON.parse(stdout);
  return { ...info, tarball: path.join(dest, info.filename) };
}

/**
 * `npm install -g` of tarballs into `prefix`, with an empty cache, `--offline` and a registry
 * address nothing listens on: everything must come from the tarballs.
 */
function installGlobal(prefix, tarballs) {
  const cache = path.join(prefix, '.npm-cache');
  return run(
    'npm',
    [
      'install', '--global', '--prefix', prefix, '--cache', cache,
      '--offline', '--registry', 'http://127.0.0.1:9/', '--no-audit', '--no-fund',
      '--loglevel', 'warn', ...tarballs,
    ],
    { env: npmEnv(prefix) },
  );
}

/** An npm environment that cannot see the user's npmrc or cache. */
function npmEnv(dir) {
  const env = cleanEnv();
  env.npm_config_userconfig = path.join(dir, '.npmrc-none');
  env.npm_config_update_notifier = 'false';
  return env;
}

/** The test process's environment without any OPENWORK_* or npm_* settings. */
function cleanEnv() {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(OPENWORK_|npm_)/i.test(key)),
  );
}

const tempDirs = [];

/** A fresh temporary directory, removed by `removeTempDirs()`. */
function tempDir(label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `openwork-npm-${label}-`));
  tempDirs.push(dir);
  return dir;
}

/** Removes every directory `tempDir` made. */
function removeTempDirs() {
  for (const dir of tempDirs.splice(0)) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The installed `openwork-server` command of a global prefix. */
function installedCommand(prefix) {
  return path.join(prefix, 'bin', 'openwork-server');
}

/** Runs the installed command to completion (bounded), returning status, signal and output. */
function runCommand(command, args, env) {
  const result = spawnSync(command, args, { encoding: 'utf8', env, timeout: 60_000 });
  if (result.error) throw result.error;
  return result;
}

/**
 * Starts the installed command as a server on 127.0.0.1:0 with its own HOME and workspace,
 * and resolves once it has printed its listening line, with the launcher's and the server's
 * pids. `detached` puts the launcher in a new process group (pgid = its pid).
 */
async function startServer(command, { detached = false } = {}) {
  const root = tempDir('run');
  const home = path.join(root, 'home');
  const workspace = path.join(root, 'workspace');
  fs.mkdirSync(home);
  fs.mkdirSync(workspace);
  const env = { ...cleanEnv(), HOME: home };
  const launcher = spawn(
    command,
    ['--host', '127.0.0.1', '--port', '0', '--workspace', workspace, '--approval', 'auto'],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached },
  );
  const exited = new Promise((resolve) => {
    launcher.on('exit', (code, signal) => resolve({ code, signal }));
  });
  let output = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line within 60 s; output:\n${output}`)),
      60_000,
    );
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    launcher.stdout.setEncoding('utf8').on('data', onData);
    launcher.stderr.setEncoding('utf8').on('data', onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}, ${signal}) before listening; output:\n${output}`));
    });
  });
  const serverPid = childPids(launcher.pid);
  assert.equal(serverPid.length, 1, `the launcher has exactly one child: ${serverPid}`);
  return {
    root,
    port,
    launcher,
    serverPid: serverPid[0],
    exited,
    output: () => output,
  };
}

/** Pids whose parent is `pid`, from /proc. */
function childPids(pid) {
  const children = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.ppid === pid) children.push(Number(entry));
  }
  return children;
}

/** State and parent of a process from /proc/<pid>/stat, or null when there is none. */
function procStat(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is in parentheses and may hold spaces: parse after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], ppid: Number(fields[1]) };
}

/**
 * True while `pid` is a live process. A zombie is dead (it runs nothing and holds no port),
 * but /proc shows a killed multi-threaded process's main thread as a zombie while its other
 * threads are still tearing down and its sockets still open: it counts as dead only once
 * it is the last task.
 */
function isRunning(pid) {
  const stat = procStat(pid);
  if (stat === null) return false;
  if (stat.state !== 'Z' && stat.state !== 'X') return true;
  try {
    return fs.readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false;
  }
}

/** Waits (bounded) until `pid` is no longer running; fails the test if it still is. */
async function assertGone(pid, what) {
  const deadline = Date.now() + 10_000;
  while (isRunning(pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(!isRunning(pid), `${what} (pid ${pid}) is still running`);
}

/** `GET path` on 127.0.0.1:port over a fresh connection; resolves `{ status, body }`. */
function get(port, urlPath) {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: urlPath, agent: false, headers: { connection: 'close' } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode, body }));
      },
    );
    request.on('error', reject);
    request.setTimeout(30_000, () => request.destroy(new Error(`GET ${urlPath} timed out`)));
  });
}

/** Resolves true when nothing accepts connections on 127.0.0.1:port any more. */
function portClosed(port) {
  return get(port, '/health').then(
    () => false,
    (error) => error.code === 'ECONNREFUSED',
  );
}

module.exports = {
  BINARY,
  MAIN_DIR,
  NPM_DIR,
  PLATFORM_DIR,
  REPO,
  assertGone,
  cargoVersion,
  cleanEnv,
  get,
  installGlobal,
  installedCommand,
  isRunning,
  pack,
  portClosed,
  removeTempDirs,
  runCommand,
  startServer,
  tempDir,
};

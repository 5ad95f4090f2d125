'use strict';
// The npm distribution as a user gets it: both packages packed with `npm pack`, installed
// with `npm install -g` into a temporary prefix with no registry reachable, and the installed
// `openwork-server` command run for real (Linux x64: the platform package built here).
//
// Run through scripts/test-npm, which builds the binary and stamps the versions first.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, it } = require('node:test');
const h = require('./harness.js');
const { PLATFORM_PACKAGES, resolveBinary } = require('../openwork-server/lib/platform.js');

// The size target for the release binary (the original's compiled binary is 105 MiB).
const MAX_BINARY_BYTES = 15 * 1000 * 1000;
const TEST_TIMEOUT = { timeout: 120_000 };

describe('openwork-server npm packages', () => {
  const version = h.cargoVersion();
  let mainPack;
  let platformPack;
  let command;
  const started = [];

  before(() => {
    const packs = h.tempDir('packs');
    mainPack = h.pack(h.MAIN_DIR, packs);
    platformPack = h.pack(h.PLATFORM_DIR, packs);
    const prefix = h.tempDir('prefix');
    h.installGlobal(prefix, [mainPack.tarball, platformPack.tarball]);
    command = h.installedCommand(prefix);
  });

  after(() => {
    // A failed test must not leave a server behind.
    for (const run of started) {
      for (const pid of [run.serverPid, run.launcher.pid]) {
        if (h.isRunning(pid)) process.kill(pid, 'SIGKILL');
      }
    }
    h.removeTempDirs();
  });

  async function start(options) {
    const run = await h.startServer(command, options);
    started.push(run);
    return run;
  }

  it('the release binary is static and under 15 MB', () => {
    const { size } = fs.statSync(h.BINARY);
    const mib = (size / 1024 / 1024).toFixed(2);
    console.log(`# release binary: ${h.BINARY}: ${size} bytes (${mib} MiB)`);
    assert.ok(size < MAX_BINARY_BYTES, `binary is ${size} bytes, over ${MAX_BINARY_BYTES}`);
    const elf = fs.readFileSync(h.BINARY).subarray(0, 4);
    assert.deepEqual([...elf], [0x7f, 0x45, 0x4c, 0x46], 'an ELF executable');
  });

  it('every package carries the Cargo version, and the launcher pins its platform packages exactly', () => {
    const read = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const main = read(h.MAIN_DIR);
    assert.equal(main.version, version);
    assert.deepEqual(main.bin, { 'openwork-server': 'bin/openwork-server.js' });
    assert.deepEqual(
      main.optionalDependencies,
      Object.fromEntries(Object.values(PLATFORM_PACKAGES).map((name) => [name, version])),
    );
    for (const [key, name] of Object.entries(PLATFORM_PACKAGES)) {
      const pkg = read(path.join(h.NPM_DIR, 'platforms', name));
      const [os, cpu] = key.split('-');
      assert.equal(pkg.name, name);
      assert.equal(pkg.version, version, `${name} version`);
      assert.deepEqual([pkg.os, pkg.cpu], [[os], [cpu]], `${name} os/cpu`);
      assert.equal(pkg.license, main.license, `${name} license`);
    }
    assert.equal(main.license, 'MIT', 'the workspace license (Cargo.toml)');
  });

  it('the tarballs hold the launcher and the executable binary, and run nothing at install', () => {
    const files = (packInfo) => Object.fromEntries(packInfo.files.map((f) => [f.path, f]));
    const mainFiles = files(mainPack);
    for (const file of ['package.json', 'README.md', 'bin/openwork-server.js', 'lib/platform.js']) {
      assert.ok(mainFiles[file], `main tarball holds ${file}: ${Object.keys(mainFiles)}`);
    }
    assert.equal(mainPack.version, version);
    const binary = files(platformPack)['bin/openwork-server'];
    assert.ok(binary, `platform tarball holds bin/openwork-server: ${Object.keys(files(platformPack))}`);
    assert.equal(binary.size, fs.statSync(h.BINARY).size, 'the whole binary is packed');
    assert.equal(binary.mode & 0o111, 0o111, `binary is executable (mode ${binary.mode.toString(8)})`);
    for (const dir of [h.MAIN_DIR, h.PLATFORM_DIR]) {
      const { scripts = {} } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) {
        assert.equal(scripts[hook], undefined, `${dir} has no ${hook} script`);
      }
    }
  });

  it('--version through the installed command prints the Cargo version', () => {
    const result = h.runCommand(command, ['--version'], h.cleanEnv());
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${version}\n`);
  });

  // SIGTERM and SIGINT stop the server gracefully (exit 0); it has no SIGHUP handler, so it
  // dies of SIGHUP and the launcher dies of it too.
  const stops = [
    ['SIGTERM', { code: 0, signal: null }],
    ['SIGINT', { code: 0, signal: null }],
    ['SIGHUP', { code: null, signal: 'SIGHUP' }],
  ];
  for (const [signal, expected] of stops) {
    it(`serves /health, and ${signal} to the launcher stops launcher and server`, TEST_TIMEOUT, async () => {
      const run = await start();
      const health = await h.get(run.port, '/health');
      assert.equal(health.status, 200, health.body);
      assert.equal(JSON.parse(health.body).version, version);

      process.kill(run.launcher.pid, signal);
      assert.deepEqual(await run.exited, expected, run.output());
      await h.assertGone(run.serverPid, 'server');
      await h.assertGone(run.launcher.pid, 'launcher');
      assert.ok(await h.portClosed(run.port), 'the port is released');
    });
  }

  it("SIGKILL to the launcher's process group leaves no process", TEST_TIMEOUT, async () => {
    const run = await start({ detached: true });
    assert.equal((await h.get(run.port, '/health')).status, 200);
    process.kill(-run.launcher.pid, 'SIGKILL');
    assert.deepEqual(await run.exited, { code: null, signal: 'SIGKILL' });
    await h.assertGone(run.serverPid, 'server');
    assert.ok(await h.portClosed(run.port), 'the port is released');
  });

  it('SIGKILL to the launcher alone: the server notices and shuts down, freeing the port', TEST_TIMEOUT, async () => {
    const run = await start();
    assert.equal((await h.get(run.port, '/health')).status, 200);
    process.kill(run.launcher.pid, 'SIGKILL');
    assert.deepEqual(await run.exited, { code: null, signal: 'SIGKILL' });
    await h.assertGone(run.serverPid, 'server');
    assert.ok(await h.portClosed(run.port), 'the port is released');
  });

  it("passes the server's exit code through: a bad --port is the server's error, exit 1", () => {
    const result = h.runCommand(command, ['--port', '99999'], h.cleanEnv());
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^openwork-server: --port 99999: not a port number \(0-65535\)\n$/);
  });

  it('passes any exit code and death by signal of the binary through unchanged', () => {
    // The override runs /bin/sh with the launcher's argv, so the "server" exits as told.
    const env = { ...h.cleanEnv(), OPENWORK_SERVER_BIN_PATH: '/bin/sh' };
    const exited = h.runCommand(command, ['-c', 'echo out; echo err >&2; exit 42'], env);
    assert.deepEqual([exited.status, exited.signal], [42, null]);
    assert.deepEqual([exited.stdout, exited.stderr], ['out\n', 'err\n'], 'stdio is inherited');
    const killed = h.runCommand(command, ['-c', 'kill -KILL $$'], env);
    assert.deepEqual([killed.status, killed.signal], [null, 'SIGKILL']);
  });

  it('names the missing platform package when it is not installed, exit 1', () => {
    const prefix = h.tempDir('prefix-main-only');
    h.installGlobal(prefix, [mainPack.tarball]);
    const result = h.runCommand(h.installedCommand(prefix), ['--version'], h.cleanEnv());
    assert.equal(result.status, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /the platform package "openwork-server-linux-x64" is not installed/);
    assert.match(result.stderr, /OPENWORK_SERVER_BIN_PATH/);
  });

  it('reports an override that names no file, exit 1', () => {
    const missing = path.join(h.tempDir('missing'), 'no-such-binary');
    const env = { ...h.cleanEnv(), OPENWORK_SERVER_BIN_PATH: missing };
    const result = h.runCommand(command, ['--version'], env);
    assert.equal(result.status, 1);
    assert.equal(
      result.stderr,
      `OPENWORK_SERVER_BIN_PATH is set to ${missing}, but no file exists there.\n`,
    );
  });

  it('names the supported platforms on a platform without a package', () => {
    const { error } = resolveBinary({ env: {}, platform: 'freebsd', arch: 'x64' });
    assert.match(error, /no prebuilt binary for freebsd-x64/);
    assert.match(error, /linux-x64, linux-arm64, darwin-x64, darwin-arm64, win32-x64/);
  });
});

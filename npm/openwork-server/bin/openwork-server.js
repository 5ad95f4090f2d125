#!/usr/bin/env node
'use strict';
// The `openwork-server` command of the npm package: runs the native binary from the
// platform package with the same arguments and the terminal's stdio, and makes the pair
// behave like one process towards whoever started it:
//
// - SIGINT, SIGTERM and SIGHUP sent to this launcher are passed on to the server;
// - the launcher exits with the server's exit code, or dies of the same signal.
//
// SIGKILL cannot be caught, so the launcher names itself to the server in
// OPENWORK_SERVER_LAUNCHER_PID: the server watches its parent and shuts down gracefully
// once the launcher is gone (within about a quarter of a second), so killing the launcher
// any way never leaves an orphaned server holding the port.

const { spawn } = require('node:child_process');
const os = require('node:os');
const { resolveBinary } = require('../lib/platform.js');

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const resolved = resolveBinary();
if (resolved.error) {
  process.stderr.write(`${resolved.error}\n`);
  process.exit(1);
}

let child = null;
const forward = (signal) => {
  // A Ctrl-C in a terminal reaches the whole process group, so the server may get SIGINT
  // twice; it ignores every stop signal after the first.
  if (child !== null && child.exitCode === null && child.signalCode === null) {
    try {
      // Windows has no POSIX signals: any of them there means "terminate".
      child.kill(process.platform === 'win32' ? 'SIGTERM' : signal);
    } catch {
      // The server is already gone; its exit is reported through 'exit'.
    }
  }
};
// Installed before the spawn so there is no moment when the server runs and a signal to the
// launcher would kill the launcher alone.
for (const signal of FORWARDED_SIGNALS) {
  process.on(signal, forward);
}

child = spawn(resolved.path, process.argv.slice(2), {
  stdio: 'inherit',
  windowsHide: true,
  env: { ...process.env, OPENWORK_SERVER_LAUNCHER_PID: String(process.pid) },
});

child.on('error', (error) => {
  process.stderr.write(`openwork-server: cannot start ${resolved.path}: ${error.message}\n`);
  process.exit(1);
});

child.on('exit', (code, signal) => {
  if (signal === null) {
    process.exit(code ?? 1);
  }
  // Die of the same signal, so a parent sees what it would have seen running the binary
  // itself. Our own handler must go first or the signal would only be forwarded again.
  for (const forwarded of FORWARDED_SIGNALS) {
    process.removeAllListeners(forwarded);
  }
  try {
    process.kill(process.pid, signal);
  } catch {
    // Signals that cannot be raised here (Windows): fall through to the shell convention.
  }
  // Reached only when the signal did not end us (ignored, or handled by the runtime).
  setTimeout(() => process.exit(128 + (os.constants.signals[signal] ?? 0)), 500);
});

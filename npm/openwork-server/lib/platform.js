'use strict';
// Which platform package carries the `openwork-server` binary for this machine, and where
// the binary is. Kept apart from the launcher so it reads (and is tested) as plain data.

const path = require('node:path');
const fs = require('node:fs');

/** Environment variable that names the binary to run instead of the platform package's. */
const BIN_PATH_ENV = 'OPENWORK_SERVER_BIN_PATH';

/** `${process.platform}-${process.arch}` → the npm package that carries the binary. */
const PLATFORM_PACKAGES = Object.freeze({
  'linux-x64': 'openwork-server-linux-x64',
  'linux-arm64': 'openwork-server-linux-arm64',
  'darwin-x64': 'openwork-server-darwin-x64',
  'darwin-arm64': 'openwork-server-darwin-arm64',
  'win32-x64': 'openwork-server-win32-x64',
});

/** The platform package name for `platform`/`arch`, or `null` when none is published. */
function platformPackage(platform, arch) {
  return PLATFORM_PACKAGES[`${platform}-${arch}`] ?? null;
}

/** The binary's file name inside a platform package (`bin/<name>`). */
function binaryName(platform) {
  return platform === 'win32' ? 'openwork-server.exe' : 'openwork-server';
}

/**
 * Finds the binary to run. Returns `{ path }` or `{ error }` (a message for the user).
 *
 * Order: the `OPENWORK_SERVER_BIN_PATH` override, then the platform package resolved from
 * the launcher's own location (nested `node_modules` first, then the ones above it, which is
 * where `npm install -g` and hoisting installs put it).
 */
function resolveBinary({ env = process.env, platform = process.platform, arch = process.arch } = {}) {
  const override = env[BIN_PATH_ENV];
  if (override) {
    const full = path.resolve(override);
    if (!fs.existsSync(full)) {
      return { error: `${BIN_PATH_ENV} is set to ${override}, but no file exists there.` };
    }
    return { path: full };
  }

  const pkg = platformPackage(platform, arch);
  if (pkg === null) {
    const supported = Object.keys(PLATFORM_PACKAGES).join(', ');
    return {
      error:
        `openwork-server has no prebuilt binary for ${platform}-${arch} (supported: ${supported}).\n` +
        `Build it from source (cargo build --release -p openwork-server) and set ${BIN_PATH_ENV} to it.`,
    };
  }

  let manifest;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch {
    return {
      error:
        `openwork-server: the platform package "${pkg}" is not installed, so there is no binary to run.\n` +
        `It is an optional dependency of openwork-server; it is skipped when installing with\n` +
        `--omit=optional / --no-optional, or when the lockfile was made on another platform.\n` +
        `Install it next to openwork-server (e.g. npm install -g ${pkg}), or set ${BIN_PATH_ENV}.`,
    };
  }
  const binary = path.join(path.dirname(manifest), 'bin', binaryName(platform));
  if (!fs.existsSync(binary)) {
    return { error: `openwork-server: the platform package "${pkg}" is installed but has no ${binary}.` };
  }
  return { path: binary };
}

module.exports = { BIN_PATH_ENV, PLATFORM_PACKAGES, platformPackage, binaryName, resolveBinary };

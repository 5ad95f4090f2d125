#!/usr/bin/env node
'use strict';
// Writes one version into every package.json under npm/: the main package, its exact
// `optionalDependencies` on the platform packages, and each platform package. The list of
// platforms comes from the launcher's own table, so the launcher, the dependencies and the
// package folders cannot disagree.
//
// Usage: node npm/tools/stamp-versions.js <version>

const fs = require('node:fs');
const path = require('node:path');
const { PLATFORM_PACKAGES } = require('../openwork-server/lib/platform.js');

const version = process.argv[2];
if (!version || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
  console.error(`usage: stamp-versions.js <semver version> (got ${JSON.stringify(version)})`);
  process.exit(2);
}

const npmDir = path.resolve(__dirname, '..');
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const writeJson = (file, value) => fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

const mainFile = path.join(npmDir, 'openwork-server', 'package.json');
const main = readJson(mainFile);
main.version = version;
main.optionalDependencies = Object.fromEntries(
  Object.values(PLATFORM_PACKAGES).map((name) => [name, version]),
);
writeJson(mainFile, main);

for (const [key, name] of Object.entries(PLATFORM_PACKAGES)) {
  const file = path.join(npmDir, 'platforms', name, 'package.json');
  const pkg = readJson(file);
  const [os, cpu] = key.split('-');
  if (pkg.name !== name || pkg.os?.[0] !== os || pkg.cpu?.[0] !== cpu) {
    console.error(`${file}: expected name ${name}, os [${os}], cpu [${cpu}]`);
    process.exit(1);
  }
  pkg.version = version;
  writeJson(file, pkg);
}
console.log(`stamped ${1 + Object.keys(PLATFORM_PACKAGES).length} package.json files with ${version}`);

// Install step: build galmorph's optional oneDNN addon with node-gyp when a C++ toolchain and
// oneDNN (Debian: libdnnl-dev) are present. Never fails the install: without them galmorph
// runs on wasm alone, so this prints one line saying why and exits 0.
// GALMORPH_NATIVE=0 skips the build (e.g. to test the wasm-only path).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const say = (msg) => console.log(`galmorph: ${msg}`);

if (process.env.GALMORPH_NATIVE === '0') {
  say('native kernels skipped (GALMORPH_NATIVE=0); using wasm');
  process.exit(0);
}

// npm hands lifecycle scripts its bundled node-gyp; otherwise look beside npm itself.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const gyp = [process.env.npm_config_node_gyp, path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find(
  (p) => p && existsSync(p),
);
if (gyp === undefined) {
  say('native kernels not built (node-gyp not found); using wasm');
  process.exit(0);
}
// Node's own headers when installed with it: no download, so the build works offline.
const nodedir = existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
const r = spawnSync(process.execPath, [gyp, 'rebuild', ...nodedir], { cwd: here, encoding: 'utf8' });
if (r.status === 0) {
  say('built native oneDNN kernels (native/build/Release/galmorph_dnnl.node)');
} else {
  const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  const reason = /dnnl\.hpp: No such file/.test(out)
    ? 'oneDNN headers not found; apt-get install libdnnl-dev'
    : (out.split('\n').find((l) => /error/i.test(l) && !/^gyp (ERR|info)/.test(l)) ?? r.error?.message ?? `node-gyp exited with ${r.status}`).trim();
  // A failed build must not leave a half-built addon for initEngine to trip over.
  rmSync(path.join(here, 'build'), { recursive: true, force: true });
  say(`native kernels not built (${reason}); using wasm`);
}

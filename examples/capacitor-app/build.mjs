// Builds the web bundle: www/index.html + the bundled src/main.js into an output directory.
//   node build.mjs                         www/ (the builtin bundle that ships in the app), version 1.0.0
//   OUT=dist-2 VERSION=2.0.0 node build.mjs  a bundle to publish with `airlock release dist-2 …`
//   BROKEN=1                               a bundle that never calls notifyAppReady() (to watch a rollback)
//   E2E=1                                  the page drives download → set → reload → rollback by itself and
//                                          logs `AIRLOCK-E2E …` lines (the emulator/simulator workflows read them)
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const out = process.env.OUT ?? 'www';
mkdirSync(out, { recursive: true });
if (out !== 'www') copyFileSync('www/index.html', `${out}/index.html`);
await build({
  entryPoints: ['src/main.js'],
  bundle: true,
  format: 'iife',
  target: ['chrome89', 'safari15'],
  outfile: `${out}/app.js`,
  define: {
    __BUNDLE_VERSION__: JSON.stringify(process.env.VERSION ?? '1.0.0'),
    __BROKEN__: JSON.stringify(process.env.BROKEN === '1'),
    __E2E__: JSON.stringify(process.env.E2E === '1'),
  },
});
console.log(`built ${out}/ (version ${process.env.VERSION ?? '1.0.0'})`);

// The example app's whole script (bundled into www/app.js by build.mjs). Same import as a Capgo app, with
// Airlock's package name: the API is @capgo/capacitor-updater's.
import { CapacitorUpdater } from '@airlock/capacitor-updater';

const VERSION = __BUNDLE_VERSION__; // set by build.mjs
const BROKEN = __BROKEN__; // a bundle that never reports ready, to watch Airlock roll it back
const E2E = __E2E__; // drive the update story by itself (the emulator/simulator workflows)

const $ = (id) => document.getElementById(id);

/** One line on screen and in the console (logcat / the simulator console), prefixed for the workflows. */
function log(message) {
  const line = `AIRLOCK-E2E ${message}`;
  console.log(line);
  $('log').textContent += `${line}\n`;
}

function status(text) {
  $('status').textContent = text;
}

for (const name of ['download', 'updateAvailable', 'set', 'appReady', 'updateFailed', 'downloadFailed']) {
  CapacitorUpdater.addListener(name, (event) => {
    const version = event.bundle?.version ?? event.version ?? '';
    if (name === 'download') status(`downloading ${version}: ${event.percent}%`);
    else log(`event ${name} ${version}`);
  });
}

/** Tell Airlock this bundle works: within appReadyTimeout of every load, or the bundle is rolled back. */
async function ready() {
  if (BROKEN) {
    log(`running ${VERSION} (broken: never calls notifyAppReady)`);
    status('this bundle never reports ready; Airlock will roll it back');
    return false;
  }
  const { bundle } = await CapacitorUpdater.notifyAppReady();
  log(`running ${VERSION} ready (${bundle.id}, agent says ${bundle.version})`);
  status(`ready: bundle ${bundle.id}`);
  return true;
}

/** Asks the channel what it offers; downloads, verifies and switches to it when it is new. */
async function checkForUpdate(skip = []) {
  const latest = await CapacitorUpdater.getLatest();
  if (!latest.url || latest.version === VERSION || skip.includes(latest.version)) {
    log(`up to date at ${VERSION} (channel offers ${latest.version})`);
    return;
  }
  status(`downloading ${latest.version}`);
  const bundle = await CapacitorUpdater.download({ url: latest.url, version: latest.version });
  log(`downloaded ${bundle.version} (${bundle.id})`);
  await CapacitorUpdater.set({ id: bundle.id }); // the WebView reloads into the new bundle
}

/**
 * The update story the workflows watch: download → set → reload → (the workflow relaunches the app) →
 * a broken release is rolled back and reported by getFailedUpdate().
 */
async function e2e() {
  const failed = await CapacitorUpdater.getFailedUpdate();
  const skip = JSON.parse(localStorage.getItem('airlock-failed') ?? '[]');
  if (failed) {
    log(`rolled back from ${failed.bundle.version}`);
    skip.push(failed.bundle.version);
    localStorage.setItem('airlock-failed', JSON.stringify(skip));
  }
  // Once per bundle and app session: exercise reload() (the same bundle comes back, with a new ready token).
  const key = `airlock-reloaded-${VERSION}`;
  if (!sessionStorage.getItem(key)) {
    sessionStorage.setItem(key, '1');
    log(`reload ${VERSION}`);
    await CapacitorUpdater.reload();
    return;
  }
  await checkForUpdate(skip);
}

async function main() {
  $('version').textContent = VERSION;
  $('check').onclick = () => checkForUpdate().catch((e) => log(`error ${e.code ?? ''} ${e.message}`));
  $('reload').onclick = () => CapacitorUpdater.reload();
  $('reset').onclick = () => CapacitorUpdater.reset();
  const { bundle, native } = await CapacitorUpdater.current();
  log(`current ${bundle.version} (${bundle.id}, native ${native})`);
  if ((await ready()) && E2E) await e2e();
}

main().catch((e) => {
  log(`error ${e.code ?? ''} ${e.message}`);
  status(`error: ${e.message}`);
});

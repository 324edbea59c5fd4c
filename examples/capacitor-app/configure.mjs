// Writes the publisher's public key (and optionally the repo URL) into capacitor.config.json:
//   node configure.mjs <keys dir> [catalogUrl]
// The key comes from `airlock keys new --out <keys dir>` (publisher.signing.pub). 10.0.2.2 is the host as the
// Android emulator sees it; the iOS simulator shares the host's network, so it uses 127.0.0.1.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [keys, catalogUrl] = process.argv.slice(2);
if (!keys) {
  console.error('usage: node configure.mjs <keys dir> [catalogUrl]');
  process.exit(2);
}
const config = JSON.parse(readFileSync('capacitor.config.json', 'utf8'));
const updater = config.plugins.CapacitorUpdater;
updater.trustedKeys = [readFileSync(join(keys, 'publisher.signing.pub'), 'utf8').trim()];
if (catalogUrl) updater.catalogUrl = catalogUrl;
writeFileSync('capacitor.config.json', JSON.stringify(config, null, 2) + '\n');
console.log(`capacitor.config.json: trustedKeys from ${keys}, catalogUrl ${updater.catalogUrl}`);

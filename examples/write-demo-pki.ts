// `tsx examples/write-demo-pki.ts DIR [--per-service]`: writes the demo PKI
// (certificates, identities, participant registry); the compose stacks'
// init step. With --per-service, DIR gets one directory per service holding
// the CA certificate and that service's own certificate and key only (and,
// for the coordinator, its identities and participant registry), so that
// each container mounts nothing but its own key.
import { chownSync, chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDemoPki } from './dev-pki.ts';

/** What each service of the compose stacks gets (ca.pem besides). */
const SHARES: Record<string, string[]> = {
  coordinator: ['coordinator.pem', 'coordinator.key', 'identities.json', 'participants.json'],
  accounts: ['accounts.pem', 'accounts.key'],
  inventory: ['inventory.pem', 'inventory.key'],
  demo: ['shop.pem', 'shop.key'],
  operator: ['operator.pem', 'operator.key'],
};
/** The images' `node` user, who runs every service. */
const NODE_UID = 1000;

const [dir, mode] = process.argv.slice(2);
if (dir === undefined || (mode !== undefined && mode !== '--per-service')) {
  console.error('usage: tsx examples/write-demo-pki.ts DIR [--per-service]');
  process.exit(2);
}
if (mode === undefined) {
  await writeDemoPki(dir);
  console.log(`demo PKI written to ${dir}`);
} else {
  const all = mkdtempSync(join(tmpdir(), 'twopc-pki-'));
  try {
    await writeDemoPki(all);
    for (const [service, files] of Object.entries(SHARES)) {
      const own = join(dir, service);
      mkdirSync(own, { recursive: true });
      for (const file of ['ca.pem', ...files]) {
        copyFileSync(join(all, file), join(own, file));
        chmodSync(join(own, file), file.endsWith('.key') ? 0o600 : 0o644);
        if (process.getuid?.() === 0) {
          chownSync(join(own, file), NODE_UID, NODE_UID);
        }
      }
    }
    console.log(`demo PKI written to ${dir}/<service>/, each service's own key only`);
  } finally {
    rmSync(all, { recursive: true, force: true });
  }
}

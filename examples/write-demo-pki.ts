// `tsx examples/write-demo-pki.ts DIR`: writes the demo PKI (certificates,
// identities, participant registry); the compose stack's init step.
import { writeDemoPki } from './dev-pki.ts';

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: tsx examples/write-demo-pki.ts DIR');
  process.exit(2);
}
await writeDemoPki(dir);
console.log(`demo PKI written to ${dir}`);
